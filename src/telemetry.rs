//! The metrics this app records: their names, kinds and help texts, in one
//! place, so every module records under the contract's names and
//! `GET /metrics` describes each once.
//!
//! Recording goes through the `metrics` facade (`metrics::counter!(NAME)`),
//! which costs an atomic add once the recorder is installed and nothing
//! before. Label values come only from small fixed sets (close codes,
//! transports, methods, route patterns, statuses): never a session key, a
//! room id, a user name or a raw path.
//!
//! The recorder is Prometheus's ([`install`]), rendered by `GET /metrics`:
//! histograms get explicit buckets so they render as Prometheus histograms
//! (`_bucket`, `_sum`, `_count`), not summaries.

use std::{sync::OnceLock, time::Duration};

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Open sockets on this instance (gauge), labelled `transport` (`ws`,
/// `socketio`).
pub const SOCKETS: &str = "session_bridge_sockets";
/// Sockets ended on this instance (counter), labelled `code`: a close code,
/// `heartbeat` (dropped as dead) or `error` (the connection failed).
pub const SOCKET_CLOSES: &str = "session_bridge_socket_closes_total";
/// Frames handed to sockets by the event path (counter).
pub const EVENTS_DELIVERED: &str = "session_bridge_events_delivered_total";
/// Lobby messages posted through this instance (counter).
pub const CHAT_MESSAGES: &str = "session_bridge_chat_messages_total";
/// Store calls that failed or timed out (counter).
pub const STORE_ERRORS: &str = "session_bridge_store_errors_total";
/// Redis connections and subscriptions replaced (counter).
pub const REDIS_RECONNECTS: &str = "session_bridge_redis_reconnects_total";
/// From an emit (or a lobby message's arrival) until its frame is queued for
/// the last local socket of its audience (histogram, seconds).
pub const EVENT_DELIVERY_SECONDS: &str = "session_bridge_event_delivery_seconds";
/// HTTP requests served, by how long they took (histogram, seconds; its
/// `_count` counts them), under the OpenTelemetry HTTP server name, labelled
/// with the OpenTelemetry attributes [`HTTP_METHOD`], [`HTTP_ROUTE`] and
/// [`HTTP_STATUS`].
pub const HTTP_REQUEST_DURATION: &str = "http_server_request_duration_seconds";
/// The request method label: a standard method, or `_OTHER`.
pub const HTTP_METHOD: &str = "http_request_method";
/// The route pattern label (never the raw path), or [`UNMATCHED`].
pub const HTTP_ROUTE: &str = "http_route";
/// The response status label.
pub const HTTP_STATUS: &str = "http_response_status_code";
/// The route label of a request that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// The HTTP duration buckets: OpenTelemetry's defaults, with finer steps
/// below 5 ms, where this app's requests mostly fall.
const HTTP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
    7.5, 10.0,
];
/// The event delivery buckets: from 50 µs (a local socket) to a second.
const DELIVERY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];
/// How often histogram samples are folded into their buckets (the
/// recorder's upkeep; `install_recorder` leaves it to the caller).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Installs the Prometheus recorder on first use and returns its handle.
///
/// Once per process: the `metrics` facade has one global recorder, and tests
/// build many applications in one process, so every application shares this
/// one (a `OnceLock`), and with it the metrics of every application in the
/// process. If another recorder was installed first (an embedding program),
/// `/metrics` renders an empty registry instead of failing.
pub fn install() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let handle = match builder().install_recorder() {
                Ok(handle) => handle,
                Err(err) => {
                    log::warn!("metrics: another recorder is installed ({err}); /metrics is empty");
                    PrometheusBuilder::new().build_recorder().handle()
                }
            };
            describe();
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || loop {
                    std::thread::sleep(UPKEEP_EVERY);
                    upkeep.run_upkeep();
                });
            if let Err(err) = spawned {
                log::warn!("metrics: no upkeep thread ({err}); histograms fold at render only");
            }
            handle
        })
        .clone()
}

/// The recorder's settings: explicit buckets for the histograms.
fn builder() -> PrometheusBuilder {
    let buckets = [
        (HTTP_REQUEST_DURATION, HTTP_BUCKETS),
        (EVENT_DELIVERY_SECONDS, DELIVERY_BUCKETS),
    ];
    buckets
        .into_iter()
        .try_fold(PrometheusBuilder::new(), |builder, (name, values)| {
            builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), values)
        })
        .unwrap_or_else(|err| {
            // Only empty bucket lists fail, and these are constants.
            log::warn!("metrics: histogram buckets rejected ({err}); rendering summaries");
            PrometheusBuilder::new()
        })
}

/// Tells the recorder what each metric is, so `/metrics` prints its `# HELP`
/// (and, once sampled, `# TYPE`). [`install`] calls it.
pub fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_gauge!(SOCKETS, "Open sockets on this instance, by transport.");
    describe_counter!(
        SOCKET_CLOSES,
        "Sockets ended on this instance, by close code (or heartbeat, error)."
    );
    describe_counter!(
        EVENTS_DELIVERED,
        "Frames handed to sockets by the event path."
    );
    describe_counter!(
        CHAT_MESSAGES,
        "Lobby messages posted through this instance."
    );
    describe_counter!(STORE_ERRORS, "Store calls that failed or timed out.");
    describe_counter!(
        REDIS_RECONNECTS,
        "Redis connections and subscriptions replaced."
    );
    describe_histogram!(
        EVENT_DELIVERY_SECONDS,
        Unit::Seconds,
        "From emit until the frame is queued for the last local socket of its audience."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Duration of HTTP server requests, by method, route pattern and status."
    );
}
