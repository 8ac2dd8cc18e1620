//! `POST /incr`: adds 1 to the session's count and answers the new count.

use actix_web::{http::header::ContentType, web, HttpRequest, HttpResponse};

use crate::{error::AppError, session::SessionData, state::AppState};

/// Increments the count (every socket of the session hears of it); a visitor
/// without a live session gets a new one whose count is 1.
pub async fn incr(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    if let Some(id) = state.cookie.session_id(&req) {
        if let Some(count) = state.sessions.increment(&id).await? {
            return Ok(count_response(count));
        }
    }
    let data = SessionData {
        count: 1,
        ..SessionData::default()
    };
    let id = state.sessions.create(&data).await?;
    let mut response = count_response(data.count);
    state.cookie.set(&mut response, &id)?;
    Ok(response)
}

fn count_response(count: u64) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(count.to_string())
}
