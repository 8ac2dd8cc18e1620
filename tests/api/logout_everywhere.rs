//! `POST /logout/everywhere`: every session of the user, on every instance,
//! ends and its sockets close with 4000; other users are untouched.

use reqwest::StatusCode;
use serde_json::Value;

use crate::{
    helpers::{spawn_app, spawn_redis_app, TestApp},
    redis_server::RedisServer,
};

async fn ends_every_session_of_the_user_and_no_other(a: &TestApp, b: &TestApp) {
    let (laptop, phone, bob) = (a.visitor(), b.visitor(), a.visitor());
    laptop.login("alice").await;
    phone.login("alice").await;
    bob.login("bob").await;
    let (mut laptop_socket, _) = laptop.connect_and_greet().await;
    let (mut phone_socket, _) = phone.connect_and_greet().await;
    let (mut phone_on_a, _) = phone.at(&a.address).connect_and_greet().await;
    let (mut bob_socket, _) = bob.connect_and_greet().await;

    let response = laptop.post_logout_everywhere().await;

    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    for socket in [&mut laptop_socket, &mut phone_socket, &mut phone_on_a] {
        assert_eq!(socket.expect_close(4000).await, "logout");
    }
    // The phone's cookie now counts as no session: a new, anonymous one.
    assert_eq!(phone.incr().await, 1);
    // Bob is untouched, socket and all.
    assert_eq!(bob.incr().await, 1);
    bob_socket.wait_for_count(1).await;
}

#[actix_web::test]
async fn logout_everywhere_ends_every_session_of_the_user_on_the_embedded_store() {
    let app = spawn_app().await;
    ends_every_session_of_the_user_and_no_other(&app, &app).await;
}

#[actix_web::test]
async fn logout_everywhere_ends_every_session_of_the_user_across_two_instances_on_redis() {
    let redis = RedisServer::start();
    let (a, b) = (
        spawn_redis_app(&redis.url()).await,
        spawn_redis_app(&redis.url()).await,
    );
    ends_every_session_of_the_user_and_no_other(&a, &b).await;
}

#[actix_web::test]
async fn logout_everywhere_without_a_logged_in_session_is_401() {
    let app = spawn_app().await;
    let (stranger, anonymous) = (app.visitor(), app.visitor());
    assert_eq!(anonymous.incr().await, 1);
    for visitor in [&stranger, &anonymous] {
        let response = visitor.post_logout_everywhere().await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body: Value = response.json().await.expect("a JSON body");
        assert!(body["error"].is_string(), "{body}");
    }
    assert_eq!(anonymous.incr().await, 2, "the anonymous session lives on");
}

#[actix_web::test]
async fn a_session_logged_in_again_under_another_name_is_not_ended_with_the_first() {
    let app = spawn_app().await;
    let (visitor, other) = (app.visitor(), app.visitor());
    visitor.login("alice").await;
    visitor.login("carol").await;
    other.login("alice").await;

    assert_eq!(
        other.post_logout_everywhere().await.status(),
        StatusCode::NO_CONTENT
    );
    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(greeting["name"], "carol", "carol's session lives on");
}
