//! The registry: this process's sockets, indexed by session room and by user,
//! so an event reaches exactly its audience.
//!
//! It is a shared index behind a read-write lock rather than an actor: an
//! event whose audience has no socket here costs one read-locked lookup and
//! wakes no thread, and `/healthz` and the socket limit read it without a
//! message round trip. Delivery only enqueues into each socket's
//! [`Mailbox`], so the lock is held for microseconds. It never touches the
//! store: it only routes.
//!
//! Delivery never blocks or grows on one socket's behalf: each socket's
//! [`Outbox`] bounds the bytes waiting for it, and a socket that would pass
//! the bound leaves the registry at once and is ended as too slow. A socket
//! told to close that has not stopped within `CLOSE_GRACE`, and one whose
//! peer stopped answering pings, is ended from outside its stream by the
//! watchdog ([`Registry::spawn_watchdog`]): its actor may be frozen behind a
//! full write buffer, where no message reaches it.

use std::{
    collections::HashSet,
    sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard},
    time::{Duration, Instant},
};

use super::{
    batch::{Batch, Batcher, Gathered},
    index::{Index, Push, SocketEntry},
    outbox::{Ending, Offer, Outbox},
    watchdog::Watchdog,
    Audience, Event,
};
use crate::{protocol::Close, session::RoomId, session::SocketId, sync, telemetry};

/// How often the watchdog looks for sockets to end.
const WATCHDOG_TICK: Duration = Duration::from_millis(250);

/// How many sockets and distinct sessions this process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Open sockets.
    pub sockets: usize,
    /// Distinct sessions with at least one open socket.
    pub sessions: usize,
}

/// This process's sockets; a cheap `Clone` over one shared index.
#[derive(Clone, Default)]
pub struct Registry {
    index: Arc<RwLock<Index>>,
    watchdog: Arc<Watchdog>,
    batcher: Arc<Batcher>,
}

