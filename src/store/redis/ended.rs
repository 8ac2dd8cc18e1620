//! Ended sessions in Redis: one key per room, holding how it ended, with its
//! own expiry. A renewal and the ends of "log out everywhere" write theirs
//! inside the script that ends the session (`renew.lua`,
//! `end_user_step.lua`); this file serves a single logout and the reads.

use std::time::Duration;

use redis::AsyncCommands;

use super::{bounded, px, RedisStore};
use crate::{
    session::RoomId,
    store::{Ended, StoreError},
};

impl RedisStore {
    pub(in crate::store) async fn remember_ended(
        &self,
        room: &RoomId,
        how: Ended,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let (mut connection, key) = (self.connection(), self.ended_key(room));
        bounded(async move {
            connection
                .pset_ex::<_, _, ()>(key, encode(how), px(ttl))
                .await
        })
        .await
    }

    pub(in crate::store) async fn ended(&self, room: &RoomId) -> Result<Option<Ended>, StoreError> {
        let (mut connection, key) = (self.connection(), self.ended_key(room));
        let value: Option<String> = bounded(async move { connection.get(key).await }).await?;
        Ok(value.as_deref().and_then(decode))
    }
}

/// How an end is stored (the scripts write the same words).
fn encode(how: Ended) -> &'static str {
    match how {
        Ended::LoggedOut => "logged_out",
        Ended::Renewed => "renewed",
    }
}

fn decode(text: &str) -> Option<Ended> {
    match text {
        "logged_out" => Some(Ended::LoggedOut),
        "renewed" => Some(Ended::Renewed),
        _ => None,
    }
}
