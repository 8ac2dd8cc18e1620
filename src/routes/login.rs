//! `POST /login`: gives the session a name and a new key.

use actix_web::{web, HttpResponse};
use serde::{de::Error as _, Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::extract::KnownSession;
use crate::{error::AppError, session::DisplayName, state::AppState};

/// The body of `POST /login`: a JSON object `{"name": "..."}`, nothing else.
pub struct LoginRequest {
    name: String,
}

impl<'de> Deserialize<'de> for LoginRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Fields {
            name: String,
        }
        // A derived struct also accepts a JSON array (`["alice"]` would log
        // in as alice): read an object first, then its fields.
        let object = Map::<String, Value>::deserialize(deserializer)?;
        Fields::deserialize(Value::Object(object))
            .map(|fields| Self { name: fields.name })
            .map_err(D::Error::custom)
    }
}

/// Logs the session in. Its key is renewed, so a key planted before login
/// (session fixation) is worthless after it; the sockets opened under the old
/// key are closed with 4001 and reconnect with the new cookie.
pub async fn login(
    known: KnownSession,
    body: web::Json<LoginRequest>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    let name = DisplayName::parse(&body.name).map_err(AppError::BadRequest)?;
    let old = match known {
        KnownSession::Live(id, _) => Some(id),
        KnownSession::Renewed => return Err(AppError::SessionRenewed),
        KnownSession::Missing => None,
    };
    let id = state
        .services
        .sessions
        .login(old.as_ref(), &name)
        .await?
        .ok_or(AppError::SessionRenewed)?;
    let mut response = HttpResponse::NoContent().finish();
    state.cookie.set(&mut response, &id)?;
    Ok(response)
}
