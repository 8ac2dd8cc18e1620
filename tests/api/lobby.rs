//! The lobby's chat: every open socket, on every instance, is in one lobby.
//! On open a socket gets `session`, `presence state` and `chat history`, in
//! this order; then every `chat` of the lobby, in one order for every socket.
//! Only a logged-in session may write.
//!
//! Most promises are checked twice from one body taking two apps: on the
//! embedded store (the same app given twice) and on two instances sharing a
//! private Redis.

use std::{
    cell::Cell,
    collections::HashSet,
    time::{SystemTime, UNIX_EPOCH},
};

use futures_util::future::join_all;
use serde_json::{json, Value};
use session_bridge::config::Config;

use crate::{
    helpers::{
        spawn_app_with, spawn_redis_app_with, wait_until, within, Greeting, Socket, TestApp,
        Visitor, WAIT,
    },
    redis_server::RedisServer,
};

// ---------------------------------------------------------------------------
// Helpers

/// Keeps the contract's defaults.
fn defaults(_: &mut Config) {}

/// Two running instances on one private Redis (kept alive by the caller).
async fn two_on_redis(change: impl Fn(&mut Config)) -> (RedisServer, TestApp, TestApp) {
    let redis = RedisServer::start();
    let a = spawn_redis_app_with(&redis.url(), &change).await;
    let b = spawn_redis_app_with(&redis.url(), &change).await;
    (redis, a, b)
}

/// Milliseconds since the Unix epoch, now.
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as u64
}

/// A visitor of `app` logged in as `name`.
async fn logged_in(app: &TestApp, name: &str) -> Visitor {
    let visitor = app.visitor();
    visitor.login(name).await;
    visitor
}

/// A socket in the lobby, for `visitor`, past its opening frames.
async fn joined(visitor: &Visitor) -> Socket {
    visitor.connect_to_lobby().await.0
}

/// An anonymous socket in the lobby on `app`.
async fn anonymous_socket(app: &TestApp) -> Socket {
    joined(&app.visitor()).await
}

/// The next `chat` frame's message (live `presence` frames are skipped;
/// anything else fails).
async fn next_chat(socket: &mut Socket) -> Value {
    socket.expect_event("chat").await
}

/// Reads `count` chat messages.
async fn chats(socket: &mut Socket, count: usize) -> Vec<Value> {
    let mut messages = Vec::with_capacity(count);
    for _ in 0..count {
        messages.push(next_chat(socket).await);
    }
    messages
}

/// Sends `text` and reads the socket's own copy back (the sender's sockets
/// receive its chat too): paces a poster without sleeping.
async fn post(socket: &mut Socket, text: &str) -> Value {
    socket.send_chat(text).await;
    let message = next_chat(socket).await;
    assert_eq!(
        message["text"],
        text.trim(),
        "the poster's own copy: {message}"
    );
    message
}

/// Sends `"{prefix} 0"` to `"{prefix} {count - 1}"` without waiting.
async fn send_numbered(socket: &mut Socket, prefix: &str, count: usize) {
    for i in 0..count {
        socket.send_chat(&format!("{prefix} {i}")).await;
    }
}

