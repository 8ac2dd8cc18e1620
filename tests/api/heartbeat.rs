//! The heartbeat: the server pings every 5 s and drops a peer silent for 10 s.
//!
//! tokio-tungstenite answers a ping only while the stream is read, so a
//! socket that is never read is a peer that never answers.

use std::time::Duration;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, wait_until_within, within, WAIT};

/// A silent peer is dropped after 10 to 15 s (pings every 5 s); this bound
/// leaves room for a slow machine.
const HEARTBEAT_WAIT: Duration = Duration::from_secs(30);

#[actix_web::test]
async fn a_peer_that_never_answers_pings_is_dropped() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let (quiet, _) = visitor.connect_and_greet().await;
    app.wait_for_counts(1, 1).await;

    // `quiet` is kept open but never read again, so it never pongs.
    wait_until_within(
        HEARTBEAT_WAIT,
        "the silent peer to leave the registry",
        || async {
            let (_, health) = app.health().await;
            health["sockets"] == 0 && health["sessions"] == 0
        },
    )
    .await;

    drop(quiet);
    // The session outlives its socket: a new socket finds it.
    let (_socket, greeting) = visitor.connect_and_greet().await;
    assert_eq!(greeting["count"], 0);
    app.wait_for_counts(1, 1).await;
}

#[actix_web::test]
async fn a_peer_that_answers_pings_stays_connected() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let (mut socket, _) = visitor.connect_and_greet().await;

    // Three pings span more than the 10 s timeout; reading answers each.
    let mut pings = 0;
    let deadline = tokio::time::Instant::now() + HEARTBEAT_WAIT;
    while pings < 3 {
        let next = tokio::time::timeout_at(deadline, socket.stream.next())
            .await
            .expect("three pings within the wait");
        match next {
            Some(Ok(Message::Ping(_))) => pings += 1,
            other => panic!("expected only pings from an idle socket, got {other:?}"),
        }
    }

    app.wait_for_counts(1, 1).await;
    socket.send_incr().await;
    within(WAIT, "count 1", socket.wait_for_count(1)).await;
}
