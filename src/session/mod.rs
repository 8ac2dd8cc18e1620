//! Sessions: keys and rooms, the typed data, the cookie, and the one
//! mutation path ([`Sessions`]) shared by HTTP handlers and sockets.

mod cookie;
mod data;
mod id;
mod service;

pub use cookie::{SessionCookie, COOKIE_NAME};
pub use data::{keys, DisplayName, SessionData, TypedSession, MAX_NAME_CHARS};
pub use id::{RoomId, RoomKey, SessionId};
pub use service::Sessions;
