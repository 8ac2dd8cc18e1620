//! `GET /metrics` (the Prometheus text format) and the middleware that
//! measures every HTTP request under the OpenTelemetry HTTP server names.
//!
//! Hand-written rather than `actix-web-metrics` 0.5, which would fit the
//! names (its duration name is configurable, its labels are the OTel
//! attributes) but costs more on every request: it wraps every response
//! body to count bytes (so a WebSocket's request "lasts" as long as the
//! socket), allocates about eight strings, and records three histograms and
//! two gauge updates per request. Here: two clock reads and one histogram
//! sample; the histogram handle for a (method, route, status) comes from a
//! small per-thread cache, so the hot path builds no label strings and takes
//! no registry lock (routes are named after their patterns, so the route is
//! a borrowed `&str`). Measured in-process on a trivial `POST` route: about
//! 0.2 µs per request (0.6 µs without the cache), against about 3 µs for
//! `actix-web-metrics` with its defaults; a real `/incr` costs the server
//! about 10 µs of CPU.

use std::{borrow::Cow, cell::RefCell, time::Instant};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    http::Method,
    middleware::Next,
    web, Error, HttpResponse,
};
use metrics::Histogram;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::telemetry::{HTTP_METHOD, HTTP_REQUEST_DURATION, HTTP_ROUTE, HTTP_STATUS, UNMATCHED};

/// The Prometheus text exposition format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// At most this many handles per thread: labels come from small fixed sets,
/// so this is never reached in practice; past it, lookups go to the
/// registry.
const CACHE_LIMIT: usize = 256;

/// A histogram handle for one combination of labels.
struct Cached {
    method: &'static str,
    status: u16,
    route: Box<str>,
    histogram: Histogram,
}

thread_local! {
    /// Each worker's handles (actix runs each worker on its own thread).
    static HISTOGRAMS: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
}

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
        Ok(response) => (response.status(), route_label(response.request())),
        // Rare (handler errors become responses inside the route); the
        // request is gone, and with it its route.
        Err(err) => (
            err.as_response_error().status_code(),
            Cow::Borrowed(UNMATCHED),
        ),
    };
    record(
        method,
        &route,
        status.as_u16(),
        started.elapsed().as_secs_f64(),
    );
    result
}

/// The matched route's pattern: its name (routes are named after their
/// patterns), else the pattern itself, else [`UNMATCHED`].
fn route_label(request: &actix_web::HttpRequest) -> Cow<'_, str> {
    match request.match_name() {
        Some(name) => Cow::Borrowed(name),
        None => request
            .match_pattern()
            .map_or(Cow::Borrowed(UNMATCHED), Cow::Owned),
    }
}

/// Records `seconds` in the histogram for these labels, through the cache.
fn record(method: &'static str, route: &str, status: u16, seconds: f64) {
    HISTOGRAMS.with_borrow_mut(|cache| {
        let known = cache.iter().find(|entry| {
            entry.status == status && entry.method == method && *entry.route == *route
        });
        if let Some(entry) = known {
            return entry.histogram.record(seconds);
        }
        let histogram = metrics::histogram!(
            HTTP_REQUEST_DURATION,
            HTTP_METHOD => method,
            HTTP_ROUTE => route.to_owned(),
            HTTP_STATUS => status.to_string(),
        );
        histogram.record(seconds);
        if cache.len() < CACHE_LIMIT {
            cache.push(Cached {
                method,
                status,
                route: route.into(),
                histogram,
            });
        }
    });
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
