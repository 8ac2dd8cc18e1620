//! The registry: this process's sockets, indexed by session room and by user,
//! so an event reaches exactly its audience.
//!
//! It is a shared index behind a read-write lock rather than an actor: an
//! event whose audience has no socket here costs one read-locked lookup and
//! wakes no thread, and `/healthz` and the socket limit read it without a
//! message round trip. Delivery only enqueues into each socket's mailbox
//! (`do_send`), so the lock is held for microseconds. It never touches the
//! store: it only routes.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard},
};

use actix::{Message, Recipient};
use bytestring::ByteString;

use super::{Audience, Event, Order};
use crate::{protocol::Close, session::RoomId};

/// Identifies one socket within this process.
pub type SocketId = u64;

/// What the registry asks of a socket.
#[derive(Message, Clone, Debug)]
#[rtype(result = "()")]
pub enum Push {
    /// Show `frame` if `order` allows it.
    Frame {
        /// What the socket checks first.
        order: Order,
        /// The serialised frame.
        frame: ByteString,
    },
    /// Close with this code.
    Close(Close),
    /// Events may have been missed (the Redis subscription was lost): reload
    /// the session and catch up with the lobby.
    Resync,
}

/// One socket, as the registry knows it.
pub struct SocketEntry {
    /// Its session's room.
    pub room: RoomId,
    /// Its user, when its session is logged in.
    pub user: Option<String>,
    /// Where to push to it.
    pub recipient: Recipient<Push>,
}

/// How many sockets and distinct sessions this process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Open sockets.
    pub sockets: usize,
    /// Distinct sessions with at least one open socket.
    pub sessions: usize,
}

#[derive(Default)]
struct Index {
    sockets: HashMap<SocketId, SocketEntry>,
    rooms: HashMap<RoomId, HashSet<SocketId>>,
    users: HashMap<String, HashSet<SocketId>>,
}

impl Index {
    fn audience(&self, to: &Audience) -> impl Iterator<Item = &SocketEntry> {
        let ids: Box<dyn Iterator<Item = &SocketId>> = match to {
            Audience::Session(room) => Box::new(self.rooms.get(room).into_iter().flatten()),
            Audience::User(user) => Box::new(self.users.get(user).into_iter().flatten()),
            Audience::Lobby => Box::new(self.sockets.keys()),
        };
        ids.filter_map(|id| self.sockets.get(id))
    }
}

/// This process's sockets; a cheap `Clone` over one shared index.
#[derive(Clone, Default)]
pub struct Registry {
    index: Arc<RwLock<Index>>,
}

impl Registry {
    // A panic while holding the lock cannot leave the maps half-changed in a
    // way that matters more than losing every socket would, so a poisoned
    // lock is used as it is.
    fn read(&self) -> RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A socket opened: index it by room and user.
    pub fn join(&self, id: SocketId, entry: SocketEntry) {
        let mut index = self.write();
        index.rooms.entry(entry.room).or_default().insert(id);
        if let Some(user) = &entry.user {
            index.users.entry(user.clone()).or_default().insert(id);
        }
        index.sockets.insert(id, entry);
    }

    /// A socket ended (in any way): forget it.
    pub fn leave(&self, id: SocketId) {
        let mut index = self.write();
        let Some(entry) = index.sockets.remove(&id) else {
            return;
        };
        if let Some(sockets) = index.rooms.get_mut(&entry.room) {
            sockets.remove(&id);
            if sockets.is_empty() {
                index.rooms.remove(&entry.room);
            }
        }
        if let Some(user) = &entry.user {
            if let Some(sockets) = index.users.get_mut(user) {
                sockets.remove(&id);
                if sockets.is_empty() {
                    index.users.remove(user);
                }
            }
        }
    }

    /// Pushes `event` to each of its audience's sockets here.
    pub fn deliver(&self, event: &Event) {
        self.push(
            &event.to,
            &Push::Frame {
                order: event.order.clone(),
                frame: event.frame.clone(),
            },
        );
    }

    /// Closes each socket of `to` here.
    pub fn close(&self, to: &Audience, close: Close) {
        self.push(to, &Push::Close(close));
    }

    /// Pushes `push` to each socket of `to` here.
    pub fn push(&self, to: &Audience, push: &Push) {
        for socket in self.read().audience(to) {
            socket.recipient.do_send(push.clone());
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
    use crate::session::{RoomKey, SessionId};
    use actix::{Actor, Addr, Context, Handler};
    use actix_web::cookie::Key;

    /// A socket stand-in that counts what it was pushed.
    #[derive(Default)]
    struct Recorder(usize);

    impl Actor for Recorder {
        type Context = Context<Self>;
    }

    impl Handler<Push> for Recorder {
        type Result = ();
        fn handle(&mut self, _: Push, _: &mut Context<Self>) {
            self.0 += 1;
        }
    }

    /// Asks how many pushes arrived; the mailbox is in order, so the answer
    /// counts every push sent before it.
    #[derive(Message)]
    #[rtype(result = "usize")]
    struct Seen;

    impl Handler<Seen> for Recorder {
        type Result = usize;
        fn handle(&mut self, _: Seen, _: &mut Context<Self>) -> usize {
            self.0
        }
    }

    fn entry(room: RoomId, user: Option<&str>, socket: &Addr<Recorder>) -> SocketEntry {
        SocketEntry {
            room,
            user: user.map(str::to_owned),
            recipient: socket.clone().recipient(),
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
        let (alice, anon) = (Recorder::default().start(), Recorder::default().start());
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
            registry.close(&to, Close::Logout);
        }
        assert_eq!(alice.send(Seen).await.ok(), Some(3));
        assert_eq!(anon.send(Seen).await.ok(), Some(1));

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
}
