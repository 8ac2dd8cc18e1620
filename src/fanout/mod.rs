//! Fan-out: delivers a session's notifications and disconnects to its sockets
//! wherever they are.
//!
//! With the embedded store every socket lives in this process, so events go
//! straight to the local [`Registry`]. With Redis they are published on one
//! channel that every instance subscribes to, and each instance's subscriber
//! hands them to its own registry. Callers only say *what* happens to a room;
//! they never learn where its sockets are.

mod redis;

use actix::Addr;

pub use self::redis::{spawn_subscriber, RedisFanout};
use crate::{
    session::RoomId,
    socket::{Close, Disconnect, Notify, Registry},
};

/// Where session events go.
#[derive(Clone)]
pub enum Fanout {
    /// Every socket is in this process.
    Local(Addr<Registry>),
    /// Sockets are spread over the instances sharing a Redis.
    Redis(RedisFanout),
}

impl Fanout {
    /// Tells every socket of `room` the session's new count.
    pub async fn notify(&self, room: RoomId, count: u64) {
        match self {
            Self::Local(registry) => registry.do_send(Notify { room, count }),
            Self::Redis(fanout) => fanout.notify(room, count).await,
        }
    }

    /// Closes every socket of `room` with `close`.
    pub async fn disconnect(&self, room: RoomId, close: Close) {
        match self {
            Self::Local(registry) => registry.do_send(Disconnect { room, close }),
            Self::Redis(fanout) => fanout.disconnect(room, close).await,
        }
    }
}
