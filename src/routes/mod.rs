//! The HTTP routes, one file per resource, and the guards every request
//! passes through.

mod assets;
mod counter;
mod extract;
mod guard;
mod health;
mod index;
mod login;
mod logout;
mod metrics;
mod presence;

use actix_web::web;

pub use extract::{CurrentSession, KnownSession};
pub use guard::reject_foreign_writes;
pub use metrics::measure;

/// Registers every route of the contract.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(index::index))
        .route("/incr", web::post().to(counter::incr))
        .route("/login", web::post().to(login::login))
        .route("/logout", web::post().to(logout::logout))
        .route(
            "/logout/everywhere",
            web::post().to(logout::logout_everywhere),
        )
        .route("/presence", web::get().to(presence::presence))
        .route("/healthz", web::get().to(health::healthz))
        .route("/livez", web::get().to(health::livez))
        .route("/metrics", web::get().to(metrics::metrics))
        .route("/ws", web::get().to(crate::socket::handshake))
        .route("/static/{path:.*}", web::get().to(assets::asset));
}

/// The JSON body settings: small bodies, and errors as `400 {"error": ...}`.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(4096)
        .error_handler(|err, _| crate::error::AppError::BadRequest(err.to_string()).into())
}