impl Registry {
    /// A registry that hands out the events whose order batches in batches
    /// gathered for `every` (zero, as `Registry::default()`: each alone, at
    /// once).
    pub fn with_batches_of(every: Duration) -> Self {
        Self {
            batcher: Arc::new(Batcher::new(every)),
            ..Self::default()
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Index> {
        sync::read(&self.index)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        sync::write(&self.index)
    }

    /// A socket opened: index it by room and user.
    pub fn join(&self, id: SocketId, entry: SocketEntry) {
        self.write().insert(id, entry);
    }

    /// A socket ended (in any way): forget it (returns what was known of it).
    pub fn leave(&self, id: SocketId) -> Option<SocketEntry> {
        self.write().remove(id)
    }

    /// Hands `event` to each of its audience's sockets here, except those
    /// whose queue it would overflow: they leave at once, ending as too slow.
    /// An event whose order batches joins the batch being gathered instead
    /// (see `batch`); the socket builds its frame from the batch.
    pub fn deliver(&self, event: &Event) {
        if event.order.batches() {
            return match self.batcher.add(event.order.clone()) {
                Gathered::Now(batch, since) => self.hand_out_batch(batch, since),
                Gathered::Later(after) => {
                    let registry = self.clone();
                    actix_web::rt::spawn(async move {
                        tokio::time::sleep(after).await;
                        if let Some((batch, since)) = registry.batcher.take() {
                            registry.hand_out_batch(batch, since);
                        }
                    });
                }
                Gathered::Waiting => {}
            };
        }
        self.hand_out(&event.to, event.frame.len(), Instant::now(), || {
            Push::Frame {
                order: event.order.clone(),
                frame: event.frame.clone(),
            }
        });
    }

    fn hand_out_batch(&self, batch: Batch, since: Instant) {
        self.hand_out(&Audience::Lobby, batch.weight(), since, || {
            Push::Batch(batch.clone())
        });
    }

    /// Pushes what `push` makes to each socket of `to` whose queue takes
    /// `bytes` more; the others leave at once, ending as too slow.
    fn hand_out(&self, to: &Audience, bytes: usize, since: Instant, push: impl Fn() -> Push) {
        let (mut delivered, mut overflowed) = (0_u64, Vec::new());
        for (id, socket) in self.read().audience(to) {
            match socket.outbox.offer(bytes) {
                Offer::Taken => {
                    socket.mailbox.push(push());
                    delivered += 1;
                }
                Offer::Overflowed => overflowed.push(id),
                Offer::Refused => {}
            }
        }
        for id in overflowed {
            if let Some(socket) = self.leave(id) {
                log::info!("socket {id} did not read its frames: dropping it as too slow");
                self.tell_to_close(&socket, Close::TooSlow);
            }
        }
        if delivered > 0 {
            metrics::counter!(telemetry::EVENTS_DELIVERED).increment(delivered);
            metrics::histogram!(telemetry::EVENT_DELIVERY_SECONDS).record(since.elapsed());
        }
    }

    /// Closes each socket of `to` here: it is told to, and aborted if it has
    /// not stopped within `CLOSE_GRACE`.
    pub fn close(&self, to: &Audience, close: Close) {
        for (_, socket) in self.read().audience(to) {
            if socket.outbox.end(Ending::Closed(close)) {
                self.tell_to_close(socket, close);
            }
        }
    }

    /// Pushes `push` to each socket of `to` here.
    pub fn push(&self, to: &Audience, push: &Push) {
        for (_, socket) in self.read().audience(to) {
            socket.mailbox.push(push.clone());
        }
    }

    fn tell_to_close(&self, socket: &SocketEntry, close: Close) {
        socket.mailbox.push(Push::Close(close));
        self.watch(&socket.outbox);
    }

    /// Starts the watchdog on the current runtime: it drops as dead every
    /// socket whose peer has not answered a ping for `timeout`, and aborts
    /// every socket told to close that has not stopped in time.
    pub fn spawn_watchdog(&self, timeout: Duration) {
        let registry = self.clone();
        actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(WATCHDOG_TICK);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                registry.drop_dead(timeout);
                registry.watchdog.abort_overdue(Instant::now());
            }
        });
    }

    /// Has the watchdog abort `outbox`'s connection `CLOSE_GRACE` from now
    /// if anything of it is left: for a socket told to close (its actor may
    /// be frozen) and for one that stopped (its last frames may be stuck
    /// behind a peer that does not read).
    pub fn watch(&self, outbox: &Arc<Outbox>) {
        self.watchdog.watch(outbox);
    }

    /// How many watched connections are still held open.
    pub fn watched_open(&self) -> usize {
        self.watchdog.open()
    }

    /// Aborts every connection still watched, at once: at shutdown, after
    /// the sockets were told to close and had their chance, so the process
    /// does not exit leaving the kernel to deliver frames nobody reads.
    pub fn abort_watched(&self) {
        self.watchdog.abort_all();
    }

    fn drop_dead(&self, timeout: Duration) {
        let dead: Vec<SocketId> = self
            .read()
            .sockets
            .iter()
            .filter(|(_, socket)| socket.outbox.silent_for() > timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in dead {
            let Some(socket) = self.leave(id) else {
                continue;
            };
            log::info!("socket {id} did not answer pings for {timeout:?}: dropping it");
            socket.outbox.end(Ending::Dead);
            socket.outbox.abort();
        }
    }

    /// How many sockets of `room` are open here.
    pub fn room_size(&self, room: &RoomId) -> usize {
        self.read().rooms.get(room).map_or(0, HashSet::len)
    }

    /// How many sockets and distinct sessions are open here.
    pub fn stats(&self) -> Stats {
        let index = self.read();
        Stats {
            sockets: index.sockets.len(),
            sessions: index.rooms.len(),
        }
    }

    /// The users with a socket here, each with how many (to re-register
    /// presence after the store lost it).
    pub fn user_counts(&self) -> Vec<(String, usize)> {
        self.read()
            .users
            .iter()
            .map(|(user, sockets)| (user.clone(), sockets.len()))
            .collect()
    }

    /// The ids of `user`'s sockets here (presence reconciles the store with
    /// them).
    pub fn user_sockets(&self, user: &str) -> Vec<SocketId> {
        self.read()
            .users
            .get(user)
            .map(|sockets| sockets.iter().copied().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{Mailbox, Order};
    use crate::session::{RoomKey, SessionId};
    use actix_web::cookie::Key;
    use bytestring::ByteString;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A socket stand-in that counts what it was pushed (delivery is
    /// synchronous, so the count is exact right after each call).
    #[derive(Clone, Default)]
    struct Recorder(Arc<AtomicUsize>);

    impl Recorder {
        fn seen(&self) -> usize {
            self.0.load(Ordering::SeqCst)
        }
    }

    impl Mailbox for Recorder {
        fn push(&self, _: Push) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn entry(room: RoomId, user: Option<&str>, socket: &Recorder) -> SocketEntry {
        SocketEntry {
            room,
            user: user.map(str::to_owned),
            mailbox: Box::new(socket.clone()),
            outbox: Arc::new(Outbox::new(1_000, None)),
        }
    }

    #[actix_web::test]
    async fn events_reach_exactly_their_audience_and_leaving_cleans_up() {
        let rooms = RoomKey::new(&Key::generate());
        let (a, b) = (
            rooms.room(&SessionId::generate()),
            rooms.room(&SessionId::generate()),
        );
        let registry = Registry::default();
        let (alice, anon) = (Recorder::default(), Recorder::default());
        registry.join(1, entry(a, Some("alice"), &alice));
        registry.join(2, entry(b, None, &anon));
        assert_eq!(
            registry.stats(),
            Stats {
                sockets: 2,
                sessions: 2
            }
        );
        assert_eq!(registry.user_counts(), vec![("alice".to_owned(), 1)]);

        for to in [
            Audience::Session(a),
            Audience::User("alice".into()),
            Audience::User("bob".into()),
            Audience::Lobby,
        ] {
            registry.push(&to, &Push::Resync);
        }
        assert_eq!(alice.seen(), 3);
        assert_eq!(anon.seen(), 1);

        // A socket is told to close once, whoever else asks later.
        registry.close(&Audience::Session(a), Close::Logout);
        registry.close(&Audience::Lobby, Close::ShuttingDown);
        assert_eq!(alice.seen(), 4);
        assert_eq!(anon.seen(), 2);

        registry.leave(1);
        registry.leave(2);
        registry.leave(2);
        assert_eq!(
            registry.stats(),
            Stats {
                sockets: 0,
                sessions: 0
            }
        );
        assert!(registry.user_counts().is_empty());
        assert_eq!(registry.room_size(&a), 0);
    }

    fn presence(user: &str, online: bool, version: u64) -> Event {
        Event {
            to: Audience::Lobby,
            order: Order::Presence {
                user: user.into(),
                online,
                version,
            },
            frame: ByteString::new(),
        }
    }

    #[actix_web::test]
    async fn presence_changes_within_a_batch_reach_each_socket_as_one_push() {
        let room = RoomKey::new(&Key::generate()).room(&SessionId::generate());
        let registry = Registry::with_batches_of(Duration::from_millis(50));
        let socket = Recorder::default();
        registry.join(1, entry(room, None, &socket));
        for (i, user) in ["a", "b", "c"].into_iter().enumerate() {
            registry.deliver(&presence(user, true, i as u64 + 1));
        }
        assert_eq!(socket.seen(), 0, "nothing before the batch ends");
        let deadline = Instant::now() + Duration::from_secs(5);
        while socket.seen() == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(socket.seen(), 1, "one push for the batch");

        // Without batching, each change goes at once, alone.
        let unbatched = Registry::default();
        let other = Recorder::default();
        unbatched.join(2, entry(room, None, &other));
        unbatched.deliver(&presence("a", false, 4));
        unbatched.deliver(&presence("b", false, 5));
        assert_eq!(other.seen(), 2);
    }

    #[actix_web::test]
    async fn a_socket_whose_queue_overflows_leaves_at_once_and_gets_nothing_more() {
        let room = RoomKey::new(&Key::generate()).room(&SessionId::generate());
        let registry = Registry::default();
        let socket = Recorder::default();
        registry.join(1, entry(room, None, &socket));
        let event = |text: &str| Event {
            to: Audience::Lobby,
            order: Order::Always,
            frame: ByteString::from(text.to_owned()),
        };
        // 1,000 bytes fit; the frame after them does not.
        for _ in 0..10 {
            registry.deliver(&event(&"x".repeat(100)));
        }
        assert_eq!(registry.stats().sockets, 1);
        registry.deliver(&event("one too many"));
        assert_eq!(registry.stats().sockets, 0);
        registry.deliver(&event("after"));
        // Ten frames, then the close.
        assert_eq!(socket.seen(), 11);
    }
}
