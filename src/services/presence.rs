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

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use bytestring::ByteString;

use crate::{
    events::{Audience, Event, Events, InstanceId, Order},
    session::SocketId,
    store::{Roster, SocketChange, Store, StoreError, Transition},
};

/// Counts the lobby's logged-in sockets by user and announces who comes and goes.
#[derive(Clone)]
pub struct Presence {
    store: Store,
    events: Events,
    instance: InstanceId,
    grace: Duration,
    instance_ttl: Duration,
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
        self.store.presence_roster().await
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
