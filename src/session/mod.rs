//! Sessions: keys, rooms and socket ids, the typed data and the cookie. The
//! one mutation path that HTTP handlers and sockets share is
//! `services::Sessions`.
//!
//! This is the bottom of the crate's session stack: it names no other module
//! of the crate (the store, the events and the services build on it).

mod cookie;
mod data;
mod id;

pub use cookie::{CookieError, SessionCookie, COOKIE_NAME};
pub use data::{keys, DisplayName, SessionData, SessionState, TypedSession, MAX_NAME_CHARS};
pub use id::{RoomId, RoomKey, SessionId, SocketId};
