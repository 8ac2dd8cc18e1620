//! One Engine.IO connection's owner and its transports. The owner
//! ([`Conn`], `owner`) is an actor holding the connection's transport state
//! (`engine`: polling, upgrading, WebSocket, ended; the bounded queue; the
//! held poll; the heartbeat's deadline) and the [`Layer`] riding on it (the
//! Socket.IO layer, or a bare echo for the conformance suite). Transports
//! are pipes to it: a polling GET or POST is a message with a reply
//! (`poll`), a WebSocket is a small actor forwarding its messages and
//! writing what it is told (`pipe`). The owners are found by `sid` in a
//! [`Table`].
//!
//! Everything happens on the owner, one message at a time, so the
//! protocol's rules (one GET at a time, all packets of a POST queued before
//! its `ok`, the upgrade's order) hold without locks. This is the shape the
//! multi-instance design grows from: the owner stays where the handshake
//! landed, and its transport state moves to shared storage.

mod engine;
mod owner;
pub mod pipe;
pub mod poll;
mod table;
mod upgrade;

use std::time::Duration;

pub use engine::{Ending, Reply};
pub use owner::{Conn, Connections, Data, Invoke, Io, Layer, Task};
pub use table::{Found, Scope, Table};
pub use upgrade::PipeRole;

/// How long a WebSocket may take from its arrival to its `5`; then it is
/// closed and the connection stays on polling.
pub const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a GET that arrives during an upgrade is held before it is
/// answered `6` (engine.io checks every 100 ms): long enough for a `5` sent
/// just before it to land first.
pub const UPGRADE_HOLD: Duration = Duration::from_millis(100);
