//! `GET /metrics` (the Prometheus text format) and the middleware that
//! measures every HTTP request under the OpenTelemetry HTTP server names.
//!
//! Hand-written rather than `actix-web-metrics` 0.5, which would fit the
//! names (its duration name is configurable, its labels are the OTel
//! attributes) but costs more on every request: it wraps every response
//! body to count bytes (so a WebSocket's request "lasts" as long as the
//! socket), allocates about eight strings, and records three histograms and
//! two gauge updates per request. Here: two clock reads, two small strings
//! and one histogram sample.

use std::time::Instant;

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web, Error, HttpResponse,
};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::telemetry::{HTTP_METHOD, HTTP_REQUEST_DURATION, HTTP_ROUTE, HTTP_STATUS, UNMATCHED};

/// The Prometheus text exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Every metric of this process, in the Prometheus text format.
pub async fn metrics(handle: web::Data<PrometheusHandle>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(CONTENT_TYPE)
        .body(handle.render())
}

/// Records each request's duration (until its response head is ready) by
/// method, route pattern and status.
pub async fn measure(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let result = next.call(req).await;
    let (status, route) = match &result {
        Ok(response) => (response.status(), response.request().match_pattern()),
        // Rare (handler errors become responses inside the route); the
        // request is gone, and with it its route.
        Err(err) => (err.as_response_error().status_code(), None),
    };
    metrics::histogram!(
        HTTP_REQUEST_DURATION,
        HTTP_METHOD => method,
        HTTP_ROUTE => route.unwrap_or_else(|| UNMATCHED.to_owned()),
        HTTP_STATUS => status.as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    result
}

/// A standard method's name, or OpenTelemetry's `_OTHER`: a client can send
/// any token as a method, and labels take a small fixed set of values.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [(Method, &str); 9] = [
        (Method::GET, "GET"),
        (Method::POST, "POST"),
        (Method::HEAD, "HEAD"),
        (Method::PUT, "PUT"),
        (Method::DELETE, "DELETE"),
        (Method::OPTIONS, "OPTIONS"),
        (Method::PATCH, "PATCH"),
        (Method::CONNECT, "CONNECT"),
        (Method::TRACE, "TRACE"),
    ];
    KNOWN
        .iter()
        .find(|(known, _)| known == method)
        .map_or("_OTHER", |(_, name)| name)
}
