//! `GET /ws`, the WebSocket transport of the socket core: the handshake
//! (here), the actor that holds each socket (`connection`) and the
//! WebSocket framing rules (`frames`).
//!
//! The session is found by the same cookie as HTTP. Under `SOCKET_AUTH=session`
//! a visitor without a session gets one here: it is created in the store
//! before the upgrade and its cookie rides on the 101 response, so the actor
//! knows its key from the start and the browser has the cookie for its
//! next request.

use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws::{self, WsResponseBuilder};

mod connection;
mod frames;

use connection::Connection;
use frames::MAX_MESSAGE_BYTES;

use super::extract::{CurrentSession, KnownSession};
use crate::{
    config::SocketAuth, error::AppError, net::HeldConnection, socket::Socket, state::AppState,
};

/// Upgrades the request to a WebSocket held by a [`Connection`].
pub async fn handshake(
    req: HttpRequest,
    stream: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    if state.shutdown.is_draining() {
        return Err(AppError::ShuttingDown.into());
    }
    if !state
        .origins
        .permits(req.head(), req.connection_info().scheme())
    {
        return Err(AppError::ForeignOrigin.into());
    }
    // A request that is no upgrade at all is answered before anything is
    // created for it.
    ws::handshake(&req)?;

    let known = KnownSession::find(&req, &state).await?;
    let allowed = match (&known, state.socket_auth) {
        (KnownSession::Live(_, data), SocketAuth::Login) => data.authenticated,
        (KnownSession::Missing, SocketAuth::Login) => false,
        _ => true,
    };
    if !allowed {
        return Err(AppError::LoginRequired.into());
    }
    let session = CurrentSession::from_known(known, &state).await?;

    // A session created just now has no socket yet. The check and the socket's join are not
    // one step: handshakes racing on one session can overshoot the limit by
    // how many are in flight at once.
    if !session.created
        && state
            .services
            .events
            .registry()
            .room_size(&state.services.sessions.room(&session.id))
            >= state.max_sockets_per_session
    {
        return Err(AppError::TooManySockets.into());
    }

    let socket = Socket::new(
        state.services.clone(),
        state.sockets.clone(),
        "ws",
        (session.id.clone(), &session.data),
        req.conn_data::<HeldConnection>()
            .map(HeldConnection::control),
    );
    let connection = Connection::new(socket);
    let mut response = WsResponseBuilder::new(connection, &req, stream)
        .frame_size(MAX_MESSAGE_BYTES)
        .start()?;
    session.set_cookie(&state, &mut response)?;
    Ok(response)
}
