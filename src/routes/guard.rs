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
    // Without the app state there is no policy to check against: refuse
    // (fail closed) rather than let a write through unchecked.
    let foreign = !req.method().is_safe()
        && req.app_data::<web::Data<AppState>>().is_none_or(|state| {
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

#[cfg(test)]
mod tests {
    use actix_web::{http::StatusCode, middleware::from_fn, test, web, App, HttpResponse};

    use super::reject_foreign_writes;

    #[actix_web::test]
    async fn a_write_is_refused_when_the_app_state_is_missing() {
        let app = test::init_service(
            App::new()
                .wrap(from_fn(reject_foreign_writes))
                .route("/incr", web::post().to(HttpResponse::Ok))
                .route("/", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let write = test::TestRequest::post().uri("/incr").to_request();
        let read = test::TestRequest::get().uri("/").to_request();
        assert_eq!(
            test::call_service(&app, write).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            test::call_service(&app, read).await.status(),
            StatusCode::OK
        );
    }
}
