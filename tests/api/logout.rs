//! `POST /logout`: deletes the session, clears its cookie and closes every
//! socket of the session with 4000.

use reqwest::{header, Response, StatusCode};
use serde_json::json;

use crate::helpers::spawn_app;

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

/// Whether a `Set-Cookie` value removes its cookie: an empty value that has
/// already expired.
fn is_removal(set_cookie: &str) -> bool {
    let mut parts = set_cookie.split(';').map(str::trim);
    let empty_value = parts.next() == Some("session=");
    let expired = parts.any(|part| {
        let lower = part.to_ascii_lowercase();
        lower == "max-age=0" || (lower.starts_with("expires=") && lower.contains("1970"))
    });
    empty_value && expired
}

#[actix_web::test]
async fn every_socket_of_the_session_is_closed_with_4000() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(visitor.connect_and_greet().await.0);
    }
    app.wait_for_counts(3, 1).await;

    let response = visitor.post_logout().await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for socket in &mut sockets {
        assert_eq!(socket.expect_close(4000).await, "logout");
    }
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn sockets_of_other_sessions_stay_open_and_keep_their_counts() {
    let app = spawn_app().await;
    let (alice, bob) = (app.visitor(), app.visitor());
    assert_eq!(alice.incr().await, 1);
    assert_eq!(bob.incr().await, 1);
    let (mut alice_socket, _) = alice.connect_and_greet().await;
    let (mut bob_first, _) = bob.connect_and_greet().await;
    let (mut bob_second, _) = bob.connect_and_greet().await;
    app.wait_for_counts(3, 2).await;

    assert_eq!(alice.post_logout().await.status(), StatusCode::NO_CONTENT);

    alice_socket.expect_close(4000).await;
    app.wait_for_counts(2, 1).await;
    assert_eq!(bob.incr().await, 2);
    bob_first.wait_for_count(2).await;
    bob_second.wait_for_count(2).await;
    bob_first.send_incr().await;
    bob_first.wait_for_count(3).await;
    bob_second.wait_for_count(3).await;
}

#[actix_web::test]
async fn logout_without_a_session_answers_204() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    let response = visitor.post_logout().await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(visitor.cookie_header().is_none());
}

#[actix_web::test]
async fn logout_with_a_tampered_cookie_answers_204_and_clears_it() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor
        .jar
        .add_cookie_str("session=not-a-real-session", &visitor.base);

    let response = visitor.post_logout().await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookies = session_set_cookies(&response);
    assert!(
        cookies.iter().any(|cookie| is_removal(cookie)),
        "the cookie is cleared: {cookies:?}"
    );
}

#[actix_web::test]
async fn logout_clears_the_cookie() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    assert!(visitor.cookie_header().is_some());

    let response = visitor.post_logout().await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let cookies = session_set_cookies(&response);
    assert!(
        cookies.iter().any(|cookie| is_removal(cookie)),
        "the cookie is cleared: {cookies:?}"
    );
    assert!(
        visitor.cookie_header().is_none(),
        "the browser dropped the cookie"
    );
    assert_eq!(visitor.incr().await, 1, "the next request starts afresh");
}

#[actix_web::test]
async fn after_logout_the_old_cookie_counts_as_no_session() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.login("Ada").await;
    assert_eq!(visitor.incr().await, 1);
    assert_eq!(visitor.incr().await, 2);
    let old_cookie = visitor.at(&app.address);

    assert_eq!(visitor.post_logout().await.status(), StatusCode::NO_CONTENT);

    assert_eq!(old_cookie.incr().await, 1, "HTTP starts a fresh session");
    let (_, greeting) = old_cookie.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 1, "name": null, "authenticated": false}),
        "the fresh session is not the logged-out one"
    );
}

#[actix_web::test]
async fn after_logout_a_socket_with_the_old_cookie_gets_a_new_session() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.login("Ada").await;
    assert_eq!(visitor.incr().await, 1);
    let old_cookie = visitor.at(&app.address);

    assert_eq!(visitor.post_logout().await.status(), StatusCode::NO_CONTENT);

    let (_, greeting) = old_cookie.connect_and_greet().await;
    assert_eq!(
        greeting,
        json!({"count": 0, "name": null, "authenticated": false})
    );
}

#[actix_web::test]
async fn after_logout_the_registry_counts_fall_back_to_zero() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.get_index().await;
    let (mut first, _) = visitor.connect_and_greet().await;
    let (mut second, _) = visitor.connect_and_greet().await;
    app.wait_for_counts(2, 1).await;

    assert_eq!(visitor.post_logout().await.status(), StatusCode::NO_CONTENT);

    first.expect_close(4000).await;
    second.expect_close(4000).await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_second_logout_with_the_old_cookie_answers_204_and_harms_no_one() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let old_cookie = visitor.at(&app.address);
    assert_eq!(visitor.post_logout().await.status(), StatusCode::NO_CONTENT);
    assert_eq!(visitor.incr().await, 1);
    let (mut socket, _) = visitor.connect_and_greet().await;

    assert_eq!(
        old_cookie.post_logout().await.status(),
        StatusCode::NO_CONTENT
    );

    assert_eq!(visitor.incr().await, 2, "the new session lives on");
    socket.wait_for_count(2).await;
}