/// Checks a message's shape: exactly `id` (a non-empty string), `name`,
/// `text` and `at` (ms since the epoch, between `after` and `before`).
fn assert_message(message: &Value, name: &str, text: &str, after: u64, before: u64) {
    let object = message.as_object().expect("a message is a JSON object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["at", "id", "name", "text"], "message {message}");
    assert!(
        message["id"].as_str().is_some_and(|id| !id.is_empty()),
        "the id is a non-empty string: {message}"
    );
    assert_eq!(message["name"], name, "message {message}");
    assert_eq!(message["text"], text, "message {message}");
    let at = message["at"].as_u64().expect("`at` is an integer");
    assert!(
        after <= at && at <= before,
        "`at` {at} is the server's time of the message, between {after} and {before}"
    );
}

/// Expects an `error` frame with `code` and a message.
async fn expect_error(socket: &mut Socket, code: &str, after: &str) {
    let error = socket.expect_event("error").await;
    assert_eq!(error["code"], code, "error after {after}: {error}");
    assert!(
        error["message"].is_string(),
        "the error has a message: {error}"
    );
}

/// `{"event":"chat","data":data}` as text.
fn chat_frame(data: Value) -> String {
    json!({"event": "chat", "data": data}).to_string()
}

/// The ids of `messages`, in order.
fn ids(messages: &[Value]) -> Vec<String> {
    messages
        .iter()
        .map(|message| message["id"].as_str().expect("a string id").to_owned())
        .collect()
}

// ---------------------------------------------------------------------------
// Opening frames

/// On open: `session`, then `presence state`, then `chat history`, with
/// nothing in between; the history holds earlier messages.
async fn opening_frames_come_in_order(a: &TestApp, b: &TestApp) {
    let mut anonymous = b.visitor().connect().await;
    let frames = [
        anonymous.next_event().await,
        anonymous.next_event().await,
        anonymous.next_event().await,
    ];
    assert_eq!(
        frames,
        [
            json!({"event": "session", "data": {"count": 0, "name": null, "authenticated": false}}),
            json!({"event": "presence state", "data": []}),
            json!({"event": "chat history", "data": []}),
        ]
    );

    let alice = logged_in(a, "alice").await;
    let mut socket = alice.connect().await;
    let frames = [
        socket.next_event().await,
        socket.next_event().await,
        socket.next_event().await,
    ];
    assert_eq!(
        frames,
        [
            json!({"event": "session", "data": {"count": 0, "name": "alice", "authenticated": true}}),
            json!({"event": "presence state", "data": ["alice"]}),
            json!({"event": "chat history", "data": []}),
        ]
    );

    let message = post(&mut socket, "first").await;
    let mut later = b.visitor().connect().await;
    let frames = [
        later.next_event().await,
        later.next_event().await,
        later.next_event().await,
    ];
    assert_eq!(frames[0]["event"], "session", "first frame {}", frames[0]);
    assert_eq!(
        frames[1],
        json!({"event": "presence state", "data": ["alice"]})
    );
    assert_eq!(
        frames[2],
        json!({"event": "chat history", "data": [message]})
    );
}

#[actix_web::test]
async fn a_socket_opens_with_session_then_presence_state_then_chat_history_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    opening_frames_come_in_order(&app, &app).await;
}

#[actix_web::test]
async fn a_socket_opens_with_session_then_presence_state_then_chat_history_across_two_instances_on_redis(
) {
    let (_redis, a, b) = two_on_redis(defaults).await;
    opening_frames_come_in_order(&a, &b).await;
}

// ---------------------------------------------------------------------------
// Posting

/// A message reaches every socket of the lobby, on every instance, the
/// sender's own sockets and anonymous readers included, as one and the same
/// message: the session's name, the trimmed text, a server id and time.
async fn a_message_reaches_everyone(a: &TestApp, b: &TestApp) {
    let alice = logged_in(a, "alice").await;
    let mut sender = joined(&alice).await;
    let alice_elsewhere = joined(&alice.at(&b.address)).await;
    let bob = joined(&logged_in(b, "bob").await).await;
    let readers = vec![
        alice_elsewhere,
        bob,
        anonymous_socket(a).await,
        anonymous_socket(b).await,
    ];

    let before = now_ms();
    sender.send_chat("hello").await;

    let sent = next_chat(&mut sender).await;
    let received = within(
        WAIT,
        "every reader's chat",
        join_all(
            readers
                .into_iter()
                .map(|mut socket| async move { next_chat(&mut socket).await }),
        ),
    )
    .await;
    let after = now_ms();
    assert_message(&sent, "alice", "hello", before, after);
    for message in received {
        assert_eq!(message, sent, "every socket gets the same message");
    }
}

#[actix_web::test]
async fn a_chat_message_reaches_every_socket_of_the_lobby_the_senders_own_included_on_the_embedded_store(
) {
    let app = spawn_app_with(defaults).await;
    a_message_reaches_everyone(&app, &app).await;
}

#[actix_web::test]
async fn a_chat_message_reaches_every_socket_of_the_lobby_the_senders_own_included_across_two_instances_on_redis(
) {
    let (_redis, a, b) = two_on_redis(defaults).await;
    a_message_reaches_everyone(&a, &b).await;
}

