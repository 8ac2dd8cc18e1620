//! `GET /metrics` answers the Prometheus text format with the contract's
//! metrics; `GET /livez` answers 200 whatever the store does.
//!
//! The recorder is one per process (tests share it), so the checks look at
//! how a value moves, never at its absolute value.

use reqwest::{header, StatusCode};

use crate::{
    helpers::{spawn_app, spawn_redis_app, wait_until_within, TestApp, WAIT},
    proxy::Frozen,
    redis_server::RedisServer,
    silent_redis::behind_proxy,
};

/// One sample line: `name{labels} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    value: f64,
}

impl Sample {
    fn label(&self, key: &str) -> Option<&str> {
        self.labels
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

/// `GET /metrics`, checking the content type, parsed line by line; fails on
/// any line that is not a comment, blank, or a well-formed sample.
async fn scrape(app: &TestApp) -> Vec<Sample> {
    let response = reqwest::get(format!("{}/metrics", app.address))
        .await
        .expect("GET /metrics");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()[header::CONTENT_TYPE]
        .to_str()
        .expect("an ASCII content type")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "content type {content_type}"
    );
    let text = response.text().await.expect("a body");
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| parse(line).unwrap_or_else(|| panic!("not a Prometheus sample: {line:?}")))
        .collect()
}

/// Parses `name{k="v",...} value` (labels optional); `None` if malformed.
fn parse(line: &str) -> Option<Sample> {
    let name_end = line.find(['{', ' '])?;
    let name = &line[..name_end];
    let valid_name = name.chars().enumerate().all(|(i, c)| {
        c.is_ascii_alphabetic() || c == '_' || c == ':' || (i > 0 && c.is_ascii_digit())
    });
    if name.is_empty() || !valid_name {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let close = inner.find("} ")?;
        let mut pairs = &inner[..close];
        while !pairs.is_empty() {
            let eq = pairs.find("=\"")?;
            let key = &pairs[..eq];
            let after = &pairs[eq + 2..];
            let end = after.find('"')?;
            labels.push((key.to_owned(), after[..end].to_owned()));
            pairs = after[end + 1..]
                .strip_prefix(',')
                .unwrap_or(&after[end + 1..]);
        }
        rest = &inner[close + 1..];
    }
    let value = rest.strip_prefix(' ')?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other.parse().ok()?,
    };
    Some(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}

/// The sum of `name`'s samples whose labels include `with`.
fn total(samples: &[Sample], name: &str, with: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|sample| sample.name == name)
        .filter(|sample| with.iter().all(|(k, v)| sample.label(k) == Some(v)))
        .map(|sample| sample.value)
        .sum()
}

const INCR_200: [(&str, &str); 3] = [
    ("http_request_method", "POST"),
    ("http_route", "/incr"),
    ("http_response_status_code", "200"),
];

#[actix_web::test]
async fn metrics_parse_as_prometheus_text_and_count_http_requests_by_route_pattern() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let before = scrape(&app).await;

    visitor.incr().await;
    visitor.incr().await;
    let missing = app.visitor();
    let response = missing
        .http
        .get(format!("{}/static/no-such-file-4711", app.address))
        .send()
        .await
        .expect("GET a missing asset");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = missing
        .http
        .get(format!("{}/no/such/page-4712", app.address))
        .send()
        .await
        .expect("GET an unknown path");
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let after = scrape(&app).await;
    let count = "http_server_request_duration_seconds_count";
    assert!(
        total(&after, count, &INCR_200) >= total(&before, count, &INCR_200) + 2.0,
        "two POST /incr were not counted"
    );
    // A histogram with buckets, not a summary.
    assert!(
        total(
            &after,
            "http_server_request_duration_seconds_bucket",
            &[("http_route", "/incr"), ("le", "+Inf")]
        ) >= 2.0
    );
    assert!(total(&after, count, &[("http_route", "/static/{path:.*}")]) >= 1.0);
    assert!(total(&after, count, &[("http_route", "unmatched")]) >= 1.0);
    for sample in &after {
        for (_, value) in &sample.labels {
            assert!(
                !value.contains("4711") && !value.contains("4712"),
                "a raw path in a label: {sample:?}"
            );
        }
    }
}

#[actix_web::test]
async fn the_reconnect_counter_moves_when_a_silent_redis_connection_is_replaced() {
    let (_redis, proxy, app) = behind_proxy().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let reconnects = "session_bridge_redis_reconnects_total";
    let before = total(&scrape(&app).await, reconnects, &[]);

    proxy.freeze(Frozen::Commands);
    wait_until_within(WAIT * 2, "POST /incr to answer 200 again", || async {
        visitor.post_incr().await.status() == StatusCode::OK
    })
    .await;

    let after = scrape(&app).await;
    assert!(
        total(&after, reconnects, &[]) > before,
        "no reconnect counted"
    );
    assert!(
        total(&after, "session_bridge_store_errors_total", &[]) >= 1.0,
        "the timed-out call was not counted as a store error"
    );
}

#[actix_web::test]
async fn livez_answers_200_while_redis_is_down() {
    let mut redis = RedisServer::start();
    redis.stop();
    let app = spawn_redis_app(&redis.url()).await;

    let response = reqwest::get(format!("{}/livez", app.address))
        .await
        .expect("GET /livez");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), r#"{"status":"ok"}"#);
    assert_eq!(app.health().await.0, StatusCode::SERVICE_UNAVAILABLE);
}

#[actix_web::test]
async fn socket_metrics_count_sockets_closes_by_code_deliveries_and_chat() {
    let app = spawn_app().await;
    let before = scrape(&app).await;
    let alice = app.visitor();
    alice.login("alice").await;
    let (mut socket, _) = alice.connect_to_lobby().await;
    socket.send_chat("hello").await;
    assert_eq!(socket.expect_event("chat").await["text"], "hello");
    let open = scrape(&app).await;
    assert!(total(&open, "session_bridge_sockets", &[("transport", "ws")]) >= 1.0);
    for (name, at_least) in [
        ("session_bridge_chat_messages_total", 1.0),
        ("session_bridge_events_delivered_total", 1.0),
        ("session_bridge_event_delivery_seconds_count", 1.0),
    ] {
        assert!(
            total(&open, name, &[]) >= total(&before, name, &[]) + at_least,
            "{name} did not move"
        );
    }

    // A logout closes the socket with 4000: counted under that code.
    assert_eq!(alice.post_logout().await.status(), 204);
    socket.expect_close(4000).await;
    let closes = |samples: &[Sample]| {
        total(
            samples,
            "session_bridge_socket_closes_total",
            &[("code", "4000")],
        )
    };
    wait_until_within(WAIT, "the 4000 close to be counted", || async {
        closes(&scrape(&app).await) >= closes(&before) + 1.0
    })
    .await;
}
