//! `GET /healthz` (readiness): whether the store answers, and this
//! instance's sockets; `GET /livez` (liveness): whether the process serves.

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde::Serialize;

use crate::state::AppState;

/// How long the health check waits for the store.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Serialize)]
struct Health {
    status: &'static str,
    store: &'static str,
    sockets: usize,
    sessions: usize,
}

/// 200 when the store answers, 503 when it does not; with the socket counts.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.services.sessions.store();
    let reachable = matches!(
        tokio::time::timeout(PING_TIMEOUT, store.ping()).await,
        Ok(Ok(()))
    );
    let stats = state.services.events.registry().stats();
    let body = Health {
        status: if reachable { "ok" } else { "unavailable" },
        store: store.kind(),
        sockets: stats.sockets,
        sessions: stats.sessions,
    };
    if reachable {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Always 200 while the process serves requests, whatever the store does:
/// a liveness probe must not restart an instance for Redis's outage.
pub async fn livez() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}