/// `name` comes from the session, `id` and `at` from the server: whatever
/// the frame says about them is ignored.
async fn the_frame_cannot_choose_name_id_or_time(a: &TestApp, b: &TestApp) {
    let mut alice = joined(&logged_in(a, "alice").await).await;
    let mut reader = joined(&logged_in(b, "bob").await).await;

    let before = now_ms();
    alice
        .send_text(r#"{"event":"chat","data":{"text":"hi","name":"mallory"}}"#)
        .await;
    alice
        .send_text(&chat_frame(
            json!({"text": "again", "name": "mallory", "id": "forged", "at": 0}),
        ))
        .await;

    let first = next_chat(&mut reader).await;
    let second = next_chat(&mut reader).await;
    let after = now_ms();
    assert_message(&first, "alice", "hi", before, after);
    assert_message(&second, "alice", "again", before, after);
    assert_ne!(second["id"], "forged", "the server picks the id");
    assert_eq!(chats(&mut alice, 2).await, [first, second]);
}

#[actix_web::test]
async fn the_name_comes_from_the_session_not_from_the_frame_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    the_frame_cannot_choose_name_id_or_time(&app, &app).await;
}

#[actix_web::test]
async fn the_name_comes_from_the_session_not_from_the_frame_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(defaults).await;
    the_frame_cannot_choose_name_id_or_time(&a, &b).await;
}

/// Every message gets its own id, also when two instances assign them at
/// the same time.
async fn ids_are_unique(a: &TestApp, b: &TestApp) {
    const EACH: usize = 20;
    let mut alice = joined(&logged_in(a, "alice").await).await;
    let mut bob = joined(&logged_in(b, "bob").await).await;
    let mut reader = anonymous_socket(a).await;

    for i in 0..EACH {
        alice.send_chat(&format!("alice {i}")).await;
        bob.send_chat(&format!("bob {i}")).await;
    }

    let received = chats(&mut reader, 2 * EACH).await;
    let unique: HashSet<String> = ids(&received).into_iter().collect();
    assert_eq!(unique.len(), 2 * EACH, "ids are unique: {received:?}");
}

#[actix_web::test]
async fn every_message_gets_a_unique_id_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    ids_are_unique(&app, &app).await;
}

#[actix_web::test]
async fn every_message_gets_a_unique_id_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(defaults).await;
    ids_are_unique(&a, &b).await;
}

/// The text is trimmed of whitespace at both ends, and only there.
async fn the_text_is_trimmed(a: &TestApp, b: &TestApp) {
    let mut alice = joined(&logged_in(a, "alice").await).await;
    let mut reader = anonymous_socket(b).await;

    alice.send_chat("  hello world \n\t").await;
    alice.send_chat("\r\n two  spaces  inside \u{0b}").await;

    assert_eq!(next_chat(&mut reader).await["text"], "hello world");
    assert_eq!(next_chat(&mut reader).await["text"], "two  spaces  inside");
}

#[actix_web::test]
async fn the_text_is_trimmed_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    the_text_is_trimmed(&app, &app).await;
}

#[actix_web::test]
async fn the_text_is_trimmed_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(defaults).await;
    the_text_is_trimmed(&a, &b).await;
}

/// 500 characters are counted in Unicode scalar values (not bytes, not
/// UTF-16 units), after trimming, and are accepted.
async fn five_hundred_characters_are_accepted(a: &TestApp, b: &TestApp) {
    let mut alice = joined(&logged_in(a, "alice").await).await;
    let mut reader = anonymous_socket(b).await;
    let texts = [
        "a".repeat(500),
        "é".repeat(500),
        "😀".repeat(500),
        "e\u{301}".repeat(250),
        "x".to_owned(),
    ];

    for text in &texts {
        alice.send_chat(text).await;
    }
    alice.send_chat(&format!("  {} \n", "é".repeat(500))).await;

    for text in &texts {
        assert_eq!(next_chat(&mut reader).await["text"], text.as_str());
    }
    assert_eq!(next_chat(&mut reader).await["text"], "é".repeat(500));
}

