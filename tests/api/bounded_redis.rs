//! Redis at rest and at work: every step bounded however many sessions one
//! name has, every key expiring by itself, no session key anywhere in Redis,
//! and a renewal remembered in the same step as it happens.

use std::time::{Duration, Instant};

use futures_util::{stream, StreamExt};
use redis::{aio::MultiplexedConnection, AsyncCommands, Value as RedisValue};
use reqwest::{header, StatusCode};
use serde_json::json;
use session_bridge::session::SessionData;

use crate::{
    helpers::{spawn_redis_app, Visitor},
    redis_server::RedisServer,
};

/// The test instances' key prefix (see `spawn_redis_app`).
const PREFIX: &str = "test:";

async fn connect(redis: &RedisServer) -> MultiplexedConnection {
    redis::Client::open(redis.url())
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("the test connects to Redis")
}

/// The entries of SLOWLOG that are our scripts (EVAL, EVALSHA), each with
/// its duration (µs) and arguments, for the failure message.
async fn slow_scripts(redis: &mut MultiplexedConnection) -> Vec<String> {
    let entries: Vec<RedisValue> = redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(1000)
        .query_async(redis)
        .await
        .expect("SLOWLOG GET");
    entries
        .into_iter()
        .map(|entry| format!("{entry:?}"))
        .filter(|entry| entry.to_ascii_lowercase().contains("eval"))
        .collect()
}

#[actix_web::test]
async fn with_20000_sessions_under_one_name_login_and_each_step_of_logout_everywhere_stay_under_10_ms(
) {
    let redis = RedisServer::start();
    let app = spawn_redis_app(&redis.url()).await;
    let mut direct = connect(&redis).await;

    // The sessions are started as a cookie-less `POST /login` starts them
    // (the app's own store call), many at a time: 20,000 HTTP logins would
    // add nothing but time.
    let started = Instant::now();
    let victim = SessionData {
        count: 0,
        name: Some("victim".to_owned()),
        authenticated: true,
    };
    let created = stream::iter(0..20_000)
        .map(|_| {
            app.store
                .create(victim.to_state(), Duration::from_secs(3600))
        })
        .buffer_unordered(64)
        .filter(|result| std::future::ready(result.is_ok()))
        .count()
        .await;
    assert_eq!(created, 20_000);
    log::info!("20,000 sessions in {:?}", started.elapsed());
    let index = format!("{PREFIX}user-sessions:victim");
    let members: usize = direct.zcard(&index).await.expect("ZCARD");
    assert_eq!(members, 20_000);

    redis::cmd("CONFIG")
        .arg("SET")
        .arg("slowlog-log-slower-than")
        .arg(10_000)
        .query_async::<()>(&mut direct)
        .await
        .expect("CONFIG SET");
    redis::cmd("SLOWLOG")
        .arg("RESET")
        .query_async::<()>(&mut direct)
        .await
        .expect("SLOWLOG RESET");

    // A cookie-less login, then a login that renews: both index the name.
    let visitor = app.visitor();
    visitor.login("victim").await;
    visitor.login("victim").await;
    assert_eq!(visitor.incr().await, 1);
    let response = visitor.post_logout_everywhere().await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(slow_scripts(&mut direct).await, Vec::<String>::new());
    let left: bool = direct.exists(&index).await.expect("EXISTS");
    assert!(!left, "the index is emptied");
    let sessions: Vec<String> = direct
        .keys(format!("{PREFIX}session:*"))
        .await
        .expect("KEYS");
    assert!(sessions.is_empty(), "{} sessions left", sessions.len());
    let gone: Vec<String> = direct.keys(format!("{PREFIX}gone:*")).await.expect("KEYS");
    assert!(gone.len() >= 20_001, "each remembered as logged out");
}

