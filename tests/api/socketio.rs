//! `/socket.io/`: the contract's section "Socket.IO" on one instance, with
//! the small client in `tests/support/sio_client.rs` (raw packets, so each
//! test sees exactly what the server sent).

use reqwest::{header, StatusCode};
use serde_json::{json, Value};
use session_bridge::config::SocketAuth;

use std::time::Duration;

use crate::{
    helpers::{spawn_app, spawn_app_with, TestApp, Visitor},
    raw::{wait_until_released, RawSocket, TEXT},
    sio_client::{try_open_ws, SioClient},
};

async fn polling(visitor: &Visitor) -> SioClient {
    SioClient::polling(&visitor.http, &visitor.jar, &visitor.base)
        .await
        .expect("the handshake is accepted")
}

async fn joined(visitor: &Visitor) -> SioClient {
    let mut client = polling(visitor).await;
    client.join().await;
    client
}

fn error_body(code: u8, message: &str) -> Value {
    json!({ "code": code, "message": message })
}

#[actix_web::test]
async fn a_polling_handshake_advertises_the_heartbeat_and_starts_a_session() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let response = visitor
        .http
        .get(format!(
            "{}/socket.io/?EIO=4&transport=polling",
            app.address
        ))
        .send()
        .await
        .expect("the handshake answers");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::SET_COOKIE).is_some());
    let body = response.text().await.expect("a body");
    let open: Value = serde_json::from_str(&body[1..]).expect("JSON");
    assert!(body.starts_with('0'));
    assert_eq!(open["upgrades"], json!(["websocket"]));
    assert_eq!(open["pingInterval"], 25_000);
    assert_eq!(open["pingTimeout"], 20_000);
    assert_eq!(open["maxPayload"], 65_536);
    assert_eq!(open.as_object().map(|o| o.len()), Some(5));
    // The session it started is the visitor's: HTTP sees it.
    assert_eq!(visitor.incr().await, 1);
}

#[actix_web::test]
async fn engine_io_errors_have_engine_io_bodies() {
    let app = spawn_app().await;
    for (query, code, message) in [
        ("transport=polling", 5, "Unsupported protocol version"),
        ("EIO=3&transport=polling", 5, "Unsupported protocol version"),
        ("EIO=4&transport=carrier-pigeon", 0, "Transport unknown"),
        (
            "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
            1,
            "Session ID unknown",
        ),
        ("EIO=4&transport=polling&sid=bad", 1, "Session ID unknown"),
    ] {
        let response = reqwest::get(format!("{}/socket.io/?{query}", app.address))
            .await
            .expect("an answer");
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: Value = response.json().await.expect("a JSON body");
        assert_eq!(body, error_body(code, message), "{query}");
    }
}

#[actix_web::test]
async fn joining_shows_the_opening_events_in_order() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let mut client = polling(&visitor).await;
    let session = client.join().await;
    assert_eq!(session["count"], 1);
    app.wait_for_counts(1, 1).await;
}

