//! Session lifetime: an idle session expires after `SESSION_TTL_SECS`; writes
//! (HTTP or socket) restart that lifetime, reads (pages, socket reloads) do
//! not; a socket notices a session that is gone at its next reload and
//! closes with 4001; no write brings an expired session back.

use std::time::Duration;

use reqwest::{header, StatusCode};
use serde_json::json;

use crate::helpers::{spawn_app_with, wait_until_within, within, Visitor, WAIT};

/// How many writes the lifetime tests make, one every [`WRITE_EVERY`]:
/// 24 × 250 ms spans twice the 3 s lifetime they use.
const WRITES: u64 = 24;
const WRITE_EVERY: Duration = Duration::from_millis(250);
const LIFETIME: Duration = Duration::from_secs(3);

/// The longest a test waits for a session to expire (lifetime, plus a
/// reload interval, plus room for a slow machine).
const EXPIRY_WAIT: Duration = Duration::from_secs(30);

#[actix_web::test]
async fn an_idle_socket_is_closed_with_4001_when_its_session_expires() {
    let app = spawn_app_with(|config| {
        config.session_ttl = Duration::from_secs(2);
        config.reload_interval = Duration::from_secs(1);
    })
    .await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let (mut socket, greeting) = visitor.connect_and_greet().await;
    assert_eq!(greeting["count"], 1);

    let reason = socket.expect_close(4001).await;

    assert_eq!(reason, "session expired");
    app.wait_for_counts(0, 0).await;

    // The reconnect carries the dead cookie and so starts a fresh session.
    let (mut again, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 0, "name": null, "authenticated": false})
    );
    assert_eq!(
        visitor.incr().await,
        1,
        "HTTP uses the new session's cookie"
    );
    within(WAIT, "count 1", again.wait_for_count(1)).await;
}

#[actix_web::test]
async fn http_writes_restart_the_idle_lifetime_and_reads_do_not() {
    let app = spawn_app_with(|config| {
        config.session_ttl = LIFETIME;
        config.reload_interval = Duration::from_secs(1);
    })
    .await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let (mut socket, _) = visitor.connect_and_greet().await;

    // Writes for twice the lifetime: the session lives on, count unbroken.
    let writes = async {
        for expected in 2..=WRITES + 1 {
            tokio::time::sleep(WRITE_EVERY).await;
            assert_eq!(
                visitor.incr().await,
                expected,
                "the session survived while written"
            );
        }
    };
    within(EXPIRY_WAIT, "the writes and their counts", async {
        tokio::join!(writes, socket.wait_for_count(WRITES + 1))
    })
    .await;

    // Then only reads (pages, and the socket's own reloads): it expires.
    let reader = fixed_cookie_client(&visitor);
    let reads = async {
        loop {
            let page = reader
                .get(format!("{}/", app.address))
                .send()
                .await
                .expect("GET /");
            assert_eq!(page.status(), StatusCode::OK);
            tokio::time::sleep(WRITE_EVERY).await;
        }
    };
    let reason = tokio::select! {
        reason = socket.expect_close(4001) => reason,
        () = reads => unreachable!("the reads never end"),
    };
    assert_eq!(reason, "session expired");
    assert_eq!(visitor.incr().await, 1, "the old cookie's session is gone");
}

#[actix_web::test]
async fn socket_writes_restart_the_idle_lifetime_and_reloads_do_not() {
    let app = spawn_app_with(|config| {
        config.session_ttl = LIFETIME;
        config.reload_interval = Duration::from_secs(1);
    })
    .await;
    let visitor = app.visitor();
    let (mut socket, greeting) = visitor.connect_and_greet().await;
    assert_eq!(greeting["count"], 0);

    for expected in 1..=WRITES {
        tokio::time::sleep(WRITE_EVERY).await;
        socket.send_incr().await;
        within(WAIT, "the new count", socket.wait_for_count(expected)).await;
    }

    // Now the socket only reloads, every second: the session expires.
    let reason = socket.expect_close(4001).await;
    assert_eq!(reason, "session expired");
    assert_eq!(visitor.incr().await, 1, "the old cookie's session is gone");
}

