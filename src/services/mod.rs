//! The services: what HTTP handlers and sockets ask of the app. Each reads
//! and changes state in the store, then tells the sockets through the events
//! path; they sit above `store` and `events`, below `routes` and `socket`.

mod lobby;
mod presence;
mod sessions;

pub use lobby::{Lobby, LobbyView};
pub use presence::Presence;
pub use sessions::Sessions;
