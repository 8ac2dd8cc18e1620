//! `POST /login`: names the session, keeps its data, renews its key and closes
//! the sockets opened under the old key with 4001.

use reqwest::{header, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Visitor};

/// `POST /login` with a raw body and content type.
async fn post_login_raw(visitor: &Visitor, content_type: &str, body: &'static str) -> Response {
    visitor
        .http
        .post(visitor.base.join("/login").expect("a valid path"))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .expect("POST /login")
}

/// Checks a 400 with a JSON `{"error": "<non-empty string>"}` body.
async fn assert_bad_request(response: Response, what: &str) {
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{what}");
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "{what}: a refused login sets no cookie"
    );
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .unwrap_or_default();
    assert!(
        content_type.starts_with("application/json"),
        "{what}: content type {content_type:?}"
    );
    let body: Value = response.json().await.expect("a JSON body");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(!error.is_empty(), "{what}: body {body}");
}

/// The `session` cookie's `Set-Cookie` headers in `response`.
fn session_set_cookies(response: &Response) -> Vec<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .filter(|value| value.starts_with("session="))
        .collect()
}

#[actix_web::test]
async fn login_answers_204_and_the_session_is_authenticated_with_the_name() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.get_index().await;

    let response = visitor.post_login(&json!({"name": "Ada"})).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 0, "name": "Ada", "authenticated": true})
    );
}

#[actix_web::test]
async fn the_name_is_trimmed() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    visitor.login("  Ada  ").await;

    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(greeting["name"], "Ada");
}

#[actix_web::test]
async fn inner_spaces_are_kept_and_length_counts_after_trimming() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let name = format!("Ada {}", "x".repeat(28));
    assert_eq!(name.chars().count(), 32);

    visitor.login(&format!("   {name}   ")).await;

    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(greeting["name"], name.as_str());
}

#[actix_web::test]
async fn a_name_of_32_multi_byte_characters_is_accepted() {
    let app = spawn_app().await;

    for name in ["é".repeat(32), "😀".repeat(32), "字".repeat(32)] {
        let visitor = app.visitor();
        visitor.login(&name).await;
        let (_, greeting) = visitor.connect_and_greet().await;
        assert_eq!(greeting["name"], name.as_str());
    }
}

#[actix_web::test]
async fn bad_names_are_refused_with_400_and_change_nothing() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let cookie = visitor.cookie_header();

    let bad_names = [
        String::new(),
        "   ".to_owned(),
        "\t \u{3000}".to_owned(),
        "x".repeat(33),
        "é".repeat(33),
        "a\u{7}b".to_owned(),
        "a\u{0}b".to_owned(),
        "a\tb".to_owned(),
        "a\nb".to_owned(),
        "a\u{7f}b".to_owned(),
        "a\u{9b}b".to_owned(),
    ];
    for name in bad_names {
        let response = visitor.post_login(&json!({ "name": name })).await;
        assert_bad_request(response, &format!("name {name:?}")).await;
    }

    assert_eq!(visitor.cookie_header(), cookie);
    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 1, "name": null, "authenticated": false})
    );
}

#[actix_web::test]
async fn bad_bodies_are_refused_with_400_and_a_json_error() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);

    let bad_json_bodies = [
        json!({}),
        json!({"nom": "Ada"}),
        json!({"name": null}),
        json!({"name": 5}),
        json!({"name": true}),
        json!({"name": ["Ada"]}),
        json!({"name": {"first": "Ada"}}),
        json!("Ada"),
        json!(null),
        // serde would fill the struct from a sequence; the contract wants an object.
        json!(["Ada"]),
        json!([]),
    ];
    for body in bad_json_bodies {
        let response = visitor.post_login(&body).await;
        assert_bad_request(response, &format!("body {body}")).await;
    }

    for body in ["not json", "{\"name\":", "", "name=Ada"] {
        let response = post_login_raw(&visitor, "application/json", body).await;
        assert_bad_request(response, &format!("raw body {body:?}")).await;
    }
    let response = post_login_raw(&visitor, "application/x-www-form-urlencoded", "name=Ada").await;
    assert_bad_request(response, "a form-encoded body").await;
    let huge = json!({ "name": "x".repeat(10_000) });
    let response = visitor.post_login(&huge).await;
    assert_bad_request(response, "a 10 kB name").await;

    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 1, "name": null, "authenticated": false})
    );
}

