//! What every handler shares, built once at start-up.

use crate::{
    config::SocketAuth, origin::OriginPolicy, services::Services, session::SessionCookie,
    shutdown::Shutdown, socket,
};

/// The application's shared state (`web::Data<AppState>`).
pub struct AppState {
    /// What handlers and sockets ask of the app (sessions, lobby, presence,
    /// events).
    pub services: Services,
    /// How each socket behaves.
    pub sockets: socket::Settings,
    /// Reads and writes the session cookie.
    pub cookie: SessionCookie,
    /// Who may act cross-origin.
    pub origins: OriginPolicy,
    /// Who may open a socket.
    pub socket_auth: SocketAuth,
    /// Open sockets allowed per session on this instance.
    pub max_sockets_per_session: usize,
    /// Set once shutdown has begun.
    pub shutdown: Shutdown,
}
