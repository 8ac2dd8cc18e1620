//! Socket.IO on the bridge (issue 15): the endpoint `/socket.io/` will speak
//! Socket.IO v5 over Engine.IO v4 (HTTP long-polling, WebSocket and the
//! upgrade between them) to the same sessions, events and lobby as
//! `GET /ws`, each connection a socket of the transport-neutral core
//! (`crate::socket`), on any number of instances without sticky sessions.
//!
//! This layer owns the protocols' bytes and nothing else: no I/O, no
//! clocks, no state beyond one connection's binary reassembly. It is ours,
//! not socketioxide's I/O-free crates: their MSRV of 1.94 against our
//! 1.89, five breaking releases in two years, http 1.x types where actix
//! has 0.2, and leniencies our house rules would wrap anyway.
//! - [`engine`]: Engine.IO packets and frames, polling bodies, the
//!   handshake's checks, ids, open packet and errors.
//! - [`packet`]: Socket.IO packets, their decoder (binary attachments
//!   reassembled within limits) and encoder.
//! - [`bridge`]: the app's frames and client events as Socket.IO events
//!   and acknowledgements.
//!
//! Everything a client sends is bounded by a limit its caller passes
//! (`maxPayload`, attachments) and refused with a typed error, never a
//! panic; the property tests feed every decoder arbitrary input.
//!
//! The whole endpoint is behind the cargo feature `socketio` (on by
//! default): nothing outside this folder names it.

mod app;
pub mod bridge;
pub mod conn;
pub mod endpoint;
pub mod engine;
pub mod layer;
pub mod packet;

#[cfg(test)]
mod properties;

pub use app::configure;
