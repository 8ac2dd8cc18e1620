//! `GET /`: the demo page, rendered from `templates/index.html`.

use actix_web::{http::header, web, HttpResponse};
use askama::Template;

use super::extract::{CurrentSession, KnownSession};
use crate::{config::SocketAuth, error::AppError, session::SessionData, state::AppState};

/// The demo page's template (checked at compile time by askama).
#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    /// The visitor's session as it is now.
    pub data: &'a SessionData,
    /// `memory` or `redis`.
    pub store: &'static str,
    /// `session` or `login`.
    pub socket_auth: &'static str,
}

/// Renders the page, first making sure the visitor has a session, so the
/// page's socket carries a cookie. A key that a login renewed moments ago
/// gets the page without a session: the login is setting the new cookie.
pub async fn index(
    known: KnownSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let session = match known {
        KnownSession::Renewed => None,
        known => Some(CurrentSession::from_known(known, &state).await?),
    };
    let blank = SessionData::default();
    let page = IndexPage {
        data: session.as_ref().map_or(&blank, |session| &session.data),
        store: state.services.sessions.store().kind(),
        socket_auth: match state.socket_auth {
            SocketAuth::Session => "session",
            SocketAuth::Login => "login",
        },
    }
    .render()
    .map_err(|err| AppError::Internal(err.into()))?;
    let mut response = HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(page);
    if let Some(session) = session {
        session.set_cookie(&state, &mut response)?;
    }
    Ok(response)
}
