//! Redis outages: the app starts without Redis, answers 503 while it is
//! away, keeps its sockets open, and recovers by itself when it returns.

use std::time::Duration;

use reqwest::StatusCode;

use crate::{
    helpers::{spawn_redis_app, spawn_redis_app_with, wait_for_fanout, wait_until, TestApp},
    proxy::Proxy,
    redis_server::RedisServer,
};

/// Waits until `/healthz` answers `status`.
async fn wait_for_health(app: &TestApp, status: StatusCode) {
    wait_until(&format!("/healthz to answer {status}"), || async {
        app.health().await.0 == status
    })
    .await;
}

/// Increments over `visitor` until `socket` shows a count of at least the
/// last increment's: a notification published after the subscriber is back
/// (or the reload it triggers) reaches the socket.

#[actix_web::test]
async fn the_app_starts_without_redis_and_recovers_when_it_arrives() {
    let mut redis = RedisServer::start();
    redis.stop();
    let app = spawn_redis_app(&redis.url()).await;
    let visitor = app.visitor();

    let (status, health) = app.health().await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health["status"], "unavailable");
    assert_eq!(health["store"], "redis");
    let response = visitor.post_incr().await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = response.json().await.expect("a JSON error");
    assert!(body["error"].is_string());

    redis.restart();

    wait_for_health(&app, StatusCode::OK).await;
    wait_until("POST /incr to work again", || async {
        visitor.post_incr().await.status() == StatusCode::OK
    })
    .await;
}

#[actix_web::test]
async fn sockets_survive_an_outage_and_everything_recovers_after_it() {
    let mut redis = RedisServer::start();
    let fast_reload = |config: &mut session_bridge::config::Config| {
        config.reload_interval = Duration::from_secs(1);
    };
    let a = spawn_redis_app_with(&redis.url(), fast_reload).await;
    let b = spawn_redis_app_with(&redis.url(), fast_reload).await;
    let on_a = a.visitor();
    assert_eq!(on_a.incr().await, 1);
    let on_b = on_a.at(&b.address);
    let (mut socket_b, _) = on_b.connect_and_greet().await;

    redis.stop();
    wait_for_health(&a, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(
        on_a.post_incr().await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    // A socket increment fails with an error frame; the socket stays.
    socket_b.send_incr().await;
    assert_eq!(socket_b.expect_event("error").await["code"], "unavailable");
    redis.restart();

    wait_for_health(&a, StatusCode::OK).await;
    wait_for_health(&b, StatusCode::OK).await;
    wait_for_fanout(&on_a, &mut socket_b).await;
    assert_eq!(b.health().await.1["sockets"], 1);
}

#[actix_web::test]
async fn a_logout_missed_by_a_disconnected_instance_still_closes_its_sockets_with_4000() {
    let redis = RedisServer::start();
    let a = spawn_redis_app(&redis.url()).await;
    // B reaches Redis through a proxy the test can cut.
    let proxy = Proxy::start(
        redis.url()["redis://".len()..]
            .trim_end_matches("/0")
            .parse()
            .expect("a socket address"),
    )
    .await;
    let b = spawn_redis_app(&format!("redis://127.0.0.1:{}/0", proxy.port())).await;
    let on_a = a.visitor();
    on_a.get_index().await;
    let (mut socket_b, _) = on_a.at(&b.address).connect_and_greet().await;
    wait_for_health(&b, StatusCode::OK).await;

    proxy.cut();
    wait_for_health(&b, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(on_a.post_logout().await.status(), StatusCode::NO_CONTENT);
    proxy.restore();

    // B's subscriber comes back, its sockets reload and find the session
    // remembered as logged out: 4000, not 4001, so the client stays away.
    assert_eq!(socket_b.expect_close(4000).await, "logout");
    b.wait_for_counts(0, 0).await;
}