#[actix_web::test]
async fn page_views_do_not_restart_the_idle_lifetime() {
    let app = spawn_app_with(|config| {
        config.session_ttl = Duration::from_secs(2);
    })
    .await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let reader = fixed_cookie_client(&visitor);
    let get_index = || async {
        let page = reader
            .get(format!("{}/", app.address))
            .send()
            .await
            .expect("GET /");
        assert_eq!(page.status(), StatusCode::OK);
        page.headers().contains_key(header::SET_COOKIE)
    };
    assert!(
        !get_index().await,
        "a page of a live session keeps its cookie"
    );

    // Were page views to extend the session, it would never end.
    wait_until_within(EXPIRY_WAIT, "the page to start a new session", || async {
        let started_anew = get_index().await;
        if !started_anew {
            tokio::time::sleep(WRITE_EVERY).await;
        }
        started_anew
    })
    .await;

    assert_eq!(visitor.incr().await, 1, "the old cookie's session is gone");
}

#[actix_web::test]
async fn a_session_deleted_from_the_store_closes_its_sockets_at_the_next_reload() {
    let app = spawn_app_with(|config| {
        config.reload_interval = Duration::from_secs(1);
    })
    .await;
    let visitor = Visitor::new(&app.address);
    let (mut first, _) = visitor.connect_and_greet().await;
    let (mut second, _) = visitor.connect_and_greet().await;
    assert_eq!(visitor.incr().await, 1);
    within(WAIT, "count 1", first.wait_for_count(1)).await;
    within(WAIT, "count 1", second.wait_for_count(1)).await;
    let id = app.session_id(&visitor);

    // Behind the app's back: no logout, no fan-out.
    app.store.delete(&id).await.expect("the store deletes");

    assert_eq!(first.expect_close(4001).await, "session expired");
    assert_eq!(second.expect_close(4001).await, "session expired");
    let (_socket, greeting) = visitor.connect_and_greet().await;
    assert_eq!(greeting["count"], 0, "a reconnect starts a new session");
}

#[actix_web::test]
async fn a_write_after_expiry_does_not_bring_the_session_back() {
    let app = spawn_app_with(|config| {
        config.session_ttl = Duration::from_secs(1);
        // No reload within the test: only the write can notice.
        config.reload_interval = Duration::from_secs(3600);
    })
    .await;
    let visitor = Visitor::new(&app.address);
    let (mut socket, _) = visitor.connect_and_greet().await;
    socket.send_incr().await;
    within(WAIT, "count 1", socket.wait_for_count(1)).await;
    let id = app.session_id(&visitor);

    // Loading does not extend the lifetime, so this ends.
    wait_until_within(
        EXPIRY_WAIT,
        "the session to expire in the store",
        || async {
            app.store
                .load(&id)
                .await
                .expect("the store loads")
                .is_none()
        },
    )
    .await;

    socket.send_incr().await;
    assert_eq!(socket.expect_close(4001).await, "session expired");
    assert_eq!(visitor.incr().await, 1, "HTTP starts a new session");
    assert!(
        app.store
            .load(&id)
            .await
            .expect("the store loads")
            .is_none(),
        "neither write brought the expired session back"
    );
}

/// An HTTP client that always sends the visitor's current cookie and never
/// takes a new one (so a read that starts a new session changes nothing).
fn fixed_cookie_client(visitor: &Visitor) -> reqwest::Client {
    let cookie = visitor.cookie_header().expect("the visitor has a cookie");
    reqwest::Client::builder()
        .default_headers(header::HeaderMap::from_iter([(header::COOKIE, cookie)]))
        .timeout(WAIT)
        .build()
        .expect("an HTTP client")
}