#[actix_web::test]
async fn a_message_of_500_characters_is_accepted_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    five_hundred_characters_are_accepted(&app, &app).await;
}

#[actix_web::test]
async fn a_message_of_500_characters_is_accepted_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(defaults).await;
    five_hundred_characters_are_accepted(&a, &b).await;
}

// ---------------------------------------------------------------------------
// Errors

/// An anonymous session's chat gets `login_required`, also when the text is
/// bad too (login is checked first); nothing is posted and the socket stays
/// open: its next frame works.
async fn anonymous_chat_is_refused(a: &TestApp, b: &TestApp) {
    let mut anonymous = anonymous_socket(a).await;
    let mut reader = joined(&logged_in(b, "bob").await).await;
    let frames = [
        chat_frame(json!({"text": "hi"})),
        chat_frame(json!({"text": ""})),
        chat_frame(json!({"text": 5})),
        chat_frame(json!({"text": "a".repeat(501)})),
        chat_frame(json!({"text": "bell\u{7}"})),
        r#"{"event":"chat"}"#.to_owned(),
    ];

    for frame in &frames {
        anonymous.send_text(frame).await;
        expect_error(&mut anonymous, "login_required", frame).await;
    }

    anonymous.send_incr().await;
    anonymous.wait_for_count(1).await;
    reader.send_chat("after").await;
    assert_eq!(
        next_chat(&mut reader).await["text"],
        "after",
        "nothing of the anonymous session was posted"
    );
    assert_eq!(next_chat(&mut anonymous).await["text"], "after");
}

#[actix_web::test]
async fn an_anonymous_chat_gets_login_required_and_the_socket_stays_open_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    anonymous_chat_is_refused(&app, &app).await;
}

#[actix_web::test]
async fn an_anonymous_chat_gets_login_required_and_the_socket_stays_open_across_two_instances_on_redis(
) {
    let (_redis, a, b) = two_on_redis(defaults).await;
    anonymous_chat_is_refused(&a, &b).await;
}

/// A bad text gets `bad_message` (not a string; empty after trimming; more
/// than 500 characters; a control character); nothing is posted and the
/// socket stays open.
async fn bad_messages_are_refused(a: &TestApp, b: &TestApp) {
    let mut alice = joined(&logged_in(a, "alice").await).await;
    let mut reader = anonymous_socket(b).await;
    let frames = [
        // `text` is not a string.
        chat_frame(json!({"text": 5})),
        chat_frame(json!({"text": null})),
        chat_frame(json!({"text": ["hi"]})),
        chat_frame(json!({"text": {"text": "hi"}})),
        chat_frame(json!({"name": "alice"})),
        chat_frame(json!("hi")),
        chat_frame(json!(null)),
        r#"{"event":"chat"}"#.to_owned(),
        // Empty after trimming.
        chat_frame(json!({"text": ""})),
        chat_frame(json!({"text": "   "})),
        chat_frame(json!({"text": " \t\r\n "})),
        // 501 characters, trimmed or not.
        chat_frame(json!({"text": "a".repeat(501)})),
        chat_frame(json!({"text": "é".repeat(501)})),
        chat_frame(json!({"text": format!("  {}  ", "é".repeat(501))})),
        // A control character inside.
        chat_frame(json!({"text": "bell\u{7}"})),
        chat_frame(json!({"text": "line\nbreak"})),
        chat_frame(json!({"text": "tab\tinside"})),
        chat_frame(json!({"text": "nul\u{0}inside"})),
        chat_frame(json!({"text": "del\u{7f}inside"})),
        chat_frame(json!({"text": "csi\u{9b}inside"})),
    ];

    for frame in &frames {
        alice.send_text(frame).await;
        expect_error(&mut alice, "bad_message", frame).await;
    }

    alice.send_chat("still here").await;
    assert_eq!(next_chat(&mut alice).await["text"], "still here");
    assert_eq!(
        next_chat(&mut reader).await["text"],
        "still here",
        "no bad message was posted"
    );
}

#[actix_web::test]
async fn a_bad_text_gets_bad_message_and_the_socket_stays_open_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    bad_messages_are_refused(&app, &app).await;
}

