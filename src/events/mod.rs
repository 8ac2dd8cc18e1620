//! The one path every server event takes to its sockets, wherever they are.
//!
//! A sender says *whom* ([`Audience`]: a session's sockets, a user's sockets,
//! the whole lobby) and *what* (a `ServerEvent`, serialised once into an
//! [`Event`]'s ready frame, with the [`Order`] a socket needs to drop stale or
//! repeated frames). Nothing here, in the [`Registry`] or in the Redis wire
//! format names a particular event: adding one touches the protocol enum and
//! the code that produces it, nothing else.
//!
//! Delivery is local-first: [`Events::emit`] hands the frame to this
//! instance's sockets at once and, with Redis, publishes it for the other
//! instances (each skips what it published itself). The lobby's chat needs
//! one order on every instance, so with Redis it does not come through here:
//! the store appends and publishes it in one step, and every instance,
//! the sender's included, delivers it from the subscription.

mod batch;
mod index;
mod outbox;
mod redis;
mod registry;
mod watchdog;

use std::sync::Arc;

use bytestring::ByteString;
use serde::{Deserialize, Serialize};

pub use self::redis::{spawn_subscriber, InstanceId, RedisEvents};
pub use batch::Batch;
pub use index::{Mailbox, Push, SocketEntry};
pub use outbox::{Ending, Offer, Outbox};
pub use registry::{Registry, Stats};
pub use watchdog::CLOSE_GRACE;

use crate::{
    protocol::{Close, ServerEvent},
    session::RoomId,
};

/// Whom an event is for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Every socket of one session.
    Session(RoomId),
    /// Every socket of every session logged in under this name.
    User(String),
    /// Every socket.
    Lobby,
}

/// What a socket checks before showing a frame, so that frames arriving late,
/// twice or out of order never show an older state. The registry and the
/// fan-out carry it without looking inside.
///
/// **One variant, one slot.** Each variant that carries a value is compared
/// with one slot of every socket's view (`socket::View`): `SessionCount`
/// with the count it showed, `LobbySequence` with the lobby position. A
/// second counter or stream is a variant of its own, never a reuse of these
/// (it would be filtered against the session's count or the lobby's
/// position). The view matches on every variant without a wildcard, so a new
/// one does not compile until it is given its slot there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Always shown.
    Always,
    /// The session's count: shown only above the highest count the socket
    /// has shown.
    #[serde(rename = "count")]
    SessionCount(u64),
    /// A position in the lobby's message stream: shown only after the last
    /// position the socket has shown, so history and live frames never overlap.
    #[serde(rename = "sequence")]
    LobbySequence(u64),
    /// A user's presence transition. It batches (see [`Order::batches`]:
    /// the event's frame is unused, each socket builds one frame per batch);
    /// a socket shows a user's change only when newer
    /// (by `version`) than what it knows of the user and when it flips what
    /// it shows, so online and offline strictly alternate on every socket.
    Presence {
        /// The user (shared: the order is cloned for every socket).
        user: Arc<str>,
        /// The new state.
        online: bool,
        /// Increases with every presence transition of every user.
        version: u64,
    },
}

impl Order {
    /// Whether events of this order are gathered into batches (see
    /// `batch`) rather than handed out one by one.
    pub fn batches(&self) -> bool {
        matches!(self, Self::Presence { .. })
    }

    /// About what it adds to the frame a batch becomes, in bytes.
    pub fn weight(&self) -> usize {
        match self {
            Self::Presence { user, .. } => user.len() + 3,
            Self::Always | Self::SessionCount(_) | Self::LobbySequence(_) => 16,
        }
    }
}

/// A server event ready to send: whom, in what order, and the frame itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Whom it is for.
    pub to: Audience,
    /// What a socket checks before showing it.
    pub order: Order,
    /// The serialised frame.
    pub frame: ByteString,
}

impl Event {
    /// Serialises `event` once for every socket of `to`.
    pub fn new(to: Audience, order: Order, event: &ServerEvent<'_>) -> Self {
        Self {
            to,
            order,
            frame: event.to_text(),
        }
    }
}

/// Where events go: this instance's registry, and with Redis every other
/// instance too.
#[derive(Clone)]
pub struct Events {
    registry: Registry,
    redis: Option<RedisEvents>,
}

impl Events {
    /// Events delivered only in this process (the embedded store).
    pub fn local(registry: Registry) -> Self {
        Self {
            registry,
            redis: None,
        }
    }

    /// Events delivered here and published to the other instances.
    pub fn redis(registry: Registry, redis: RedisEvents) -> Self {
        Self {
            registry,
            redis: Some(redis),
        }
    }

    /// This instance's sockets.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Delivers `event` to this instance's sockets at once, then to every
    /// other instance's.
    pub async fn emit(&self, event: Event) {
        self.registry.deliver(&event);
        if let Some(redis) = &self.redis {
            redis.publish_event(&event).await;
        }
    }

    /// Closes every socket of `to`, here and on every other instance.
    pub async fn close(&self, to: Audience, close: Close) {
        self.registry.close(&to, close);
        if let Some(redis) = &self.redis {
            redis.publish_close(&to, close).await;
        }
    }
}
