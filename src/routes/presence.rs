//! `GET /presence`: who is online in the lobby, on any instance.

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::{error::AppError, state::AppState};

#[derive(Serialize)]
struct Online {
    /// Sorted by code point, each once.
    online: Vec<String>,
}

/// The names of the users online now.
pub async fn presence(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let roster = state.services.presence.roster().await?;
    Ok(HttpResponse::Ok().json(Online {
        online: roster.online,
    }))
}
