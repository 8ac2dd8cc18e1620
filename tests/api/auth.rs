//! Who may open a socket: anyone under `SOCKET_AUTH=session`, only a session
//! that has logged in under `SOCKET_AUTH=login`.

use reqwest::StatusCode;
use session_bridge::config::SocketAuth;

use crate::helpers::{spawn_app, spawn_app_with, TestApp};

async fn spawn_app_requiring_login() -> TestApp {
    spawn_app_with(|config| config.socket_auth = SocketAuth::Login).await
}

#[actix_web::test]
async fn under_session_auth_a_visitor_without_a_cookie_gets_a_socket_and_a_cookie() {
    let app = spawn_app_with(|config| config.socket_auth = SocketAuth::Session).await;
    let visitor = app.visitor();
    assert!(visitor.cookie_header().is_none());

    let (mut socket, greeting) = visitor.connect_and_greet().await;

    assert_eq!(
        greeting,
        serde_json::json!({"count": 0, "name": null, "authenticated": false})
    );
    assert!(
        visitor.cookie_header().is_some(),
        "the 101 response set the cookie"
    );
    // A second socket with that cookie shares the session.
    let (mut sibling, _) = visitor.connect_and_greet().await;
    socket.send_incr().await;
    socket.wait_for_count(1).await;
    sibling.wait_for_count(1).await;
}

#[actix_web::test]
async fn session_auth_is_the_default() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    let (_, greeting) = visitor.connect_and_greet().await;

    assert_eq!(greeting["authenticated"], false);
}

#[actix_web::test]
async fn under_login_auth_a_visitor_without_a_cookie_gets_401_and_no_cookie() {
    let app = spawn_app_requiring_login().await;
    let visitor = app.visitor();

    let result = visitor.try_connect(&[]).await;

    assert_eq!(result.err(), Some(StatusCode::UNAUTHORIZED));
    assert!(
        visitor.cookie_header().is_none(),
        "a refused handshake sets no cookie"
    );
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn under_login_auth_a_session_that_has_not_logged_in_gets_401() {
    let app = spawn_app_requiring_login().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    visitor.get_index().await;

    let result = visitor.try_connect(&[]).await;

    assert_eq!(result.err(), Some(StatusCode::UNAUTHORIZED));
    assert_eq!(visitor.incr().await, 2, "the session is untouched");
}

#[actix_web::test]
async fn under_login_auth_a_tampered_cookie_gets_401() {
    let app = spawn_app_requiring_login().await;
    let visitor = app.visitor();
    visitor.login("Ada").await;
    let cookie = visitor.cookie_header().expect("a cookie");
    let tampered = cookie
        .to_str()
        .expect("ASCII")
        .replace("session=", "session=AAAA");
    let stranger = app.visitor();
    stranger.jar.add_cookie_str(&tampered, &stranger.base);

    let result = stranger.try_connect(&[]).await;

    assert_eq!(result.err(), Some(StatusCode::UNAUTHORIZED));
}

#[actix_web::test]
async fn under_login_auth_a_logged_in_session_gets_a_socket_greeting_with_its_name() {
    let app = spawn_app_requiring_login().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    assert_eq!(
        visitor.try_connect(&[]).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );

    visitor.login("Ada").await;
    let (mut socket, greeting) = visitor.connect_and_greet().await;

    assert_eq!(
        greeting,
        serde_json::json!({"count": 1, "name": "Ada", "authenticated": true})
    );
    socket.send_incr().await;
    socket.wait_for_count(2).await;
    assert_eq!(visitor.incr().await, 3);
    socket.wait_for_count(3).await;
}

#[actix_web::test]
async fn under_login_auth_a_login_without_a_prior_session_opens_sockets() {
    let app = spawn_app_requiring_login().await;
    let visitor = app.visitor();

    visitor.login("Grace").await;
    let (_, greeting) = visitor.connect_and_greet().await;

    assert_eq!(
        greeting,
        serde_json::json!({"count": 0, "name": "Grace", "authenticated": true})
    );
}

#[actix_web::test]
async fn under_login_auth_a_logged_out_session_gets_401_again() {
    let app = spawn_app_requiring_login().await;
    let visitor = app.visitor();
    visitor.login("Ada").await;
    let (mut socket, _) = visitor.connect_and_greet().await;
    let old_cookie = visitor.at(&app.address);

    let response = visitor.post_logout().await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    assert_eq!(socket.expect_close(4000).await, "logout");
    assert_eq!(
        visitor.try_connect(&[]).await.err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    assert_eq!(
        old_cookie.try_connect(&[]).await.err(),
        Some(StatusCode::UNAUTHORIZED),
        "the old cookie counts as no session"
    );
}

#[actix_web::test]
async fn under_login_auth_sockets_closed_by_a_renewal_reconnect_with_the_new_cookie() {
    let app = spawn_app_requiring_login().await;
    let visitor = app.visitor();
    visitor.login("Ada").await;
    let (mut socket, _) = visitor.connect_and_greet().await;
    let old_cookie = visitor.at(&app.address);

    visitor.login("Lovelace").await;

    assert_eq!(socket.expect_close(4001).await, "session renewed");
    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        serde_json::json!({"count": 0, "name": "Lovelace", "authenticated": true})
    );
    assert_eq!(
        old_cookie.try_connect(&[]).await.err(),
        Some(StatusCode::CONFLICT),
        "the key from before the renewal is answered as renewed"
    );
}