/// Every key, member, field and value in Redis, as text.
async fn dump(redis: &mut MultiplexedConnection) -> Vec<(String, String)> {
    let keys: Vec<String> = redis.keys("*").await.expect("KEYS");
    let mut out = Vec::new();
    for key in keys {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(redis)
            .await
            .expect("TYPE");
        let content: Vec<String> = match kind.as_str() {
            "string" => vec![redis.get(&key).await.expect("GET")],
            "set" => redis.smembers(&key).await.expect("SMEMBERS"),
            "zset" => redis.zrange(&key, 0, -1).await.expect("ZRANGE"),
            "hash" => {
                let pairs: Vec<(String, String)> = redis.hgetall(&key).await.expect("HGETALL");
                pairs.into_iter().flat_map(|(f, v)| [f, v]).collect()
            }
            "list" => redis.lrange(&key, 0, -1).await.expect("LRANGE"),
            other => vec![format!("<{other}>")],
        };
        out.push((key, content.join("\n")));
    }
    out
}

#[actix_web::test]
async fn redis_holds_no_session_key_and_every_session_key_expires_by_itself() {
    let redis = RedisServer::start();
    let app = spawn_redis_app(&redis.url()).await;
    let mut direct = connect(&redis).await;
    let mut keys = Vec::new();

    let (anonymous, alice, bob) = (app.visitor(), app.visitor(), app.visitor());
    assert_eq!(anonymous.incr().await, 1);
    keys.push(app.session_id(&anonymous));
    alice.incr().await;
    keys.push(app.session_id(&alice));
    alice.login("alice").await;
    keys.push(app.session_id(&alice));
    alice.incr().await;
    let mut socket = alice.connect().await;
    socket.greeting().await;
    bob.login("bob").await;
    keys.push(app.session_id(&bob));
    let renewed_bob = bob.at(&app.address);
    bob.login("bob").await;
    keys.push(app.session_id(&bob));
    let _ = renewed_bob.post_incr().await;
    assert_eq!(bob.post_logout().await.status(), StatusCode::NO_CONTENT);

    for (key, content) in dump(&mut direct).await {
        for id in &keys {
            assert!(!key.contains(id.as_str()), "a session key in {key}");
            assert!(
                !content.contains(id.as_str()),
                "a session key in the content of {key}"
            );
        }
        // Per-session, per-user and per-instance keys must expire by
        // themselves; the lobby and presence's few global keys are app-wide
        // (see the notes).
        if [
            "session:",
            "user-sessions:",
            "gone:",
            "presence:sockets:",
            "presence:at:",
            "presence:instance:",
            "presence:alive:",
        ]
        .iter()
        .any(|kind| key.starts_with(&format!("{PREFIX}{kind}")))
        {
            let ttl: i64 = direct.pttl(&key).await.expect("PTTL");
            assert!(ttl > 0, "{key} has no expiry ({ttl})");
        }
    }
    socket.close().await;
}

#[actix_web::test]
async fn requests_with_the_old_key_during_a_login_never_start_a_session_on_redis() {
    let redis = RedisServer::start();
    let app = spawn_redis_app(&redis.url()).await;
    for round in 0..10 {
        let visitor = app.visitor();
        assert_eq!(visitor.incr().await, 1);
        let olds: Vec<Visitor> = (0..20).map(|_| visitor.at(&app.address)).collect();
        let body = json!({"name": "Ada"});
        let login = visitor.post_login(&body);
        // Half increment, half log in again with the old key.
        let hammer = stream::iter(olds.iter().enumerate())
            .map(|(i, old)| async move {
                match i % 2 {
                    0 => old.post_incr().await,
                    _ => old.post_login(&json!({"name": "Eve"})).await,
                }
            })
            .buffer_unordered(20)
            .collect::<Vec<_>>();
        let (login, answers) = tokio::join!(login, hammer);
        let mut logins = usize::from(login.status() == StatusCode::NO_CONTENT);
        if login.status() != StatusCode::NO_CONTENT {
            assert_eq!(login.status(), StatusCode::CONFLICT, "round {round}");
        }
        for answer in answers {
            let status = answer.status();
            // An increment before the renewal answers 200, and so may one
            // login (the one that renews first): its cookie is for the
            // session's own renewal, never for a session started anew.
            if status == StatusCode::NO_CONTENT {
                logins += 1;
                continue;
            }
            assert!(
                status == StatusCode::OK || status == StatusCode::CONFLICT,
                "round {round}: {status}"
            );
            assert!(
                !answer.headers().contains_key(header::SET_COOKIE),
                "round {round}: a request with the old key got a new session ({status})"
            );
        }
        assert_eq!(logins, 1, "round {round}: exactly one login renews the key");
    }
}
