//! [`Presence`]: who is online in the lobby, announced once per change.
//!
//! The store decides every transition atomically and returns it with a
//! version, so exactly one instance announces each change; this service keeps
//! the store's record of this instance's sockets in step with the registry
//! and turns transitions into `presence` events for the lobby. Its keeper
//! task announces users offline once they have had no socket for the grace,
//! with Redis keeps this instance's liveness key fresh so the others can drop
//! its users if it dies, and periodically reconciles every user, which heals
//! whatever went wrong meanwhile (a call that timed out after being applied,
//! a Redis restart, a lost leave).
//!
//! # Reconciling one user
//!
//! The store holds, per user and instance, the *ids* of the open sockets, and
//! only this instance changes its own. Joining, leaving and the periodic
//! heal are one operation, [`Presence::reconcile`]:
//!
//! 1. read `held`, the ids the store holds for the user here;
//! 2. then take `local`, the registry's ids for the user (the truth);
//! 3. in one atomic store step, remove `held - local` and add `local - held`;
//! 4. then take the registry again, and remove whatever step 3 added that
//!    has closed since.
//!
//! Why this is right whatever runs concurrently (other reconciles of the same
//! user, in any order, and calls that were applied late): socket ids are
//! never reused, a socket enters the registry before anything adds it to the
//! store, and only a reconcile whose `local` contains it adds it.
//!
//! - Removing is only ever right: an id in `held` was added by a reconcile
//!   that saw it open, before step 1; if it is missing from `local` (step 2,
//!   later), it has closed, for good. So an open socket is never removed, and
//!   a user with an open socket is never dropped.
//! - Adding may be late: a socket in `local` may close, and its own
//!   reconcile finish, before step 3 adds it back. Step 4 sees it closed
//!   and removes it; should step 4 fail, the next periodic reconcile does.
//! - Adds and removes are idempotent set operations, so a repeated or late
//!   call changes nothing it should not, and the transition comes from the
//!   resulting state, not from counting.
//!
//! # Reading the roster once for many sockets
//!
//! Sockets that open together all read who is online; [`Presence::online`]
//! reads it once for all who asked while no read had started yet (a single
//! flight with a queue of one): at most one read is out at a time, and the
//! callers arriving meanwhile share the next one, which starts when it ends.
//! So every caller gets a roster read that *started after its call*, as if
//! it had read on its own: every transition committed before the call is in
//! it (the socket's own user's join included), and every later one is
//! announced after it was committed, to a socket already in the registry (a
//! socket joins the registry before it reads). That is what a socket's view
//! relies on when it takes the roster's version as its floor: transitions
//! at or below it are in the roster, those above it reach the socket as
//! pushes. A flight that any caller joined after its read started would
//! break this (a change committed and delivered between the read and the
//! join would be in neither), which is why a flight is sealed before it reads.
//! A read that finds the same roster as the last one (same names, same
//! version) hands out the last one's [`Online`] again: the same content, so
//! the same guarantee, and one copy for sockets that read one after another.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex, OnceLock, Weak},
    time::{Duration, Instant},
};

use bytestring::ByteString;

use crate::{
    events::{Audience, Event, Events, InstanceId, Order},
    protocol::ServerEvent,
    session::SocketId,
    store::{Roster, SocketChange, Store, StoreError, Transition},
    sync::lock,
};

/// Who is online as one store read saw it (or several that found the same),
/// shared by every socket that greets (or resyncs) with it; its `presence
/// state` frame is serialised once, by the first socket that sends it.
#[derive(Debug)]
pub struct Online {
    roster: Roster,
    frame: OnceLock<ByteString>,
    /// Where the instance keeps its newest read (none for a roster of a
    /// socket's own).
    newest: Weak<Latest>,
}

/// The newest roster read of an instance.
type Latest = Mutex<Option<Arc<Online>>>;

impl Online {
    /// Shares `roster` (its names sorted by code point, each once).
    pub fn new(roster: Roster) -> Arc<Self> {
        Arc::new(Self {
            roster,
            frame: OnceLock::new(),
            newest: Weak::new(),
        })
    }

    /// The newest roster read on this instance, if it is known.
    pub fn newest(&self) -> Option<Arc<Online>> {
        lock(&*self.newest.upgrade()?).clone()
    }

    /// The names online, sorted.
    pub fn names(&self) -> &[String] {
        &self.roster.online
    }

    /// The last transition the read includes.
    pub fn version(&self) -> u64 {
        self.roster.version
    }

