//! `GET /`: the demo page, rendered from `templates/index.html`.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use askama::Template;

use crate::{
    config::SocketAuth,
    error::AppError,
    session::{SessionData, SessionId},
    state::AppState,
};

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
/// page's socket carries a cookie.
pub async fn index(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let (data, created) = session_of(&req, &state).await?;
    let page = IndexPage {
        data: &data,
        store: state.sessions.store().kind(),
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
    if let Some(id) = created {
        state.cookie.set(&mut response, &id)?;
    }
    Ok(response)
}

/// The visitor's session, or a new one (returned with its key, for the cookie).
async fn session_of(
    req: &HttpRequest,
    state: &AppState,
) -> Result<(SessionData, Option<SessionId>), AppError> {
    if let Some(id) = state.cookie.session_id(req) {
        if let Some(data) = state.sessions.load(&id).await? {
            return Ok((data, None));
        }
    }
    let data = SessionData::default();
    let id = state.sessions.create(&data).await?;
    Ok((data, Some(id)))
}
