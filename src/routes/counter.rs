//! `POST /incr`: adds 1 to the session's count and answers the new count.

use actix_web::{http::header::ContentType, web, HttpResponse};

use super::extract::CurrentSession;
use crate::{error::AppError, state::AppState};

/// Increments the count (every socket of the session hears of it); a visitor
/// without a live session gets a new one whose count is 1.
pub async fn incr(
    session: CurrentSession,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let mut session = session;
    let count = loop {
        match state.sessions.increment(&session.id).await? {
            Some(count) => break count,
            // Logged out or expired between the lookup and the increment:
            // like a request that came without a session.
            None => session = CurrentSession::start(&state).await?,
        }
    };
    let mut response = HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(count.to_string());
    session.set_cookie(&state, &mut response)?;
    Ok(response)
}
