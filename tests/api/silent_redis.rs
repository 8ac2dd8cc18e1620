//! Redis paths that go silent: a connection that stops answering without
//! being closed is replaced, and everything is back to normal within 20 s of
//! the fault while new connections to Redis work. The proxy freezes the
//! connections it carries (nothing forwarded, nothing closed) and keeps
//! forwarding new ones.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    helpers::{spawn_redis_app, wait_until_within, Socket, TestApp, WAIT},
    proxy::{Frozen, Proxy},
    redis_server::RedisServer,
};

/// The contract's bound on recovery.
const RECOVERY: Duration = Duration::from_secs(20);

/// A private Redis, a proxy to it, and an instance that reaches Redis only
/// through the proxy (all kept alive by the caller).
pub(crate) async fn behind_proxy() -> (RedisServer, Proxy, TestApp) {
    let redis = RedisServer::start();
    let target = redis.url()["redis://".len()..]
        .trim_end_matches("/0")
        .parse()
        .expect("a socket address");
    let proxy = Proxy::start(target).await;
    let app = spawn_redis_app(&format!("redis://127.0.0.1:{}/0", proxy.port())).await;
    wait_until_within(WAIT, "/healthz to answer 200", || async {
        app.health().await.0 == StatusCode::OK
    })
    .await;
    (redis, proxy, app)
}

/// Sends chats through `socket` until one of them comes back to it, each
/// given `patience`; fails after `bound`.
async fn chat_until_delivered(socket: &mut Socket, bound: Duration, patience: Duration) {
    let deadline = tokio::time::Instant::now() + bound;
    for attempt in 0u32.. {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no chat was delivered within {bound:?}"
        );
        let text = format!("are you there? {attempt}");
        socket.send_chat(&text).await;
        let heard = tokio::time::timeout(patience, async {
            loop {
                let frame: Value = socket.next_event().await;
                if frame["event"] == "chat" && frame["data"]["text"] == text.as_str() {
                    return;
                }
            }
        })
        .await;
        if heard.is_ok() {
            return;
        }
    }
}

/// Waits, up to `bound` (longer than one frame's wait), for `socket` to
/// show `count`, skipping other frames.
async fn shows_count_within(socket: &mut Socket, count: u64, bound: Duration) {
    let deadline = tokio::time::Instant::now() + bound;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.stream.next())
            .await
            .unwrap_or_else(|_| panic!("count {count} not shown within {bound:?}"));
        match next {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(&text).expect("frames are JSON");
                if frame["event"] == "current count" && frame["data"] == count {
                    return;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

#[actix_web::test]
async fn a_command_connection_that_goes_silent_is_replaced_within_20_s() {
    let (_redis, proxy, app) = behind_proxy().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);

    proxy.freeze(Frozen::Commands);

    wait_until_within(RECOVERY, "POST /incr to answer 200 again", || async {
        visitor.post_incr().await.status() == StatusCode::OK
    })
    .await;
    wait_until_within(RECOVERY, "/healthz to answer 200 again", || async {
        app.health().await.0 == StatusCode::OK
    })
    .await;
    // And it stays so: the session kept its count through the fault.
    let before = visitor.incr().await;
    assert!(before >= 2, "the session was lost: count {before}");
    assert_eq!(visitor.incr().await, before + 1);
    assert_eq!(app.health().await.0, StatusCode::OK);
}

#[actix_web::test]
async fn a_subscription_that_goes_silent_is_replaced_and_chat_flows_within_20_s() {
    let (_redis, proxy, app) = behind_proxy().await;
    let visitor = app.visitor();
    visitor.login("alice").await;
    let (mut socket, _) = visitor.connect_to_lobby().await;
    // With Redis even the sender's own chat comes through the subscription.
    chat_until_delivered(&mut socket, WAIT, WAIT).await;

    proxy.freeze(Frozen::Subscriptions);

    chat_until_delivered(&mut socket, RECOVERY, Duration::from_millis(500)).await;
    // Live again, not just caught up by the resync.
    chat_until_delivered(&mut socket, WAIT, WAIT).await;
    assert_eq!(app.health().await.0, StatusCode::OK);
}

#[actix_web::test]
async fn everything_recovers_within_20_s_when_every_redis_connection_goes_silent() {
    let (_redis, proxy, app) = behind_proxy().await;
    let visitor = app.visitor();
    visitor.login("bob").await;
    let (mut socket, _) = visitor.connect_to_lobby().await;
    chat_until_delivered(&mut socket, WAIT, WAIT).await;

    proxy.freeze(Frozen::All);

    chat_until_delivered(&mut socket, RECOVERY, Duration::from_millis(500)).await;
    wait_until_within(RECOVERY, "POST /incr to answer 200 again", || async {
        visitor.post_incr().await.status() == StatusCode::OK
    })
    .await;
    assert_eq!(app.health().await.0, StatusCode::OK);
}

#[actix_web::test]
async fn an_instance_whose_subscription_goes_silent_resyncs_its_sockets_and_fans_out_again() {
    let (redis, proxy, b) = behind_proxy().await;
    let a = spawn_redis_app(&redis.url()).await;
    let on_a = a.visitor();
    assert_eq!(on_a.incr().await, 1);
    let (mut socket_b, _) = on_a.at(&b.address).connect_and_greet().await;
    assert_eq!(on_a.incr().await, 2);
    socket_b.wait_for_count(2).await;

    proxy.freeze(Frozen::Subscriptions);
    // Published while B's subscription is silent: B misses it...
    assert_eq!(on_a.incr().await, 3);
    // ...and its socket catches up when the subscription is replaced (the
    // sockets' own reload comes only every 30 s).
    shows_count_within(&mut socket_b, 3, RECOVERY).await;
    // Live fan-out again.
    assert_eq!(on_a.incr().await, 4);
    socket_b.wait_for_count(4).await;
    assert_eq!(b.health().await.0, StatusCode::OK);
}