#[actix_web::test]
async fn other_namespaces_are_refused() {
    let app = spawn_app().await;
    let mut client = polling(&app.visitor()).await;
    client.send("40/admin,").await;
    assert_eq!(
        client.next_packet().await.as_deref(),
        Some(r#"4/admin,{"message":"Invalid namespace"}"#)
    );
}

#[actix_web::test]
async fn incr_is_acknowledged_with_the_new_count_and_shown_to_every_socket() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut client = joined(&visitor).await;
    let mut ws = visitor.connect_and_greet().await.0;
    client.send(r#"421["incr"]"#).await;
    assert_eq!(client.next_packet().await.as_deref(), Some("31[1]"));
    assert_eq!(ws.expect_event("current count").await, 1);
    assert_eq!(client.expect_event("current count").await, 1);
    // And from HTTP to both transports.
    assert_eq!(visitor.incr().await, 2);
    client.wait_for_count(2).await;
    assert_eq!(ws.expect_event("current count").await, 2);
}

#[actix_web::test]
async fn unknown_events_are_errors_or_refused_acknowledgements() {
    let app = spawn_app().await;
    let mut client = joined(&app.visitor()).await;
    client.send(r#"42["dance"]"#).await;
    let error = client.expect_event("error").await;
    assert_eq!(error["code"], "unknown_event");
    client.send(r#"427["dance"]"#).await;
    let ack = client.next_packet().await.expect("an ack");
    let args: Value = serde_json::from_str(ack.strip_prefix("37").expect("ack 7")).expect("JSON");
    assert_eq!(args[0]["error"]["code"], "unknown_event");
}

#[actix_web::test]
async fn chat_is_acknowledged_with_its_id_or_its_refusal() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut client = joined(&visitor).await;
    client.send(r#"423["chat",{"text":"hi"}]"#).await;
    let ack = client.next_packet().await.expect("an ack");
    let args: Value = serde_json::from_str(ack.strip_prefix("33").expect("ack 3")).expect("JSON");
    assert_eq!(args[0]["error"]["code"], "login_required");

    visitor.login("ada").await;
    // The login renewed the key: this connection ends, a new one joins.
    client.expect_end().await;
    let mut client = joined(&visitor).await;
    client.send(r#"424["chat",{"text":"hi"}]"#).await;
    let mut acked = false;
    let mut shown = false;
    while !(acked && shown) {
        let packet = client.next_packet().await.expect("a packet");
        if let Some(args) = packet.strip_prefix("34") {
            let args: Value = serde_json::from_str(args).expect("JSON");
            assert!(args[0]["id"].is_string(), "{packet}");
            acked = true;
        } else if packet.starts_with(r#"2["chat","#) {
            shown = true;
        }
    }
}

#[actix_web::test]
async fn login_required_opens_but_refuses_the_namespace() {
    let app = spawn_app_with(|config| config.socket_auth = SocketAuth::Login).await;
    let visitor = app.visitor();
    let mut client = polling(&visitor).await;
    assert!(visitor.cookie_header().is_none(), "no session was started");
    client.send("40").await;
    assert_eq!(
        client.next_packet().await.as_deref(),
        Some(r#"4{"message":"login required"}"#)
    );
}

#[actix_web::test]
async fn later_requests_need_a_cookie_of_the_same_session() {
    let app = spawn_app().await;
    let (alice, mallory) = (app.visitor(), app.visitor());
    let client = polling(&alice).await;
    assert_eq!(mallory.incr().await, 1);
    let url = format!(
        "{}/socket.io/?EIO=4&transport=polling&sid={}",
        app.address, client.sid
    );
    for http in [mallory.http.clone(), reqwest::Client::new()] {
        let response = http.get(&url).send().await.expect("an answer");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body, error_body(4, "Forbidden"));
    }
    let ws = try_open_ws(
        &mallory.jar,
        &mallory.base,
        &format!("EIO=4&transport=websocket&sid={}", client.sid),
    )
    .await;
    assert_eq!(ws.err(), Some(StatusCode::FORBIDDEN));
    // The connection itself is untouched.
    let mut client = client;
    client.join().await;
}

#[actix_web::test]
async fn a_foreign_origin_is_forbidden() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let refused = SioClient::polling_with(
        &visitor.http,
        &visitor.jar,
        &visitor.base,
        &[("Origin", "http://evil.example")],
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let body: Value = serde_json::from_str(&refused.body).expect("JSON");
    assert_eq!(body, error_body(4, "Forbidden"));
}

#[actix_web::test]
async fn a_renewed_key_is_refused_with_409() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let stale = visitor.cookie_header().expect("a cookie");
    visitor.login("ada").await;
    let response = reqwest::Client::new()
        .get(format!(
            "{}/socket.io/?EIO=4&transport=polling",
            app.address
        ))
        .header(header::COOKIE, stale)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::CONFLICT);
    assert!(response.headers().get(header::SET_COOKIE).is_none());
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, json!({ "error": "session renewed" }));
}

#[actix_web::test]
async fn logout_disconnects_the_namespace_then_the_connection() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut client = joined(&visitor).await;
    app.wait_for_counts(1, 1).await;
    // As a browser does, a poll is held when the logout lands.
    let logout = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        visitor.post_logout().await.status()
    };
    let (packet, status) = tokio::join!(client.next_packet(), logout);
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(packet.as_deref(), Some("1"), "DISCONNECT");
    // The logout cleared the cookie: the connection is no longer this
    // visitor's, and it is gone.
    client.expect_end().await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn the_upgrade_moves_the_socket_to_a_websocket() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut client = joined(&visitor).await;
    client.upgrade().await;
    let (status, body) = client.get().await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    client.send(r#"421["incr"]"#).await;
    assert_eq!(client.next_packet().await.as_deref(), Some("31[1]"));
    assert_eq!(visitor.incr().await, 2);
    client.wait_for_count(2).await;
}

#[actix_web::test]
async fn a_websocket_connection_without_polling_works_the_same() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut client = SioClient::websocket(&visitor.http, &visitor.jar, &visitor.base).await;
    assert_eq!(client.open["upgrades"], json!([]));
    assert!(visitor.cookie_header().is_some(), "the 101 set the cookie");
    client.join().await;
    client.send(r#"429["incr"]"#).await;
    assert_eq!(client.next_packet().await.as_deref(), Some("39[1]"));
    // Logout over a WebSocket: DISCONNECT, then the socket closes.
    assert_eq!(visitor.post_logout().await.status(), StatusCode::NO_CONTENT);
    assert_eq!(client.skip_to("1").await, Some(()), "DISCONNECT");
    client.expect_end().await;
}

