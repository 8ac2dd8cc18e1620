//! HTTP and sockets share one session and one count.

use session_bridge::store::Store;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn a_socket_greets_with_the_session_it_shares_with_http() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    assert_eq!(visitor.incr().await, 2);

    let (_socket, greeting) = visitor.connect_and_greet().await;

    assert_eq!(
        greeting,
        serde_json::json!({"count": 2, "name": null, "authenticated": false})
    );
}

#[actix_web::test]
async fn an_http_increment_reaches_every_socket_of_the_session() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.get_index().await;
    let (mut first, _) = visitor.connect_and_greet().await;
    let (mut second, _) = visitor.connect_and_greet().await;

    assert_eq!(visitor.incr().await, 1);

    first.wait_for_count(1).await;
    second.wait_for_count(1).await;
}

#[actix_web::test]
async fn a_socket_increment_reaches_its_sender_its_siblings_and_http() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.get_index().await;
    let (mut sender, _) = visitor.connect_and_greet().await;
    let (mut sibling, _) = visitor.connect_and_greet().await;

    sender.send_incr().await;

    sender.wait_for_count(1).await;
    sibling.wait_for_count(1).await;
    assert_eq!(visitor.incr().await, 2);
}

#[actix_web::test]
async fn a_handshake_without_a_session_starts_one_and_sets_its_cookie() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    let (mut socket, greeting) = visitor.connect_and_greet().await;

    assert_eq!(greeting["count"], 0);
    assert!(
        visitor.cookie_header().is_some(),
        "the 101 response set the cookie"
    );
    assert_eq!(visitor.incr().await, 1, "HTTP sees the socket's session");
    socket.wait_for_count(1).await;
}

#[actix_web::test]
async fn notifications_reach_only_the_session_that_changed() {
    let app = spawn_app().await;
    let (alice, bob) = (app.visitor(), app.visitor());
    let (mut alice_socket, _) = alice.connect_and_greet().await;
    let (mut bob_socket, _) = bob.connect_and_greet().await;

    alice.incr().await;
    alice_socket.wait_for_count(1).await;
    bob.incr().await;
    bob.incr().await;

    // Bob's socket sees exactly Bob's counts, Alice's sees none of them.
    bob_socket.wait_for_count(2).await;
    alice.incr().await;
    alice_socket.wait_for_count(2).await;
}

#[actix_web::test]
async fn a_tampered_cookie_counts_as_no_session() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.incr().await;
    let cookie = visitor.cookie_header().expect("a cookie");
    let tampered = cookie
        .to_str()
        .expect("ASCII")
        .replace("session=", "session=AAAA");
    let stranger = app.visitor();
    stranger.jar.add_cookie_str(&tampered, &stranger.base);

    assert_eq!(stranger.incr().await, 1);
    assert_eq!(visitor.incr().await, 2);
}

#[actix_web::test]
async fn a_plain_request_to_the_socket_route_is_refused_and_starts_no_session() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    let response = visitor
        .http
        .get(format!("{}/ws", app.address))
        .send()
        .await
        .expect("GET /ws");

    assert_eq!(response.status(), reqwest::StatusCode::BAD_REQUEST);
    assert!(response
        .headers()
        .get(reqwest::header::SET_COOKIE)
        .is_none());
    match &app.store {
        Store::Memory(sessions) => assert!(sessions.is_empty(), "no session was stored"),
        Store::Redis(_) => unreachable!("the test app uses the embedded store"),
    }
}
