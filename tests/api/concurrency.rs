//! Writers never lose each other's work: concurrent increments of one session
//! through HTTP and sockets add up exactly, every socket sees the counts in
//! increasing order ending at the final one, and no write brings back a
//! session that was logged out meanwhile.

use std::{
    collections::BTreeSet,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use futures_util::{future::join_all, SinkExt, StreamExt};
use reqwest::{header, StatusCode};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, within, Visitor, WAIT};

const CLIENTS: u64 = 8;
const INCREMENTS_PER_CLIENT: u64 = 200;
/// The longest a whole run of concurrent writes may take.
const RUN_WAIT: Duration = Duration::from_secs(120);

#[actix_web::test]
async fn concurrent_http_and_socket_increments_of_one_session_add_up_exactly() {
    let app = spawn_app().await;
    let owner = app.visitor();
    assert_eq!(owner.get_index().await.status(), StatusCode::OK);
    let bystander = app.visitor();
    for expected in 1..=3 {
        assert_eq!(bystander.incr().await, expected);
    }
    let (mut bystander_socket, _) = bystander.connect_and_greet().await;

    // Eight browsers on one session, each with its own HTTP client and socket.
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let client = owner.at(&app.address);
        let (socket, greeting) = client.connect_and_greet().await;
        assert_eq!(greeting["count"], 0);
        clients.push((client, socket));
    }
    let total = CLIENTS * INCREMENTS_PER_CLIENT;

    // Each client alternates HTTP and socket increments: 100 frames per
    // socket, within its burst budget of 100, so none is rate-limited.
    let runs = clients.into_iter().map(|(client, socket)| async move {
        let (mut sink, mut frames) = socket.stream.split();
        let writes = async {
            let mut http_counts = Vec::new();
            for i in 0..INCREMENTS_PER_CLIENT {
                if i % 2 == 0 {
                    http_counts.push(client.incr().await);
                } else {
                    sink.send(Message::text(r#"{"event":"incr"}"#))
                        .await
                        .expect("send an incr frame");
                }
            }
            http_counts
        };
        let reads = async {
            let mut seen: Vec<u64> = Vec::new();
            // Pings do not count as progress: WAIT without a new count fails.
            let mut deadline = tokio::time::Instant::now() + WAIT;
            while seen.last() != Some(&total) {
                let next = tokio::time::timeout_at(deadline, frames.next())
                    .await
                    .unwrap_or_else(|_| {
                        panic!("no new count within {WAIT:?}; counts seen: {seen:?}")
                    });
                let text = match next {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    other => panic!("expected a text frame, got {other:?}"),
                };
                deadline = tokio::time::Instant::now() + WAIT;
                let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
                assert_eq!(frame["event"], "current count", "unexpected frame {frame}");
                let count = frame["data"].as_u64().expect("a count");
                if let Some(&last) = seen.last() {
                    assert!(count > last, "a socket saw {last} then {count}");
                }
                seen.push(count);
            }
            seen
        };
        tokio::join!(writes, reads)
    });
    let results = within(RUN_WAIT, "the increments and their counts", join_all(runs)).await;

    let mut http_counts = BTreeSet::new();
    for (counts, seen) in &results {
        assert_eq!(
            seen.last(),
            Some(&total),
            "every socket sees the final count"
        );
        for &count in counts {
            assert!((1..=total).contains(&count), "HTTP answered {count}");
            assert!(http_counts.insert(count), "two writers were given {count}");
        }
    }
    assert_eq!(http_counts.len() as u64, total / 2);
    assert_eq!(owner.incr().await, total + 1, "not one increment was lost");

    // The other session saw none of it.
    assert_eq!(bystander.incr().await, 4);
    let shown = within(
        WAIT,
        "the bystander's count",
        bystander_socket.expect_event("current count"),
    )
    .await;
    assert_eq!(shown, 4, "the bystander's socket saw only its own count");
}

#[actix_web::test]
async fn simultaneous_http_increments_each_get_their_own_count() {
    const REQUESTS: u64 = 100;
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.get_index().await;
    let (mut socket, _) = visitor.connect_and_greet().await;

    let answers = within(
        RUN_WAIT,
        "the increments",
        join_all((0..REQUESTS).map(|_| visitor.incr())),
    )
    .await;

    let answers: BTreeSet<u64> = answers.into_iter().collect();
    assert_eq!(answers, (1..=REQUESTS).collect::<BTreeSet<_>>());
    within(WAIT, "the final count", socket.wait_for_count(REQUESTS)).await;
    assert_eq!(visitor.incr().await, REQUESTS + 1);
}

#[actix_web::test]
async fn increments_racing_a_logout_never_bring_the_session_back() {
    const WRITERS: usize = 4;
    const WRITES_PER_WRITER: usize = 50;
    let app = spawn_app().await;
    let owner = app.visitor();
    owner.get_index().await;
    let (mut socket, _) = owner.connect_and_greet().await;
    let old_cookie = owner.cookie_header().expect("a cookie");
    let incr_url = format!("{}/incr", app.address);
    let http = reqwest::Client::builder()
        .timeout(WAIT)
        .build()
        .expect("an HTTP client");
    let post_with_old_cookie = || async {
        let response = http
            .post(&incr_url)
            .header(header::COOKIE, old_cookie.clone())
            .send()
            .await
            .expect("POST /incr");
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.expect("a body");
        body.parse::<u64>().expect("a count")
    };

    // Writers keep incrementing with the old cookie while the owner logs out
    // once the count is well under way.
    let highest = AtomicU64::new(0);
    let writers = join_all((0..WRITERS).map(|_| async {
        for _ in 0..WRITES_PER_WRITER {
            let count = post_with_old_cookie().await;
            highest.fetch_max(count, Ordering::Relaxed);
        }
    }));
    let logout = async {
        let deadline = tokio::time::Instant::now() + WAIT;
        while highest.load(Ordering::Relaxed) < 20 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the writers never got going"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let response = owner.post_logout().await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    };
    within(RUN_WAIT, "the writers and the logout", async {
        tokio::join!(writers, logout)
    })
    .await;

    // Every write has finished: the old key holds no session, so each
    // increment with it starts a new session of its own.
    assert_eq!(socket.expect_close(4000).await, "logout");
    assert_eq!(post_with_old_cookie().await, 1);
    assert_eq!(post_with_old_cookie().await, 1);
    let stale = Visitor::new(&app.address);
    stale
        .jar
        .add_cookie_str(old_cookie.to_str().expect("ASCII cookies"), &stale.base);
    let (_socket, greeting) = stale.connect_and_greet().await;
    assert_eq!(greeting["count"], 0);
}