#[actix_web::test]
async fn one_session_on_both_transports_is_one_user() {
    let app = spawn_app().await;
    let (ada, bob) = (app.visitor(), app.visitor());
    ada.login("ada").await;
    let (mut watcher, _) = bob.connect_to_lobby().await;
    let mut sio = joined(&ada).await;
    assert_eq!(
        watcher.expect_event("presence").await["online"],
        json!(["ada"])
    );
    let (ws, greeting) = ada.connect_to_lobby().await;
    assert_eq!(greeting.presence, vec!["ada".to_owned()]);
    ws.close().await;
    app.wait_for_counts(2, 2).await;
    // Still online through Socket.IO: the next presence change the
    // watcher sees is someone else's, not ada leaving.
    let carl = app.visitor();
    carl.login("carl").await;
    let _carl_socket = carl.connect_to_lobby().await;
    assert_eq!(
        watcher.expect_event("presence").await,
        json!({ "online": ["carl"], "offline": [] })
    );
    assert_eq!(ada.incr().await, 1);
    assert_eq!(sio.expect_event("current count").await, 1);
    // Leaving the namespace is the user's last socket going.
    sio.send("41").await;
    assert_eq!(
        watcher.expect_event("presence").await["offline"],
        json!(["ada"])
    );
}

#[actix_web::test]
async fn a_connection_is_unknown_to_another_instance() {
    let (first, second): (TestApp, TestApp) = (spawn_app().await, spawn_app().await);
    let visitor = first.visitor();
    let client = polling(&visitor).await;
    let other = visitor.at(&second.address);
    let response = other
        .http
        .get(format!(
            "{}/socket.io/?EIO=4&transport=polling&sid={}",
            second.address, client.sid
        ))
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body, error_body(1, "Session ID unknown"));
}

