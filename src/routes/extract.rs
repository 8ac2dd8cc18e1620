//! Extractors for the request's session, so handlers never repeat the
//! cookie → key → store lookup, nor the "start one if there is none" step.
//!
//! [`KnownSession`] only finds; [`CurrentSession`] finds or starts one, whose
//! cookie the handler then sets on its response with
//! [`CurrentSession::set_cookie`], and answers 409 for a key a login has just
//! renewed. Both answer 503 through [`AppError`] when
//! the store cannot be reached: an unreachable store is not "no session".

use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;

use crate::{
    error::AppError,
    session::{SessionData, SessionId},
    state::AppState,
    store::Ended,
};

/// What the request's cookie says about its session.
pub enum KnownSession {
    /// A live session.
    Live(SessionId, SessionData),
    /// A key that a login renewed moments ago: the login's response is
    /// setting the new cookie, so no new session may be started for this
    /// request (its cookie would overwrite the login's).
    Renewed,
    /// No session (no cookie, or a tampered, unknown, expired or logged-out one).
    Missing,
}

/// The request's session, started now when it had none.
pub struct CurrentSession {
    /// Its key.
    pub id: SessionId,
    /// Its data as read (or as started).
    pub data: SessionData,
    /// Whether it was started by this request (its cookie must be set).
    pub created: bool,
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, AppError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("the app state is not registered")))
}

impl KnownSession {
    /// Looks the request's session up by its cookie.
    pub async fn find(req: &HttpRequest, state: &AppState) -> Result<Self, AppError> {
        let Some(id) = state.cookie.session_id(req) else {
            return Ok(Self::Missing);
        };
        if let Some(data) = state.services.sessions.load(&id).await? {
            return Ok(Self::Live(id, data));
        }
        Ok(match state.services.sessions.ended(&id).await? {
            Some(Ended::Renewed) => Self::Renewed,
            Some(Ended::LoggedOut) | None => Self::Missing,
        })
    }
}

impl FromRequest for KnownSession {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            Self::find(&req, &state).await
        })
    }
}

impl CurrentSession {
    /// Starts a new session holding `data`.
    pub async fn start(state: &AppState, data: SessionData) -> Result<Self, AppError> {
        let id = state.services.sessions.create(&data).await?;
        Ok(Self {
            id,
            data,
            created: true,
        })
    }

    /// The known session, or a new one when there is none; a renewed key is
    /// refused (409).
    pub async fn from_known(known: KnownSession, state: &AppState) -> Result<Self, AppError> {
        match known {
            KnownSession::Live(id, data) => Ok(Self {
                id,
                data,
                created: false,
            }),
            KnownSession::Renewed => Err(AppError::SessionRenewed),
            KnownSession::Missing => Self::start(state, SessionData::default()).await,
        }
    }

    /// Sets the session's cookie on `response` when this request started it.
    pub fn set_cookie(
        &self,
        state: &AppState,
        response: &mut HttpResponse,
    ) -> Result<(), AppError> {
        if self.created {
            state.cookie.set(response, &self.id)?;
        }
        Ok(())
    }
}
