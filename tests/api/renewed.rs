//! Ended and renewed keys: a key renewed by a login is answered with 409 for
//! a while instead of starting a session whose cookie would overwrite the
//! login's; a logged-out session is remembered, so a socket that missed the
//! logout closes with 4000.

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use session_bridge::config::SocketAuth;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, Visitor};

/// A visitor logged in as Ada, and a visitor still holding the key from
/// before the login.
async fn renewed(app: &TestApp) -> (Visitor, Visitor) {
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let old = visitor.at(&app.address);
    visitor.login("Ada").await;
    (visitor, old)
}

fn sets_a_cookie(response: &reqwest::Response) -> bool {
    response.headers().contains_key(header::SET_COOKIE)
}

async fn assert_renewed(response: reqwest::Response, what: &str) {
    assert_eq!(response.status(), StatusCode::CONFLICT, "{what}");
    assert!(!sets_a_cookie(&response), "{what}: no Set-Cookie");
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body, json!({"error": "session renewed"}), "{what}");
}

#[actix_web::test]
async fn a_renewed_key_gets_409_from_incr_and_login_without_a_cookie() {
    let app = spawn_app().await;
    let (visitor, old) = renewed(&app).await;

    assert_renewed(old.post_incr().await, "POST /incr").await;
    assert_renewed(old.post_login(&json!({"name": "Eve"})).await, "POST /login").await;
    // The login's session is untouched.
    assert_eq!(visitor.incr().await, 2);
}

#[actix_web::test]
async fn a_renewed_key_gets_409_at_the_handshake_in_both_auth_modes() {
    for auth in [SocketAuth::Session, SocketAuth::Login] {
        let app = spawn_app_with(|config| config.socket_auth = auth).await;
        let (_, old) = renewed(&app).await;
        assert_eq!(
            old.try_connect(&[]).await.err(),
            Some(StatusCode::CONFLICT),
            "{auth:?}"
        );
    }
}

#[actix_web::test]
async fn the_page_renders_for_a_renewed_key_without_starting_a_session() {
    let app = spawn_app().await;
    let (_, old) = renewed(&app).await;

    let response = old.get_index().await;

    assert_eq!(response.status(), StatusCode::OK);
    assert!(!sets_a_cookie(&response), "no new session, no cookie");
}

#[actix_web::test]
async fn logout_treats_a_renewed_key_as_no_session() {
    let app = spawn_app().await;
    let (visitor, old) = renewed(&app).await;

    assert_eq!(old.post_logout().await.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        old.post_logout_everywhere().await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(visitor.incr().await, 2, "the login's session lives on");
}
