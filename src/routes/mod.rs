//! The HTTP edge: every route, one file per resource (the WebSocket
//! transport of `GET /ws` in `ws/`), the session extractors and the guards
//! every request passes through.

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
mod ws;

use actix_web::web;

pub use extract::{CurrentSession, KnownSession};
pub use guard::reject_foreign_writes;
pub use metrics::measure;

/// Registers every route of the contract, each named after its pattern so
/// the metrics middleware reads the pattern without building a string.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let routes = [
        ("/", web::get().to(index::index)),
        ("/incr", web::post().to(counter::incr)),
        ("/login", web::post().to(login::login)),
        ("/logout", web::post().to(logout::logout)),
        (
            "/logout/everywhere",
            web::post().to(logout::logout_everywhere),
        ),
        ("/presence", web::get().to(presence::presence)),
        ("/healthz", web::get().to(health::healthz)),
        ("/livez", web::get().to(health::livez)),
        ("/metrics", web::get().to(metrics::metrics)),
        ("/ws", web::get().to(ws::handshake)),
        ("/static/{path:.*}", web::get().to(assets::asset)),
    ];
    for (pattern, route) in routes {
        cfg.service(web::resource(pattern).name(pattern).route(route));
    }
}

/// The JSON body settings: small bodies, and errors as `400 {"error": ...}`.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(4096)
        .error_handler(|err, _| crate::error::AppError::BadRequest(err.to_string()).into())
}
