//! The embedded store's eviction order under a flood (`MAX_SESSIONS`):
//! sessions with an open socket go last, so a flood of cookie-less requests
//! never evicts them.

use serde_json::json;

use crate::helpers::{spawn_app_with, TestApp};

#[actix_web::test]
async fn a_flood_of_cookie_less_logins_and_incrs_never_evicts_a_session_with_an_open_socket() {
    let app = spawn_app_with(|config| config.max_sessions = 100).await;
    let victim = app.visitor();
    victim.login("victim").await;
    assert_eq!(victim.incr().await, 1);
    let (mut socket, _) = victim.connect_and_greet().await;
    // An anonymous session with a socket, too: pinned beats anonymous.
    let anonymous = app.visitor();
    assert_eq!(anonymous.incr().await, 1);
    let (_anonymous_socket, _) = anonymous.connect_and_greet().await;

    // 150 logged-in and 50 anonymous sessions: twice the capacity.
    flood(&app, 150, true).await;

    assert_eq!(victim.incr().await, 2, "the victim's session survived");
    socket.wait_for_count(2).await;
    assert_eq!(anonymous.incr().await, 2, "so did the anonymous one");
}

#[actix_web::test]
async fn once_its_socket_closed_a_session_is_evicted_like_any_other() {
    let app = spawn_app_with(|config| config.max_sessions = 100).await;
    let visitor = app.visitor();
    visitor.login("victim").await;
    let (socket, _) = visitor.connect_and_greet().await;
    socket.close().await;
    app.wait_for_counts(0, 0).await;

    flood(&app, 150, false).await;

    // Evicted: the cookie now counts as no session, so a new one starts.
    assert_eq!(visitor.incr().await, 1);
}

/// `logins` cookie-less logins (each a new session), and with `anonymous`
/// one cookie-less `POST /incr` for every third of them.
async fn flood(app: &TestApp, logins: usize, anonymous: bool) {
    for round in 0..logins {
        let response = app
            .visitor()
            .post_login(&json!({"name": format!("flood{round}")}))
            .await;
        assert!(response.status().is_success(), "{}", response.status());
        if anonymous && round % 3 == 0 {
            assert_eq!(app.visitor().incr().await, 1);
        }
    }
}
