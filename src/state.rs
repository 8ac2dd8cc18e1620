//! What every handler shares, built once at start-up.

use std::time::Duration;

use actix::Addr;

use crate::{
    config::SocketAuth,
    origin::OriginPolicy,
    session::{SessionCookie, Sessions},
    shutdown::Shutdown,
    socket::Registry,
};

/// The application's shared state (`web::Data<AppState>`).
pub struct AppState {
    /// The one path to session data.
    pub sessions: Sessions,
    /// Reads and writes the session cookie.
    pub cookie: SessionCookie,
    /// Who may act cross-origin.
    pub origins: OriginPolicy,
    /// Who may open a socket.
    pub socket_auth: SocketAuth,
    /// Open sockets allowed per session on this instance.
    pub max_sockets_per_session: usize,
    /// How often each socket reloads its session.
    pub reload_interval: Duration,
    /// This process's sockets.
    pub registry: Addr<Registry>,
    /// Set once shutdown has begun.
    pub shutdown: Shutdown,
}