#[actix_web::test]
async fn login_keeps_the_count() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    for expected in 1..=3 {
        assert_eq!(visitor.incr().await, expected);
    }

    visitor.login("Ada").await;

    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 3, "name": "Ada", "authenticated": true})
    );
    assert_eq!(visitor.incr().await, 4);
}

#[actix_web::test]
async fn login_renews_the_key_and_the_old_cookie_no_longer_works() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    assert_eq!(visitor.incr().await, 2);
    let before = visitor.cookie_header().expect("a cookie");
    let old_cookie = visitor.at(&app.address);

    let response = visitor.post_login(&json!({"name": "Ada"})).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        session_set_cookies(&response).len(),
        1,
        "login sets the session cookie"
    );
    let after = visitor.cookie_header().expect("a cookie");
    assert_ne!(after, before, "the cookie changed");

    // The old key is worthless: it gets 409 (no new session whose cookie
    // could overwrite the login's).
    assert_eq!(old_cookie.post_incr().await.status(), StatusCode::CONFLICT);
    assert_eq!(
        visitor.incr().await,
        3,
        "the renewed session kept its count"
    );
}

#[actix_web::test]
async fn sockets_opened_under_the_old_key_are_closed_with_4001() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let (mut first, _) = visitor.connect_and_greet().await;
    let (mut second, _) = visitor.connect_and_greet().await;

    visitor.login("Ada").await;

    assert_eq!(first.expect_close(4001).await, "session renewed");
    assert_eq!(second.expect_close(4001).await, "session renewed");
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_socket_with_the_new_cookie_greets_with_the_name_and_the_same_count() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    assert_eq!(visitor.incr().await, 2);
    let (mut old_socket, _) = visitor.connect_and_greet().await;

    visitor.login("Ada").await;
    old_socket.expect_close(4001).await;

    let (mut socket, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 2, "name": "Ada", "authenticated": true})
    );
    // The new socket is in the renewed session's room.
    assert_eq!(visitor.incr().await, 3);
    socket.wait_for_count(3).await;
}

#[actix_web::test]
async fn login_leaves_other_sessions_and_their_sockets_alone() {
    let app = spawn_app().await;
    let (alice, bob) = (app.visitor(), app.visitor());
    assert_eq!(bob.incr().await, 1);
    let (mut bob_socket, _) = bob.connect_and_greet().await;
    let (mut alice_socket, _) = alice.connect_and_greet().await;

    alice.login("Alice").await;

    alice_socket.expect_close(4001).await;
    assert_eq!(bob.incr().await, 2);
    bob_socket.wait_for_count(2).await;
    let (_, greeting) = bob.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 2, "name": null, "authenticated": false})
    );
}

#[actix_web::test]
async fn login_without_a_session_creates_an_authenticated_one() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert!(visitor.cookie_header().is_none());

    let response = visitor.post_login(&json!({"name": "Ada"})).await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(session_set_cookies(&response).len(), 1);
    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 0, "name": "Ada", "authenticated": true})
    );
    assert_eq!(visitor.incr().await, 1);
}

#[actix_web::test]
async fn login_with_a_stale_cookie_creates_an_authenticated_session() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let stale = visitor.at(&app.address);
    assert_eq!(visitor.post_logout().await.status(), StatusCode::NO_CONTENT);

    stale.login("Ada").await;

    let (_, greeting) = stale.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 0, "name": "Ada", "authenticated": true})
    );
}

#[actix_web::test]
async fn logging_in_again_renames_and_renews_again() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    visitor.login("Ada").await;
    let first_key = visitor.at(&app.address);
    let (mut socket, _) = visitor.connect_and_greet().await;

    visitor.login("Grace").await;

    assert_eq!(socket.expect_close(4001).await, "session renewed");
    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 1, "name": "Grace", "authenticated": true})
    );
    assert_eq!(
        first_key.post_incr().await.status(),
        StatusCode::CONFLICT,
        "the first login's key is worthless"
    );
}

#[actix_web::test]
async fn the_login_cookie_is_secure_only_when_cookie_secure_is_set() {
    for secure in [false, true] {
        let app = spawn_app_with(|config| config.cookie_secure = secure).await;
        let visitor = app.visitor();

        let response = visitor.post_login(&json!({"name": "Ada"})).await;

        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let cookies = session_set_cookies(&response);
        assert_eq!(cookies.len(), 1, "{cookies:?}");
        let flagged = cookies[0]
            .split(';')
            .any(|part| part.trim().eq_ignore_ascii_case("secure"));
        assert_eq!(flagged, secure, "COOKIE_SECURE={secure}: {cookies:?}");
    }
}
