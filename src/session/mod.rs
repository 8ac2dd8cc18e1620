//! Sessions: keys and rooms, the typed data and the cookie. The one mutation
//! path that HTTP handlers and sockets share is `services::Sessions`.

mod cookie;
mod data;
mod id;

pub use cookie::{SessionCookie, COOKIE_NAME};
pub use data::{keys, DisplayName, SessionData, TypedSession, MAX_NAME_CHARS};
pub use id::{RoomId, RoomKey, SessionId};
