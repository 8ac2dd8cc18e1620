//! `POST /logout`: ends the session everywhere.

use actix_web::{web, HttpRequest, HttpResponse};

use crate::{error::AppError, state::AppState};

/// Deletes the session, closes its sockets on every instance with 4000 and
/// clears the cookie. Answers 204 also when there was no session.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if let Some(id) = state.cookie.session_id(&req) {
        state.sessions.logout(&id).await?;
    }
    let mut response = HttpResponse::NoContent().finish();
    state.cookie.clear(&mut response)?;
    Ok(response)
}
