//! The errors a request can end in, and the HTTP answer for each.
//!
//! Every error answers JSON `{"error": "..."}`. For server-side failures the
//! cause is logged and the client gets an opaque message.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

use crate::{session::CookieError, store::StoreError};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is malformed; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// `Origin` is neither same-origin nor in `ALLOWED_ORIGINS`.
    #[error("cross-origin request refused")]
    ForeignOrigin,
    /// `SOCKET_AUTH=login` and the session has not logged in.
    #[error("log in first")]
    LoginRequired,
    /// The request carries a key that a login renewed moments ago.
    #[error("session renewed")]
    SessionRenewed,
    /// The session already has `MAX_SOCKETS_PER_SESSION` sockets here.
    #[error("too many sockets for this session")]
    TooManySockets,
    /// The session store cannot be reached.
    #[error("session store unavailable")]
    StoreUnavailable(#[source] StoreError),
    /// The server is shutting down and takes no new sockets.
    #[error("server shutting down")]
    ShuttingDown,
    /// Anything else that went wrong on our side.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(_) => Self::StoreUnavailable(err),
            StoreError::Corrupt(_) => Self::Internal(err.into()),
        }
    }
}

impl From<CookieError> for AppError {
    fn from(err: CookieError) -> Self {
        Self::Internal(err.into())
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::ForeignOrigin => StatusCode::FORBIDDEN,
            Self::LoginRequired => StatusCode::UNAUTHORIZED,
            Self::TooManySockets => StatusCode::TOO_MANY_REQUESTS,
            Self::SessionRenewed => StatusCode::CONFLICT,
            Self::StoreUnavailable(_) | Self::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::StoreUnavailable(cause) => log::error!("{self}: {cause:#}"),
            Self::Internal(cause) => log::error!("{self}: {cause:#}"),
            _ => {}
        }
        HttpResponse::build(self.status_code()).json(ErrorBody {
            error: self.to_string(),
        })
    }
}
