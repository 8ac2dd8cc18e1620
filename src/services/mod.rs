//! The services: what HTTP handlers and sockets ask of the app. Each reads
//! and changes state in the store, then tells the sockets through the events
//! path; they sit above `store` and `events`, below `routes` and `socket`.

mod lobby;
mod presence;
mod sessions;

pub use lobby::{Lobby, LobbyView};
pub use presence::{Online, Presence};
pub use sessions::Sessions;

use crate::events::Events;

/// Every service, built once at start-up and cloned (cheaply) into each
/// socket; HTTP handlers reach it through `AppState`.
#[derive(Clone)]
pub struct Services {
    /// Session reads and writes.
    pub sessions: Sessions,
    /// The lobby's chat.
    pub lobby: Lobby,
    /// Who is online.
    pub presence: Presence,
    /// Where events go (this instance's registry, then the others).
    pub events: Events,
}
