//! [`Presence`]: who is online in the lobby, announced once per change.
//!
//! The store decides every transition atomically and returns it with a
//! version, so exactly one instance announces each change; this service only
//! counts sockets in and out and turns transitions into `presence` events for
//! the lobby. Its keeper task announces users offline once they have had no
//! socket for the grace and, with Redis, keeps this instance's liveness key
//! fresh so the others can drop its users if it dies.

use std::time::Duration;

use crate::{
    events::{Audience, Event, Events, InstanceId, Order},
    protocol::ServerEvent,
    store::{Roster, Store, StoreError, Transition},
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

    /// A socket of `user` opened on this instance.
    pub async fn join(&self, user: &str) -> Result<(), StoreError> {
        let came = self
            .store
            .presence_join(user, self.instance.as_str(), 1, false)
            .await?;
        self.announce(came).await;
        Ok(())
    }

    /// A socket of `user` closed on this instance.
    pub async fn leave(&self, user: &str) -> Result<(), StoreError> {
        let went = self
            .store
            .presence_leave(user, self.instance.as_str(), self.grace)
            .await?;
        self.announce(went).await;
        Ok(())
    }

    /// Who is online now.
    pub async fn roster(&self) -> Result<Roster, StoreError> {
        self.store.presence_roster().await
    }

    /// Starts the keeper on the current runtime: the grace sweep and, with
    /// Redis, the liveness key. `local_users` lists this instance's users with
    /// their socket counts, to count them again if the others dropped them.
    pub fn spawn_keeper<F>(&self, local_users: F)
    where
        F: Fn() -> Vec<(String, usize)> + 'static,
    {
        let presence = self.clone();
        // Often enough that offline comes soon after the grace, and that the
        // liveness key is refreshed three times per TTL.
        let tick = (self.grace / 4)
            .clamp(Duration::from_millis(100), Duration::from_secs(1))
            .min(self.instance_ttl / 3);
        actix_web::rt::spawn(async move {
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(err) = presence.keep(&local_users).await {
                    log::warn!("presence upkeep failed (retrying): {err}");
                }
            }
        });
    }

    async fn keep(
        &self,
        local_users: &impl Fn() -> Vec<(String, usize)>,
    ) -> Result<(), StoreError> {
        let instance = self.instance.as_str();
        if self
            .store
            .instance_alive(instance, self.instance_ttl)
            .await?
        {
            // Silent for longer than the TTL: the others may have dropped our
            // counts. Set them again (a no-op change if they did not).
            for (user, sockets) in local_users() {
                let came = self
                    .store
                    .presence_join(&user, instance, sockets, true)
                    .await?;
                self.announce(came).await;
            }
        }
        for went in self.store.presence_sweep(self.grace).await? {
            self.announce(Some(went)).await;
        }
        Ok(())
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
        let frame = ServerEvent::Presence {
            name: &user,
            online,
        };
        let event = Event::new(
            Audience::Lobby,
            Order::Presence {
                user: user.as_str().into(),
                online,
                version,
            },
            &frame,
        );
        self.events.emit(event).await;
    }
}
