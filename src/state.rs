//! What every handler shares, built once at start-up.

use crate::{
    config::SocketAuth, origin::OriginPolicy, services::Sessions, session::SessionCookie,
    shutdown::Shutdown, socket::SocketServices,
};

/// The application's shared state (`web::Data<AppState>`).
pub struct AppState {
    /// The one path to session data.
    pub sessions: Sessions,
    /// What each socket is given (the services and this process's registry).
    pub sockets: SocketServices,
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
