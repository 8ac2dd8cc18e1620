//! The app's Socket.IO endpoint, `/socket.io/`: Engine.IO v4 and Socket.IO
//! v5 on the same sessions, events and lobby as `GET /ws`, through the
//! socket core. `admission` decides who may use it (the `/ws` session
//! rules, and a cookie of the same session on every later request);
//! `namespace` is the namespace `/` on a socket of the core.
//!
//! One instance holds each connection: with several instances and no
//! sticky sessions, a request that lands on another instance gets 400
//! `{"code":1,"message":"Session ID unknown"}` and the client reconnects.

mod admission;
mod namespace;

use actix_web::{web, HttpRequest, HttpResponse};

use admission::AppEndpoint;

use super::endpoint::serve;
use crate::state::AppState;

/// Every request under `/socket.io/`.
async fn socket_io(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    serve(req, payload, AppEndpoint(state)).await
}

/// Adds `/socket.io/` to the app.
pub fn configure(cfg: &mut web::ServiceConfig) {
    // The bundle's exact paths first: actix matches in order.
    super::assets::configure(cfg);
    cfg.service(
        web::resource("/socket.io/")
            .name("/socket.io/")
            .route(web::to(socket_io)),
    );
}