    /// Whether `user` is online in it.
    pub fn contains(&self, user: &str) -> bool {
        // Sorted by code point, as `str`'s order is.
        self.roster
            .online
            .binary_search_by(|name| name.as_str().cmp(user))
            .is_ok()
    }

    /// The `presence state` frame of these names.
    pub fn frame(&self) -> ByteString {
        self.frame
            .get_or_init(|| ServerEvent::PresenceState(&self.roster.online).to_text())
            .clone()
    }
}

/// One shared roster read: its result once done, for every caller of it.
type Flight = tokio::sync::OnceCell<Result<Arc<Online>, Arc<StoreError>>>;

/// The single flight of roster reads (see the module docs).
#[derive(Default)]
struct Flights {
    /// The read that callers join until it starts (sealed: taken out).
    next: Mutex<Option<Arc<Flight>>>,
    /// Held while a read is out: one at a time, so that the callers who
    /// arrive meanwhile share the next.
    reading: tokio::sync::Mutex<()>,
    /// The last read: a read that finds the same roster hands it out again,
    /// so that sockets reading one after the other (the embedded store
    /// answers at once: its flights rarely overlap) share it too.
    latest: Arc<Latest>,
}

/// Counts the lobby's logged-in sockets by user and announces who comes and goes.
#[derive(Clone)]
pub struct Presence {
    store: Store,
    events: Events,
    instance: InstanceId,
    grace: Duration,
    instance_ttl: Duration,
    flights: Arc<Flights>,
}

impl Presence {
    /// Presence in `store`, announced through `events`; `grace` before a user
    /// without sockets is announced offline; with Redis, this `instance`
    /// counts as dead after `instance_ttl` of silence.
    pub fn new(
        store: Store,
        events: Events,
        instance: InstanceId,
        grace: Duration,
        instance_ttl: Duration,
    ) -> Self {
        Self {
            store,
            events,
            instance,
            grace,
            instance_ttl,
            flights: Arc::default(),
        }
    }

    /// A socket of `user` opened on this instance (call it once the socket
    /// is in the registry).
    pub async fn join(&self, user: &str) -> Result<(), StoreError> {
        self.reconcile(user).await
    }

    /// A socket of `user` closed on this instance (call it once the socket
    /// left the registry).
    pub async fn leave(&self, user: &str) -> Result<(), StoreError> {
        self.reconcile(user).await
    }

    /// Brings the store's record of `user`'s sockets on this instance in
    /// step with the registry, and announces the transition (see the module
    /// docs for why this is safe against everything running concurrently).
    pub async fn reconcile(&self, user: &str) -> Result<(), StoreError> {
        let instance = self.instance.as_str();
        let held: HashSet<SocketId> = self
            .store
            .presence_sockets(user, instance)
            .await?
            .into_iter()
            .collect();
        // Read after `held`, never before: see the module docs.
        let local: HashSet<SocketId> = self.local_sockets(user);
        let remove: Vec<SocketId> = held.difference(&local).copied().collect();
        let add: Vec<SocketId> = local.difference(&held).copied().collect();
        let change = SocketChange {
            remove: &remove,
            add: &add,
        };
        let changed = self
            .store
            .presence_sync(user, instance, change, self.grace, self.keys_live_for())
            .await?;
        self.announce(changed).await;
        if add.is_empty() {
            return Ok(());
        }
        let now: HashSet<SocketId> = self.local_sockets(user);
        let closed: Vec<SocketId> = add.into_iter().filter(|id| !now.contains(id)).collect();
        if !closed.is_empty() {
            let change = SocketChange {
                remove: &closed,
                add: &[],
            };
            let went = self
                .store
                .presence_sync(user, instance, change, self.grace, self.keys_live_for())
                .await?;
            self.announce(went).await;
        }
        Ok(())
    }

    /// How long this instance's presence keys outlive its last reconcile:
    /// three instance TTLs, while it reconciles every third of one.
    fn keys_live_for(&self) -> Duration {
        self.instance_ttl.saturating_mul(3)
    }

    fn local_sockets(&self, user: &str) -> HashSet<SocketId> {
        self.events
            .registry()
            .user_sockets(user)
            .into_iter()
            .collect()
    }

    /// Reconciles every user this instance has sockets of, in the registry
    /// or in the store.
    async fn reconcile_all(&self) -> Result<(), StoreError> {
        let mut users: HashSet<String> = self
            .store
            .presence_users(self.instance.as_str())
            .await?
            .into_iter()
            .collect();
        users.extend(
            self.events
                .registry()
                .user_counts()
                .into_iter()
                .map(|(user, _)| user),
        );
        for user in users {
            self.reconcile(&user).await?;
        }
        Ok(())
    }

