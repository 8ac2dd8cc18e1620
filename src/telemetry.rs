//! The metrics this app records: their names, kinds and help texts, in one
//! place, so every module records under the contract's names and
//! `GET /metrics` describes each once.
//!
//! Recording goes through the `metrics` facade (`metrics::counter!(NAME)`),
//! which costs an atomic add once the recorder is installed and nothing
//! before. Label values come only from small fixed sets (close codes,
//! transports): never a session key, a room id or a user name.

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

/// Tells the recorder what each metric is, so `/metrics` prints its `# HELP`
/// and `# TYPE` even before the first sample.
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
}
