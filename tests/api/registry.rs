//! `/healthz` and the socket registry: every socket that ends, in any way,
//! leaves the counts at once.

use reqwest::{header, StatusCode};
use serde_json::json;
use tokio_tungstenite::MaybeTlsStream;

use crate::helpers::{spawn_app, Socket};

#[actix_web::test]
async fn healthz_reports_status_store_and_counts_as_json() {
    let app = spawn_app().await;

    let response = reqwest::get(format!("{}/healthz", app.address))
        .await
        .expect("GET /healthz");

    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .expect("a content type")
        .to_str()
        .expect("ASCII")
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "content type {content_type}"
    );
    let body: serde_json::Value = response.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({"status": "ok", "store": "memory", "sockets": 0, "sessions": 0})
    );
}

#[actix_web::test]
async fn healthz_counts_every_socket_and_each_session_once() {
    let app = spawn_app().await;
    let (alice, bob) = (app.visitor(), app.visitor());
    alice.get_index().await;
    bob.get_index().await;

    let _alice_sockets = (
        alice.connect_and_greet().await,
        alice.connect_and_greet().await,
    );
    let _bob_sockets = (bob.connect_and_greet().await, bob.connect_and_greet().await);

    app.wait_for_counts(4, 2).await;
    let (status, health) = app.health().await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        health,
        json!({"status": "ok", "store": "memory", "sockets": 4, "sessions": 2})
    );
}

#[actix_web::test]
async fn a_clean_client_close_leaves_the_registry() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.get_index().await;
    let (first, _) = visitor.connect_and_greet().await;
    let (second, _) = visitor.connect_and_greet().await;
    app.wait_for_counts(2, 1).await;

    first.close().await;
    app.wait_for_counts(1, 1).await;

    second.close().await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_connection_dropped_without_a_close_frame_leaves_the_registry() {
    let app = spawn_app().await;
    let (alice, bob) = (app.visitor(), app.visitor());
    let (alice_socket, _) = alice.connect_and_greet().await;
    let (bob_socket, _) = bob.connect_and_greet().await;
    app.wait_for_counts(2, 2).await;

    // Dropping the client closes the TCP stream (FIN) without a close frame.
    drop(alice_socket);
    app.wait_for_counts(1, 1).await;

    drop(bob_socket);
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_reset_connection_leaves_the_registry() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let (socket, _) = visitor.connect_and_greet().await;
    app.wait_for_counts(1, 1).await;

    reset(socket);

    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn sockets_closed_by_logout_leave_the_registry() {
    let app = spawn_app().await;
    let (visitor, other) = (app.visitor(), app.visitor());
    visitor.get_index().await;
    let (mut first, _) = visitor.connect_and_greet().await;
    let (mut second, _) = visitor.connect_and_greet().await;
    let (_other_socket, _) = other.connect_and_greet().await;
    app.wait_for_counts(3, 2).await;

    let response = visitor.post_logout().await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    first.expect_close(4000).await;
    second.expect_close(4000).await;
    app.wait_for_counts(1, 1).await;
}

#[actix_web::test]
async fn a_refused_handshake_is_never_counted() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    visitor.get_index().await;

    let refused = visitor
        .try_connect(&[("Origin", "http://evil.example")])
        .await;
    assert!(
        matches!(refused, Err(StatusCode::FORBIDDEN)),
        "a foreign origin is refused"
    );
    let (_socket, _) = visitor.connect_and_greet().await;

    // Were the refused handshake counted, this would stay at 2 and time out.
    app.wait_for_counts(1, 1).await;
}

/// Ends the connection with a TCP reset: no close frame, no FIN.
fn reset(socket: Socket) {
    match socket.stream.get_ref() {
        MaybeTlsStream::Plain(tcp) => tcp.set_zero_linger().expect("SO_LINGER 0"),
        _ => panic!("the test sockets are plain TCP"),
    }
    drop(socket);
}