    /// Who is online now.
    pub async fn roster(&self) -> Result<Roster, StoreError> {
        Ok(self.online().await?.roster.clone())
    }

    /// Who is online now, from a read that started after this call, shared
    /// with every caller that asked before it started (see the module docs).
    pub async fn online(&self) -> Result<Arc<Online>, StoreError> {
        let flight = lock(&self.flights.next)
            .get_or_insert_with(Arc::default)
            .clone();
        // Whoever of its callers is polled first reads; should it be dropped
        // (its caller timed out), another caller reads instead.
        let read = flight.get_or_init(|| self.read_for(&flight)).await;
        read.clone().map_err(|err| copy(&err))
    }

    /// Reads the roster for `flight`, once no other read is out, sealing it
    /// first so that no one joins it after its read started.
    async fn read_for(&self, flight: &Arc<Flight>) -> Result<Arc<Online>, Arc<StoreError>> {
        let _turn = self.flights.reading.lock().await;
        {
            let mut next = lock(&self.flights.next);
            if next.as_ref().is_some_and(|open| Arc::ptr_eq(open, flight)) {
                *next = None;
            }
        }
        let roster = self.store.presence_roster().await.map_err(Arc::new)?;
        let mut latest = lock(&self.flights.latest);
        // The same names at the same version: the same roster (comparing
        // the names too keeps this true should the store's count restart).
        if let Some(same) = latest.as_ref().filter(|last| last.roster == roster) {
            return Ok(same.clone());
        }
        let online = Arc::new(Online {
            roster,
            frame: OnceLock::new(),
            newest: Arc::downgrade(&self.flights.latest),
        });
        *latest = Some(online.clone());
        Ok(online)
    }

    /// Starts the keeper on the current runtime: the grace sweep, the
    /// periodic reconcile of every local user and, with Redis, the liveness
    /// key.
    pub fn spawn_keeper(&self) {
        let presence = self.clone();
        // Often enough that offline comes soon after the grace, and that the
        // liveness key is refreshed three times per TTL.
        let tick = (self.grace / 4)
            .clamp(Duration::from_millis(100), Duration::from_secs(1))
            .min(self.instance_ttl / 3);
        // A full reconcile at least three times per instance TTL: a user
        // whose leave was lost goes pending within a third of the TTL of
        // Redis answering again, and offline a grace later.
        let heal_every = self.instance_ttl / 3;
        actix_web::rt::spawn(async move {
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut healed: Option<Instant> = None;
            loop {
                ticks.tick().await;
                let due = healed.is_none_or(|at| at.elapsed() >= heal_every);
                match presence.keep(due).await {
                    Ok(true) => healed = Some(Instant::now()),
                    Ok(false) => {}
                    Err(err) => log::warn!("presence upkeep failed (retrying): {err}"),
                }
            }
        });
    }

    /// One round of upkeep; whether it reconciled every user.
    async fn keep(&self, heal_due: bool) -> Result<bool, StoreError> {
        let lapsed = self
            .store
            .instance_alive(self.instance.as_str(), self.instance_ttl)
            .await?;
        // Silent for longer than the TTL, the others may have dropped our
        // sockets: reconcile at once rather than at the next heal.
        let heal = heal_due || lapsed;
        if heal {
            self.reconcile_all().await?;
        }
        for went in self.store.presence_sweep(self.grace).await? {
            self.announce(Some(went)).await;
        }
        Ok(heal)
    }

    async fn announce(&self, transition: Option<Transition>) {
        let Some(Transition {
            user,
            online,
            version,
        }) = transition
        else {
            return;
        };
        // No frame: each socket builds its own from the batch this change
        // joins (see `events::Order::Presence`).
        let event = Event {
            to: Audience::Lobby,
            order: Order::Presence {
                user: user.as_str().into(),
                online,
                version,
            },
            frame: ByteString::new(),
        };
        self.events.emit(event).await;
    }
}

/// A shared read's error, for one of its callers (the same text).
fn copy(err: &StoreError) -> StoreError {
    match err {
        StoreError::Unavailable(source) => StoreError::Unavailable(anyhow::anyhow!("{source:#}")),
        StoreError::Corrupt(what) => StoreError::Corrupt(what.clone()),
    }
}
