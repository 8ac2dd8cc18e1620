//! WebSockets: the handshake, one actor per connection, the per-process
//! registry of sockets by session room, and the frame protocol.
//!
//! All transport code (`actix-web-actors`) stays inside this module, so a
//! move to its successor (`actix-ws`) is a local change.

mod connection;
mod handshake;
mod protocol;
mod rate_limit;
mod registry;

pub use connection::{
    Connection, CLIENT_TIMEOUT, FRAME_BUDGET, HEARTBEAT_INTERVAL, MAX_MESSAGE_BYTES,
};
pub use handshake::handshake;
pub use protocol::{ClientEvent, Close, FrameError, ServerEvent};
pub use registry::{
    Broadcast, Disconnect, GetStats, Join, Leave, Notify, Push, Registry, RoomSize, SocketId, Stats,
};
