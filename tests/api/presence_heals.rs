//! Presence heals: whatever failed while Redis was away (here a leave that
//! could not reach it), a user with no open socket is announced offline
//! within `INSTANCE_TTL_SECS` plus the grace of Redis answering again, and a
//! user with an open socket is never dropped.

use std::time::{Duration, Instant};

use serde_json::Value;
use session_bridge::config::Config;

use crate::{
    helpers::{spawn_redis_app_with, wait_until, wait_until_within, TestApp, WAIT},
    redis_server::RedisServer,
};

const INSTANCE_TTL: Duration = Duration::from_secs(3);
const GRACE: Duration = Duration::from_secs(1);

fn small(config: &mut Config) {
    config.instance_ttl = INSTANCE_TTL;
    config.presence_grace = GRACE;
}

/// `GET /presence`, or `None` while the store cannot answer.
async fn online(app: &TestApp) -> Option<Vec<String>> {
    let response = reqwest::Client::new()
        .get(format!("{}/presence", app.address))
        .timeout(WAIT)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    let body: Value = response.json().await.ok()?;
    serde_json::from_value(body["online"].clone()).ok()
}

#[actix_web::test]
async fn a_socket_closed_while_redis_was_down_goes_offline_within_the_instance_ttl_and_grace() {
    let mut redis = RedisServer::start();
    let a = spawn_redis_app_with(&redis.url(), small).await;
    let b = spawn_redis_app_with(&redis.url(), small).await;
    let (alice, bob) = (a.visitor(), b.visitor());
    alice.login("alice").await;
    bob.login("bob").await;
    let (alice_socket, _) = alice.connect_to_lobby().await;
    let (_bob_socket, _) = bob.connect_to_lobby().await;
    wait_until("both online", || async {
        online(&b).await == Some(vec!["alice".to_owned(), "bob".to_owned()])
    })
    .await;

    redis.kill();
    // Alice's leave cannot reach Redis: it is lost.
    alice_socket.close().await;
    wait_until("alice's socket to leave the registry", || async {
        a.health().await.1["sockets"] == 0
    })
    .await;
    redis.restart();
    let back = Instant::now();

    // Every answer lists bob, whose socket stayed open; alice goes within
    // the contract's bound (plus a little for polling over HTTP).
    wait_until_within(
        INSTANCE_TTL + GRACE + Duration::from_millis(500),
        "alice to be announced offline",
        || async {
            match online(&b).await {
                None => false,
                Some(names) => {
                    assert!(names.contains(&"bob".to_owned()), "bob dropped: {names:?}");
                    names == ["bob"]
                }
            }
        },
    )
    .await;
    log::info!("alice offline {:?} after Redis came back", back.elapsed());
    assert_eq!(online(&a).await, Some(vec!["bob".to_owned()]));
}