#[actix_web::test]
async fn the_frame_budget_counts_socket_io_packets_and_refusals_are_acknowledged() {
    let app = spawn_app().await;
    let mut client = joined(&app.visitor()).await;
    // One POST of 150 acknowledged events: the budget is 100 in a burst.
    let body: Vec<String> = (1..=150).map(|id| format!(r#"42{id}["dance"]"#)).collect();
    let (status, _) = client.post(&body.join("\x1e")).await;
    assert_eq!(status, StatusCode::OK);
    let mut codes = Vec::new();
    while codes.len() < 150 {
        let packet = client.next_packet().await.expect("an ack");
        let Some(rest) = packet.strip_prefix('3') else {
            continue;
        };
        let at = rest.find('[').expect("ack args");
        let args: Value = serde_json::from_str(&rest[at..]).expect("JSON");
        codes.push(
            args[0]["error"]["code"]
                .as_str()
                .expect("a code")
                .to_owned(),
        );
    }
    assert!(codes[..100].iter().all(|code| code == "unknown_event"));
    assert!(
        codes[100..].iter().all(|code| code == "rate_limited"),
        "{codes:?}"
    );
}

#[actix_web::test]
async fn a_binary_event_is_dispatched_by_its_name() {
    let app = spawn_app().await;
    let mut client = joined(&app.visitor()).await;
    let header = r#"451-5["incr",{"_placeholder":true,"num":0}]"#;
    let (status, _) = client.post(&format!("{header}\x1ebAQID")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(client.skip_to("35[1]").await, Some(()));
}

#[actix_web::test]
async fn a_post_over_max_payload_gets_413_and_ends_the_connection() {
    let app = spawn_app().await;
    let mut client = joined(&app.visitor()).await;
    let text = "x".repeat(70_000);
    let (status, _) = client
        .post(&format!(r#"42["chat",{{"text":"{text}"}}]"#))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    client.expect_end().await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn polling_answers_an_allowed_origin_with_cors_headers() {
    let listed = "http://localhost:4200";
    let app = spawn_app_with(|config| {
        config
            .allowed_origins
            .insert(session_bridge::origin::Origin::parse(listed).expect("an origin"));
    })
    .await;
    let response = app
        .visitor()
        .http
        .get(format!(
            "{}/socket.io/?EIO=4&transport=polling",
            app.address
        ))
        .header(header::ORIGIN, listed)
        .send()
        .await
        .expect("an answer");
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers();
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], listed);
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
}

#[actix_web::test]
async fn sockets_beyond_the_limit_are_refused_with_429() {
    let app = spawn_app_with(|config| config.max_sockets_per_session = 1).await;
    let visitor = app.visitor();
    let _ws = visitor.connect_and_greet().await;
    let refused = SioClient::polling(&visitor.http, &visitor.jar, &visitor.base)
        .await
        .err()
        .expect("refused");
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
}

#[actix_web::test]
async fn the_transport_label_follows_the_upgrade() {
    let app = spawn_app().await;
    let mut client = joined(&app.visitor()).await;
    let gauge = |transport: &str| format!("session_bridge_sockets{{transport=\"{transport}\"}} ");
    let scrape = || async {
        reqwest::get(format!("{}/metrics", app.address))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("a body")
    };
    assert!(scrape().await.contains(&format!("{}1", gauge("polling"))));
    client.upgrade().await;
    client.send(r#"421["incr"]"#).await;
    assert_eq!(client.skip_to("31[1]").await, Some(()));
    let text = scrape().await;
    assert!(text.contains(&format!("{}1", gauge("websocket"))), "{text}");
    assert!(text.contains(&format!("{}0", gauge("polling"))), "{text}");
}

#[actix_web::test]
async fn a_second_poll_ends_the_connection_and_the_held_one_gets_1() {
    let app = spawn_app().await;
    let client = polling(&app.visitor()).await;
    // Whichever lands first is held; the other overlaps it.
    let (first, second) = tokio::join!(client.get(), client.get());
    let mut answers = [first, second].map(|(status, body)| (status.as_u16(), body));
    answers.sort();
    assert_eq!(answers[0], (200, "1".to_owned()));
    assert_eq!(answers[1].0, 400);
    assert_eq!(client.get().await.0, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn a_close_packet_over_a_websocket_ends_the_connection_at_once() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut client = SioClient::websocket(&visitor.http, &visitor.jar, &visitor.base).await;
    client.join().await;
    app.wait_for_counts(1, 1).await;
    client.send_engine("1").await;
    client.expect_end().await;
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_ping_from_the_client_is_the_wrong_direction_and_ends_the_connection() {
    let app = spawn_app().await;
    let client = polling(&app.visitor()).await;
    assert_eq!(client.post("2").await.0, StatusCode::OK);
    assert_eq!(client.get().await.0, StatusCode::BAD_REQUEST);
}

#[actix_web::test]
async fn a_websocket_with_a_bad_query_is_refused_before_the_upgrade() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    for query in [
        "transport=websocket",
        "EIO=4&transport=nope",
        "EIO=3&transport=websocket",
    ] {
        let refused = try_open_ws(&visitor.jar, &visitor.base, query).await;
        assert_eq!(refused.err(), Some(StatusCode::BAD_REQUEST), "{query}");
    }
}

#[actix_web::test]
async fn a_websocket_client_that_stops_reading_is_dropped_and_its_connection_ends() {
    let app = spawn_app_with(|config| {
        config.socket_queue_bytes = 262_144;
        config.chat_rate = 10_000;
    })
    .await;
    // A Socket.IO client that joins, then never reads, with a tiny window.
    let path = "/socket.io/?EIO=4&transport=websocket";
    let mut stalled = RawSocket::open_at(app.port, path, None, 4096).await;
    stalled.send(TEXT, b"40").await;
    let mut chatters = Vec::new();
    for i in 0..8 {
        let visitor = app.visitor();
        visitor.login(&format!("chatter-{i}")).await;
        chatters.push(visitor.connect_to_lobby().await.0);
    }
    app.wait_for_counts(9, 9).await;
    // Five messages a chatter a round (a twentieth of the frame budget),
    // every chatter reading each round's messages.
    let text = "😀".repeat(500);
    let mut rounds = 0;
    while app.health().await.1["sockets"] != 8 {
        assert!(rounds < 400, "the stalled socket was never dropped");
        for socket in &mut chatters {
            for _ in 0..5 {
                socket.send_chat(&text).await;
            }
        }
        for socket in &mut chatters {
            for _ in 0..40 {
                socket.expect_event("chat").await;
            }
        }
        rounds += 1;
    }
    wait_until_released(app.port, stalled.local_port, Duration::from_secs(8)).await;
}

#[actix_web::test]
async fn a_renewed_session_closes_the_transport_without_a_disconnect() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let mut client = joined(&visitor).await;
    let login = async {
        visitor.login("ada").await;
    };
    let packets = async {
        let mut packets = Vec::new();
        while let Some(packet) = client.next_packet().await {
            packets.push(packet);
        }
        packets
    };
    let ((), packets) = tokio::join!(login, packets);
    // No DISCONNECT: the client reports a transport close and reconnects.
    assert!(!packets.iter().any(|packet| packet == "1"), "{packets:?}");
    app.wait_for_counts(0, 0).await;
}
