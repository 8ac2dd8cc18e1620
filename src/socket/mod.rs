//! The socket core: what one client connection of the bridge is and does,
//! whatever carries its frames. A [`Socket`] holds its session's view (which
//! filters late and repeated frames), its budgets, its snapshot on open and
//! after a resync, and its commands; its transport feeds it the client's
//! frames and the registry's pushes, runs the store calls it asks for, and
//! frames what it sends through an [`Outlet`].
//!
//! Nothing here knows a transport: `GET /ws` (`routes::ws`) holds each
//! socket in an `actix-web-actors` actor and adds only the WebSocket
//! framing rules.

mod commands;
mod deadline;
mod lifecycle;
mod rate_limit;
mod snapshot;
mod view;

use std::time::Duration;

pub use commands::{Answer, Command, Done, Outcome};
pub use deadline::STORE_TIMEOUT;
pub use lifecycle::{Outlet, Socket};
pub use rate_limit::ChatLimiter;
pub use snapshot::{Opening, Reloaded};

/// How long a peer that proves it reads nothing (echoes no ping) is kept;
/// the registry's watchdog drops it then (see [`Socket::alive`]).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames a socket may send in a burst, and per second after it.
pub const FRAME_BUDGET: u32 = 100;

/// How sockets behave, from the configuration; cloned into each socket.
#[derive(Clone)]
pub struct Settings {
    /// How often each socket reloads its session.
    pub reload_interval: Duration,
    /// The most bytes of frames that may wait for one socket.
    pub queue_bytes: usize,
    /// Each session's chat budget on this instance (shared by its sockets).
    pub chat_limit: ChatLimiter,
}
