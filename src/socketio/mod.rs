//! Socket.IO on the bridge (issue 15): the endpoint `/socket.io/` speaks
//! Socket.IO v5 over Engine.IO v4 (HTTP long-polling, WebSocket and the
//! upgrade between them) to the same sessions, events and lobby as
//! `GET /ws`, each joined connection a socket of the transport-neutral core
//! (`crate::socket`). For now each connection lives on the instance that
//! accepted its handshake (several instances need sticky sessions; see the
//! README's "Socket.IO").
//!
//! - [`engine`], [`packet`]: the protocols' bytes, I/O-free. Ours, not
//!   socketioxide's I/O-free crates: their MSRV of 1.94 against our 1.89,
//!   five breaking releases in two years, http 1.x types where actix has
//!   0.2, and leniencies our house rules would wrap anyway. Everything a
//!   client sends is bounded by a limit its caller passes (`maxPayload`,
//!   attachments) and refused with a typed error, never a panic; the
//!   property tests feed every decoder arbitrary input.
//! - [`conn`]: each Engine.IO connection's owner (an actor) and its
//!   transports (polling requests, WebSocket pipes).
//! - [`endpoint`]: an Engine.IO endpoint over actix-web, whatever rides on
//!   it ([`endpoint::Endpoint`]).
//! - [`layer`]: the Socket.IO layer (namespaces, CONNECT, events, acks).
//! - [`bridge`]: the app's frames and client events as Socket.IO events
//!   and acknowledgements.
//! - `app`: the app's endpoint and namespace `/` ([`configure`]);
//!   [`assets`]: the vendored socket.io-client bundle it serves.
//!
//! The whole endpoint is behind the cargo feature `socketio` (on by
//! default): nothing outside this folder names it but the one
//! `.configure` in `startup.rs`.

mod app;
pub mod assets;
pub mod bridge;
pub mod conn;
pub mod endpoint;
pub mod engine;
pub mod layer;
pub mod packet;

#[cfg(test)]
mod properties;

pub use app::configure;
