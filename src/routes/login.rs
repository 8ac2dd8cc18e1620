//! `POST /login`: gives the session a name and a new key.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::{error::AppError, session::DisplayName, state::AppState};

/// The body of `POST /login`.
#[derive(Deserialize)]
pub struct LoginRequest {
    name: String,
}

/// Logs the session in. Its key is renewed, so a key planted before login
/// (session fixation) is worthless after it; the sockets opened under the old
/// key are closed with 4001 and reconnect with the new cookie.
pub async fn login(
    req: HttpRequest,
    body: web::Json<LoginRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let name = DisplayName::parse(&body.name).map_err(AppError::BadRequest)?;
    let old = state.cookie.session_id(&req);
    let id = state.sessions.login(old.as_ref(), &name).await?;
    let mut response = HttpResponse::NoContent().finish();
    state.cookie.set(&mut response, &id)?;
    Ok(response)
}