#[actix_web::test]
async fn a_bad_text_gets_bad_message_and_the_socket_stays_open_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(defaults).await;
    bad_messages_are_refused(&a, &b).await;
}

// ---------------------------------------------------------------------------
// History

/// With `CHAT_HISTORY=3`, after 5 messages a new socket (anywhere) gets the
/// last 3, oldest first, exactly as they were sent live.
async fn history_holds_the_last_messages(a: &TestApp, b: &TestApp) {
    let alice = logged_in(a, "alice").await;
    let mut socket = joined(&alice).await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(post(&mut socket, &format!("message {i}")).await);
    }

    let (_, on_b) = b.visitor().connect_to_lobby().await;
    let (_, on_a) = alice.connect_to_lobby().await;

    assert_eq!(on_b.history, sent[2..], "the last 3, oldest first");
    assert_eq!(on_a.history, sent[2..], "the last 3, oldest first");
}

fn three_messages_of_history(config: &mut Config) {
    config.chat_history = 3;
}

#[actix_web::test]
async fn the_history_is_the_last_chat_history_messages_oldest_first_on_the_embedded_store() {
    let app = spawn_app_with(three_messages_of_history).await;
    history_holds_the_last_messages(&app, &app).await;
}

#[actix_web::test]
async fn the_history_is_the_last_chat_history_messages_oldest_first_across_two_instances_on_redis()
{
    let (_redis, a, b) = two_on_redis(three_messages_of_history).await;
    history_holds_the_last_messages(&a, &b).await;
}

/// With `CHAT_HISTORY=0` the history is an empty list, and live messages
/// still arrive.
async fn no_history(a: &TestApp, b: &TestApp) {
    let mut alice = joined(&logged_in(a, "alice").await).await;
    post(&mut alice, "one").await;
    post(&mut alice, "two").await;

    let (mut socket, Greeting { history, .. }) = b.visitor().connect_to_lobby().await;
    assert!(history.is_empty(), "no history: {history:?}");

    let live = post(&mut alice, "three").await;
    assert_eq!(next_chat(&mut socket).await, live);
}

fn no_history_config(config: &mut Config) {
    config.chat_history = 0;
}

#[actix_web::test]
async fn with_chat_history_0_the_history_is_empty_on_the_embedded_store() {
    let app = spawn_app_with(no_history_config).await;
    no_history(&app, &app).await;
}

#[actix_web::test]
async fn with_chat_history_0_the_history_is_empty_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(no_history_config).await;
    no_history(&a, &b).await;
}

/// With Redis the history is kept in Redis: the other instance, and an
/// instance started afterwards (as after a restart), give it too.
#[actix_web::test]
async fn with_redis_the_history_is_shared_by_every_instance_and_outlives_them() {
    let (redis, a, b) = two_on_redis(defaults).await;
    let mut alice = joined(&logged_in(&a, "alice").await).await;
    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(post(&mut alice, text).await);
    }

    let (_, on_b) = b.visitor().connect_to_lobby().await;
    assert_eq!(on_b.history, sent);

    let c = spawn_redis_app_with(&redis.url(), defaults).await;
    let (_, on_c) = c.visitor().connect_to_lobby().await;
    assert_eq!(on_c.history, sent, "a newly started instance has it");
}

// ---------------------------------------------------------------------------
// Order and completeness

