//! Refuses state-changing requests sent from foreign origins (CSRF): a page
//! on another site can make the browser send our cookie, but not fake the
//! `Origin` header it comes with.

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web, Error,
};

use crate::{error::AppError, state::AppState};

/// Answers 403 to any non-safe request (POST and the like) whose `Origin` is
/// present and neither same-origin nor allowed.
pub async fn reject_foreign_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !req.method().is_safe() {
        if let Some(state) = req.app_data::<web::Data<AppState>>() {
            if !state
                .origins
                .permits(req.head(), req.connection_info().scheme())
            {
                return Err(AppError::ForeignOrigin.into());
            }
        }
    }
    next.call(req).await
}
