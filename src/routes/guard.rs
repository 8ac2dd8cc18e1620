//! Refuses state-changing requests sent from foreign origins (CSRF): a page
//! on another site can make the browser send our cookie, but not fake the
//! `Origin` header it comes with.

use actix_web::{
    body::{EitherBody, MessageBody},
    dev::{ServiceRequest, ServiceResponse},
    middleware::Next,
    web, Error, ResponseError,
};

use crate::{error::AppError, state::AppState};

/// Answers 403 to any non-safe request (POST and the like) whose `Origin` is
/// present and neither same-origin nor allowed. The refusal is a response,
/// not an error, so the access log records it like any other.
pub async fn reject_foreign_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let foreign = !req.method().is_safe()
        && req.app_data::<web::Data<AppState>>().is_some_and(|state| {
            !state
                .origins
                .permits(req.head(), req.connection_info().scheme())
        });
    if foreign {
        let refusal = AppError::ForeignOrigin.error_response();
        return Ok(req.into_response(refusal).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
