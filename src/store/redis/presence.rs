//! Presence in Redis: sets per user, per instance and overall (see `keys`),
//! changed only by scripts that decide each transition once. Each instance
//! also refreshes a liveness key; the sweep treats an instance whose key
//! has expired (crashed, cut off) as having no sockets.

use std::time::Duration;

use redis::AsyncCommands;

use super::{bounded, px, scripts, RedisStore};
use crate::{
    clock::millis,
    session::SocketId,
    store::{Roster, SocketChange, StoreError, Transition},
};

/// How many users of a silent instance, and how many pending users, one
/// sweep handles: the rest wait for the next sweep (a fraction of a second).
const SWEEP_BATCH: usize = 100;

impl RedisStore {
    pub(in crate::store) async fn presence_sockets(
        &self,
        user: &str,
        instance: &str,
    ) -> Result<Vec<SocketId>, StoreError> {
        let (mut connection, key) = (self.connection(), self.sockets_key(user, instance));
        bounded(async move { connection.smembers(key).await }).await
    }

    pub(in crate::store) async fn presence_users(
        &self,
        instance: &str,
    ) -> Result<Vec<String>, StoreError> {
        let mut connection = self.connection();
        let key = self.presence_key(&format!("instance:{instance}"));
        bounded(async move { connection.smembers(key).await }).await
    }

    pub(in crate::store) async fn presence_sync(
        &self,
        user: &str,
        instance: &str,
        change: SocketChange<'_>,
        grace: Duration,
        keep: Duration,
    ) -> Result<Option<Transition>, StoreError> {
        let mut call = scripts::PRESENCE_SYNC.prepare_invoke();
        call.key(self.sockets_key(user, instance))
            .key(self.presence_key(&format!("at:{user}")))
            .key(self.presence_key("online"))
            .key(self.presence_key("pending"))
            .key(self.presence_key("version"))
            .key(self.presence_key(&format!("instance:{instance}")))
            .arg(user)
            .arg(instance)
            .arg(millis(grace))
            .arg(px(keep))
            .arg(change.remove.len())
            .arg(change.remove)
            .arg(change.add);
        let (version, online): (u64, u8) = self.run(call).await?;
        // Version 0: no transition.
        Ok((version > 0).then(|| Transition {
            user: user.to_owned(),
            online: online == 1,
            version,
        }))
    }

    pub(in crate::store) async fn presence_sweep(
        &self,
        grace: Duration,
    ) -> Result<Vec<Transition>, StoreError> {
        let mut call = scripts::PRESENCE_SWEEP.prepare_invoke();
        call.key(self.presence_key("online"))
            .key(self.presence_key("pending"))
            .key(self.presence_key("version"))
            .key(self.presence_key("instances"))
            .arg(&*self.prefix)
            .arg(millis(grace))
            .arg(SWEEP_BATCH);
        let flat: Vec<(String, u64)> = self.run(call).await?;
        Ok(flat
            .into_iter()
            .map(|(user, version)| Transition {
                user,
                online: false,
                version,
            })
            .collect())
    }

    pub(in crate::store) async fn presence_roster(&self) -> Result<Roster, StoreError> {
        let mut call = scripts::PRESENCE_ROSTER.prepare_invoke();
        call.key(self.presence_key("online"))
            .key(self.presence_key("version"));
        let (version, mut online): (u64, Vec<String>) = self.run(call).await?;
        // Rust's string order is by code point, as the contract asks.
        online.sort_unstable();
        Ok(Roster { online, version })
    }

    pub(in crate::store) async fn instance_alive(
        &self,
        instance: &str,
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut call = scripts::PRESENCE_BEAT.prepare_invoke();
        call.key(self.presence_key(&format!("alive:{instance}")))
            .key(self.presence_key("instances"))
            .arg(instance)
            .arg(millis(ttl));
        let lapsed: u8 = self.run(call).await?;
        Ok(lapsed == 1)
    }
}
