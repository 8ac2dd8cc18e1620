//! WebSockets: the handshake, one actor per connection, and what each socket
//! has shown (its view, which filters late and repeated frames).
//!
//! All transport code (`actix-web-actors`) stays inside this module, so a
//! move to its successor (`actix-ws`) is a local change.

mod connection;
mod handshake;
mod rate_limit;
mod view;

use std::time::Duration;

pub use connection::{
    Connection, CLIENT_TIMEOUT, FRAME_BUDGET, HEARTBEAT_INTERVAL, MAX_MESSAGE_BYTES, STORE_TIMEOUT,
};
pub use handshake::handshake;

pub use rate_limit::ChatLimiter;

use crate::{
    events::Registry,
    services::{Lobby, Presence, Sessions},
};

/// What every socket uses, cloned into each.
#[derive(Clone)]
pub struct SocketServices {
    /// Session reads and writes.
    pub sessions: Sessions,
    /// The lobby's chat.
    pub lobby: Lobby,
    /// Who is online.
    pub presence: Presence,
    /// This process's sockets.
    pub registry: Registry,
    /// How often each socket reloads its session.
    pub reload_interval: Duration,
    /// The most bytes of frames that may wait for one socket.
    pub queue_bytes: usize,
    /// Each session's chat budget on this instance.
    pub chat_limit: ChatLimiter,
}
