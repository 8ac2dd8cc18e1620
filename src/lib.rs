//! session-bridge: one cookie session shared by an actix-web app's HTTP
//! routes and its long-lived WebSocket connections.
//!
//! Start at [`startup::Application`]; the README has a tour of the modules.

pub mod clock;
pub mod config;
pub mod error;
pub mod events;
pub mod healthcheck;
pub mod net;
pub mod origin;
pub mod protocol;
pub mod routes;
pub mod serve;
pub mod services;
pub mod session;
pub mod shutdown;
pub mod socket;
#[cfg(feature = "socketio")]
pub mod socketio;
pub mod startup;
pub mod state;
pub mod store;
pub mod sync;
pub mod telemetry;
