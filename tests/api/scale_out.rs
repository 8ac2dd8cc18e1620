//! Two instances on one Redis behave as one: a cookie from either works on
//! both, and every notification and disconnect reaches the session's sockets
//! on both.

use futures_util::future::join_all;

use crate::{
    helpers::{spawn_redis_app, TestApp, Visitor},
    redis_server::RedisServer,
};

/// Two instances on one private Redis (kept alive by the caller).
async fn two_instances() -> (RedisServer, TestApp, TestApp) {
    let redis = RedisServer::start();
    let a = spawn_redis_app(&redis.url()).await;
    let b = spawn_redis_app(&redis.url()).await;
    (redis, a, b)
}

#[actix_web::test]
async fn a_cookie_issued_by_one_instance_works_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let on_a = a.visitor();
    assert_eq!(on_a.incr().await, 1);

    let on_b = on_a.at(&b.address);

    assert_eq!(on_b.incr().await, 2);
    let (_socket, greeting) = on_b.connect_and_greet().await;
    assert_eq!(greeting["count"], 2);
}

#[actix_web::test]
async fn an_increment_on_one_instance_reaches_sockets_on_both_and_no_other_session() {
    let (_redis, a, b) = two_instances().await;
    let on_a = a.visitor();
    on_a.get_index().await;
    let on_b = on_a.at(&b.address);
    let (mut socket_a, _) = on_a.connect_and_greet().await;
    let (mut socket_b, _) = on_b.connect_and_greet().await;
    let stranger = b.visitor();
    let (mut stranger_socket, _) = stranger.connect_and_greet().await;

    assert_eq!(on_a.incr().await, 1);

    socket_a.wait_for_count(1).await;
    socket_b.wait_for_count(1).await;
    // The stranger's next frame is its own count, not the other session's.
    assert_eq!(stranger.incr().await, 1);
    stranger_socket.wait_for_count(1).await;
}

#[actix_web::test]
async fn a_socket_increment_on_one_instance_reaches_the_other() {
    let (_redis, a, b) = two_instances().await;
    let on_a = a.visitor();
    on_a.get_index().await;
    let (mut socket_a, _) = on_a.connect_and_greet().await;
    let (mut socket_b, _) = on_a.at(&b.address).connect_and_greet().await;

    socket_b.send_incr().await;

    socket_a.wait_for_count(1).await;
    socket_b.wait_for_count(1).await;
}

#[actix_web::test]
async fn a_logout_on_one_instance_closes_the_sessions_sockets_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let on_a = a.visitor();
    on_a.get_index().await;
    let (mut socket_b, _) = on_a.at(&b.address).connect_and_greet().await;

    assert_eq!(on_a.post_logout().await.status(), 204);

    assert_eq!(socket_b.expect_close(4000).await, "logout");
    b.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_login_on_one_instance_closes_the_old_keys_sockets_on_the_other() {
    let (_redis, a, b) = two_instances().await;
    let on_a = a.visitor();
    assert_eq!(on_a.incr().await, 1);
    let (mut socket_b, _) = on_a.at(&b.address).connect_and_greet().await;

    on_a.login("Ada").await;

    assert_eq!(socket_b.expect_close(4001).await, "session renewed");
    let (_socket, greeting) = on_a.at(&b.address).connect_and_greet().await;
    assert_eq!(
        greeting,
        serde_json::json!({"count": 1, "name": "Ada", "authenticated": true})
    );
}

#[actix_web::test]
async fn concurrent_increments_across_instances_are_never_lost() {
    const CLIENTS: usize = 6;
    const EACH: u64 = 100;
    let (_redis, a, b) = two_instances().await;
    let owner = a.visitor();
    owner.get_index().await;
    let clients: Vec<Visitor> = (0..CLIENTS)
        .map(|i| owner.at(if i % 2 == 0 { &a.address } else { &b.address }))
        .collect();
    let mut watchers = Vec::new();
    for client in &clients {
        watchers.push(client.connect_and_greet().await.0);
    }

    // Half of each client's increments over HTTP, half over its own socket
    // (50 frames each: within the per-socket budget, so none is dropped).
    let senders = join_all(clients.iter().map(|client| async move {
        let mut socket = client.connect_and_greet().await.0;
        for i in 0..EACH {
            if i % 2 == 0 {
                client.incr().await;
            } else {
                socket.send_incr().await;
            }
        }
        socket
    }))
    .await;

    // Every socket, on either instance, counts up to the exact total.
    let total = CLIENTS as u64 * EACH;
    join_all(
        senders
            .into_iter()
            .chain(watchers)
            .map(|mut socket| async move { socket.wait_for_count(total).await }),
    )
    .await;
    assert_eq!(owner.incr().await, total + 1);
}
