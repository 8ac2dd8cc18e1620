//! `POST /logout` and `POST /logout/everywhere`: end a session, or every
//! session of its user, on every instance.

use actix_web::{web, HttpRequest, HttpResponse};

use super::extract::KnownSession;
use crate::{error::AppError, state::AppState};

/// Deletes the session, closes its sockets on every instance with 4000 and
/// clears the cookie. Answers 204 also when there was no session.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if let Some(id) = state.cookie.session_id(&req) {
        state.services.sessions.logout(&id).await?;
    }
    cleared(&state)
}

/// Deletes every session logged in under this session's name and closes all
/// their sockets on every instance with 4000; clears this cookie. 401 without
/// a logged-in session.
pub async fn logout_everywhere(
    known: KnownSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let KnownSession::Live(id, data) = known else {
        return Err(AppError::LoginRequired);
    };
    let user = data.user().ok_or(AppError::LoginRequired)?;
    state.services.sessions.logout_everywhere(user, &id).await?;
    cleared(&state)
}

fn cleared(state: &AppState) -> Result<HttpResponse, AppError> {
    let mut response = HttpResponse::NoContent().finish();
    state.cookie.clear(&mut response)?;
    Ok(response)
}