/// Two posters on two instances each post N messages at once: every socket
/// (posters and watchers, on both instances) receives all 2N in the same
/// order, and each poster's messages in the order it sent them.
async fn one_order_for_everyone(a: &TestApp, b: &TestApp) {
    const EACH: usize = 40; // within the per-socket frame budget of 100
    let alice = logged_in(a, "alice").await;
    let mut alice_socket = joined(&alice).await;
    let mut bob_socket = joined(&logged_in(b, "bob").await).await;
    let mut watchers = vec![
        anonymous_socket(a).await,
        anonymous_socket(a).await,
        anonymous_socket(b).await,
        anonymous_socket(b).await,
        joined(&alice.at(&b.address)).await,
    ];

    tokio::join!(
        send_numbered(&mut alice_socket, "alice", EACH),
        send_numbered(&mut bob_socket, "bob", EACH)
    );

    watchers.push(alice_socket);
    watchers.push(bob_socket);
    let seen: Vec<Vec<Value>> = within(
        WAIT * 2,
        "every socket's messages",
        join_all(
            watchers
                .iter_mut()
                .map(|socket| async move { chats(socket, 2 * EACH).await }),
        ),
    )
    .await;

    for name in ["alice", "bob"] {
        let texts: Vec<&str> = seen[0]
            .iter()
            .filter(|message| message["name"] == name)
            .map(|message| message["text"].as_str().expect("a text"))
            .collect();
        let expected: Vec<String> = (0..EACH).map(|i| format!("{name} {i}")).collect();
        assert_eq!(texts, expected, "{name}'s messages keep their send order");
    }
    let order = ids(&seen[0]);
    for (i, messages) in seen.iter().enumerate() {
        assert_eq!(ids(messages), order, "socket {i} sees the one order");
    }
}

#[actix_web::test]
async fn every_socket_sees_one_order_while_two_posters_post_at_once_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    one_order_for_everyone(&app, &app).await;
}

#[actix_web::test]
async fn every_socket_sees_one_order_while_two_posters_post_at_once_across_two_instances_on_redis()
{
    let (_redis, a, b) = two_on_redis(defaults).await;
    one_order_for_everyone(&a, &b).await;
}

/// Sockets opened while a poster is posting get a history and live frames
/// that together form one unbroken run of the lobby's order: no gap, no
/// repeat, up to the last message.
async fn history_and_live_join_without_gap(a: &TestApp, b: &TestApp) {
    // Within the per-socket frame budget of 100, so nothing is dropped.
    const MESSAGES: usize = 90;
    const OPENERS: usize = 6;
    let mut poster = joined(&logged_in(a, "alice").await).await;
    let posted = Cell::new(0usize);

    // The poster posts 0..MESSAGES, each after its own copy came back; the
    // openers open one after another, spread over the posting.
    let posting = async {
        for i in 0..MESSAGES {
            post(&mut poster, &i.to_string()).await;
            posted.set(i + 1);
        }
    };
    let opening = async {
        let mut opened = Vec::new();
        for i in 0..OPENERS {
            let threshold = i * MESSAGES / OPENERS;
            wait_until("the poster to get ahead", || async {
                posted.get() >= threshold
            })
            .await;
            let app = if i % 2 == 0 { a } else { b };
            opened.push(app.visitor().connect_to_lobby().await);
        }
        opened
    };
    let ((), opened) = within(WAIT * 3, "posting and opening", async {
        tokio::join!(posting, opening)
    })
    .await;

    let number = |message: &Value| -> usize {
        message["text"]
            .as_str()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| panic!("a numbered message: {message}"))
    };
    for (i, (mut socket, greeting)) in opened.into_iter().enumerate() {
        let mut run: Vec<usize> = greeting.history.iter().map(number).collect();
        while run.last() != Some(&(MESSAGES - 1)) {
            let message = next_chat(&mut socket).await;
            run.push(number(&message));
        }
        assert!(
            run.windows(2).all(|pair| pair[1] == pair[0] + 1),
            "opener {i}: history ({} messages) then live frames form one unbroken run: {run:?}",
            greeting.history.len()
        );
        if greeting.history.len() < 50 {
            assert_eq!(
                run.first(),
                Some(&0),
                "opener {i}: a history shorter than CHAT_HISTORY holds every message: {run:?}"
            );
        }
    }
}

#[actix_web::test]
async fn a_socket_opened_while_messages_are_posted_gets_history_and_live_as_one_unbroken_run_on_the_embedded_store(
) {
    let app = spawn_app_with(defaults).await;
    history_and_live_join_without_gap(&app, &app).await;
}

#[actix_web::test]
async fn a_socket_opened_while_messages_are_posted_gets_history_and_live_as_one_unbroken_run_across_two_instances_on_redis(
) {
    let (_redis, a, b) = two_on_redis(defaults).await;
    history_and_live_join_without_gap(&a, &b).await;
}
