//! Where everything lives in Redis: every key and channel name, under the
//! configured prefix. The scripts build a few of these names themselves from
//! the prefix they are given (`session:`, `gone:`, `user-sessions:`,
//! `presence:`), so a change here is a change to them too.
//!
//! `{room}` is the keyed hash of a session key (its room id), so nothing at
//! rest in Redis (nor in `MONITOR` or `SLOWLOG`) is usable as a cookie.
//!
//! Sessions:
//!
//! - `session:{room}`: the state, a JSON object of JSON-encoded values (as
//!   actix-session's stores keep it), expiring after the idle lifetime;
//! - `user-sessions:{name}`: a sorted set of the rooms of the sessions logged
//!   in as `name`, scored by when each expires (ms since the epoch). Every
//!   write of a member also keeps the set's own expiry at least as far out as
//!   the member's, so the set expires by itself with its last session;
//!   members that expired are pruned a few at a time, and skipped anyway;
//! - `gone:{room}`: how a session ended (`logged_out`, `renewed`), with its
//!   own expiry. The name predates the word "ended": it stays, so instances
//!   of every version read each other's.
//!
//! The lobby: `lobby:seq`, the last position given; `lobby:history`, a list
//! of the kept messages, each `{"seq": n, "message": <the JSON>}`.
//!
//! Presence (under `presence:`):
//!
//! - `sockets:{instance}:{user}`: set of the ids of the user's open sockets
//!   on that instance (idempotent adds and removes, never a count);
//! - `at:{user}`: set of the instances holding a socket of the user;
//! - `instance:{instance}`: set of the users that instance holds sockets of;
//! - `online`: set of the users online; `pending`: sorted set of the online
//!   users without a socket, scored by since when (ms); `version`: the
//!   counter of transitions; `instances`: set of the instances that beat;
//!   `alive:{instance}`: the liveness key, expiring after the instance TTL.
//!
//! The per-instance and per-user presence keys (`sockets:`, `at:`,
//! `instance:`) are removed by the others' sweep, a batch at a time, once
//! their instance is silent; each also expires by itself a while (three
//! instance TTLs) after its instance last reconciled it (every third of a
//! TTL), so nothing is left behind when every instance has stopped. The
//! global ones (`online`, `pending`, `version`, `instances`) have no TTL:
//! they are few, bounded by the users online, and `version` must never go
//! back.
//!
//! Channels: `events` carries every instance's events (see `events::redis`),
//! the lobby's append script publishes there too.

use super::RedisStore;
use crate::session::RoomId;

impl RedisStore {
    /// The one channel that carries every instance's events.
    pub fn events_channel(&self) -> String {
        format!("{}events", self.prefix)
    }

    pub(super) fn session_key(&self, room: &RoomId) -> String {
        format!("{}session:{room}", self.prefix)
    }

    pub(super) fn user_key(&self, user: &str) -> String {
        format!("{}user-sessions:{user}", self.prefix)
    }

    pub(super) fn ended_key(&self, room: &RoomId) -> String {
        format!("{}gone:{room}", self.prefix)
    }

    pub(super) fn lobby_key(&self, name: &str) -> String {
        format!("{}lobby:{name}", self.prefix)
    }

    pub(super) fn presence_key(&self, name: &str) -> String {
        format!("{}presence:{name}", self.prefix)
    }

    pub(super) fn sockets_key(&self, user: &str, instance: &str) -> String {
        self.presence_key(&format!("sockets:{instance}:{user}"))
    }
}
