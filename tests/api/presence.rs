//! Who is online: `GET /presence`, the `presence state` a socket opens with,
//! and the live `presence` frames: a user comes online with their first
//! socket anywhere and goes offline once they have had no socket anywhere
//! for `PRESENCE_GRACE_SECS`; reloads, login renewals and second sockets
//! announce nothing, and each socket sees online and offline alternate.
//!
//! Most promises are checked twice from one body taking two apps: on the
//! embedded store (the same app given twice) and on two instances sharing a
//! private Redis.

use std::{cell::Cell, time::Duration};

use futures_util::{future::join_all, StreamExt};
use serde_json::{json, Value};
use session_bridge::config::Config;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::{
    helpers::{
        spawn_app_with, spawn_redis_app_with, wait_until, within, Socket, TestApp, Visitor, WAIT,
    },
    redis_server::RedisServer,
};

// ---------------------------------------------------------------------------
// Helpers

/// How long a test watches for something that must not happen. Only a
/// bounded negative observation: a correct server passes whatever the
/// timing; a wrong one is caught when it misbehaves within the window.
const QUIET: Duration = Duration::from_millis(1500);

/// Slack for comparing the client's clock with the grace: an offline frame
/// may not come before the grace has run since the client closed its last
/// socket (the server can only start counting after that).
const CLOCK_SLACK: Duration = Duration::from_millis(250);

/// Keeps the contract's defaults.
fn defaults(_: &mut Config) {}

/// A user is announced offline as soon as their last socket closes.
fn no_grace(config: &mut Config) {
    config.presence_grace = Duration::ZERO;
}

/// A short grace, for tests that wait for an offline announcement.
fn short_grace(config: &mut Config) {
    config.presence_grace = Duration::from_secs(1);
}

/// A grace long enough that a reload, a reconnect or a test's quiet window
/// fits in it whatever the machine's speed.
fn long_grace(config: &mut Config) {
    config.presence_grace = Duration::from_secs(5);
}

/// Two running instances on one private Redis (kept alive by the caller).
async fn two_on_redis(change: impl Fn(&mut Config)) -> (RedisServer, TestApp, TestApp) {
    let redis = RedisServer::start();
    let a = spawn_redis_app_with(&redis.url(), &change).await;
    let b = spawn_redis_app_with(&redis.url(), &change).await;
    (redis, a, b)
}

/// A visitor of `app` logged in as `name`.
async fn logged_in(app: &TestApp, name: &str) -> Visitor {
    let visitor = app.visitor();
    visitor.login(name).await;
    visitor
}

/// Opens a socket for a logged-in `visitor` and checks that its `presence
/// state` lists its own user.
async fn user_socket(visitor: &Visitor, name: &str) -> Socket {
    let (socket, greeting) = visitor.connect_to_lobby().await;
    assert_eq!(greeting.session["name"], name);
    assert!(
        greeting.presence.iter().any(|online| online == name),
        "{name}'s own socket lists {name}: {:?}",
        greeting.presence
    );
    socket
}

/// An anonymous socket on `app` (a watcher: never in presence itself);
/// returns it with its `presence state`.
async fn watcher(app: &TestApp) -> (Socket, Vec<String>) {
    let (socket, greeting) = app.visitor().connect_to_lobby().await;
    assert_eq!(greeting.session["authenticated"], false);
    (socket, greeting.presence)
}

/// `GET /presence`: checks the shape, returns the names.
async fn online(app: &TestApp) -> Vec<String> {
    let response = reqwest::Client::new()
        .get(format!("{}/presence", app.address))
        .timeout(WAIT)
        .send()
        .await
        .expect("GET /presence");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("presence is JSON");
    let object = body.as_object().expect("a JSON object");
    assert_eq!(object.len(), 1, "only `online`: {body}");
    serde_json::from_value(body["online"].clone()).expect("`online` is a list of names")
}

/// Waits until `GET /presence` on `app` answers exactly `names`.
async fn wait_for_online(app: &TestApp, names: &[&str]) {
    wait_until(&format!("GET /presence to answer {names:?}"), || async {
        online(app).await == names
    })
    .await;
}

/// The next frame, which must be a `presence` frame; returns its data.
async fn next_presence(socket: &mut Socket) -> Value {
    let frame = socket.next_event().await;
    assert_eq!(
        frame["event"], "presence",
        "expected a presence frame: {frame}"
    );
    frame["data"].clone()
}

/// The `presence` frame that says `name` alone went online (or offline).
fn presence_of(name: &str, is_online: bool) -> Value {
    let (online, offline) = if is_online {
        (json!([name]), json!([]))
    } else {
        (json!([]), json!([name]))
    };
    json!({"event": "presence", "data": {"online": online, "offline": offline}})
}

/// The next frame must say `name` alone went online (or offline).
async fn expect_presence(socket: &mut Socket, name: &str, is_online: bool) {
    let frame = socket.next_event().await;
    assert_eq!(frame, presence_of(name, is_online));
}

/// The frames `socket` receives during `window` (pings aside).
async fn frames_within(socket: &mut Socket, window: Duration) -> Vec<Value> {
    let deadline = Instant::now() + window;
    let mut frames = Vec::new();
    while let Ok(next) = tokio::time::timeout_at(deadline, socket.stream.next()).await {
        match next {
            Some(Ok(Message::Text(text))) => {
                frames.push(serde_json::from_str(&text).expect("frames are JSON"))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            other => panic!("the socket stays open, got {other:?}"),
        }
    }
    frames
}

/// Watches `sockets` for [`QUIET`]: none may receive anything.
async fn assert_quiet(sockets: &mut [&mut Socket], why: &str) {
    let seen = join_all(
        sockets
            .iter_mut()
            .map(|socket| frames_within(socket, QUIET)),
    )
    .await;
    for (i, frames) in seen.iter().enumerate() {
        assert!(frames.is_empty(), "{why}: watcher {i} got {frames:?}");
    }
}

/// Closes `socket`, then expects `watcher` to hear that `name` went offline,
/// not before the grace has run.
async fn close_and_expect_offline(
    socket: Socket,
    watcher: &mut Socket,
    name: &str,
    grace: Duration,
) {
    let closed = Instant::now();
    socket.close().await;
    expect_presence(watcher, name, false).await;
    let waited = closed.elapsed();
    assert!(
        waited + CLOCK_SLACK >= grace,
        "{name} was announced offline {waited:?} after the last socket closed, before the grace of {grace:?}"
    );
}

// ---------------------------------------------------------------------------
// GET /presence and presence state

/// `GET /presence` lists every logged-in user with a socket on any
/// instance, sorted by code point, each once (however many sockets and
/// sessions), anonymous sockets never; `presence state` says the same.
async fn presence_lists_users_sorted_each_once(a: &TestApp, b: &TestApp) {
    assert!(online(a).await.is_empty(), "nobody is online at first");
    assert!(online(b).await.is_empty(), "nobody is online at first");

    let bob = logged_in(a, "bob").await;
    let alice = logged_in(b, "alice").await;
    let alice_again = logged_in(a, "alice").await;
    let alice_trimmed = logged_in(b, "  alice ").await;
    let zoe = logged_in(a, "Zoë").await;
    let emile = logged_in(b, "Émile").await;
    let anonymous = a.visitor();
    anonymous.get_index().await;
    let _sockets = [
        user_socket(&bob, "bob").await,
        user_socket(&alice, "alice").await,
        user_socket(&alice.at(&a.address), "alice").await,
        user_socket(&alice_again, "alice").await,
        user_socket(&alice_trimmed, "alice").await,
        user_socket(&zoe, "Zoë").await,
        user_socket(&emile, "Émile").await,
        anonymous.connect_to_lobby().await.0,
        anonymous.at(&b.address).connect_to_lobby().await.0,
        b.visitor().connect_to_lobby().await.0,
    ];

    // Code point order: upper case before lower case, "É" after "z".
    let expected = ["Zoë", "alice", "bob", "Émile"];
    wait_for_online(a, &expected).await;
    wait_for_online(b, &expected).await;
    let (_, state) = watcher(b).await;
    assert_eq!(state, expected);
    let (_, state) = watcher(a).await;
    assert_eq!(state, expected);
}

#[actix_web::test]
async fn get_presence_lists_the_online_users_sorted_each_once_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    presence_lists_users_sorted_each_once(&app, &app).await;
}

#[actix_web::test]
async fn get_presence_lists_the_online_users_sorted_each_once_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(defaults).await;
    presence_lists_users_sorted_each_once(&a, &b).await;
}

// ---------------------------------------------------------------------------
// Coming online

/// A logged-in user's first socket is announced to the lobby (on every
/// instance) and listed by `GET /presence` and later `presence state`s.
async fn coming_online_is_announced(a: &TestApp, b: &TestApp) {
    let (mut watching, state) = watcher(b).await;
    assert!(state.is_empty(), "nobody is online yet: {state:?}");

    let alice = logged_in(a, "alice").await;
    let _socket = user_socket(&alice, "alice").await;

    expect_presence(&mut watching, "alice", true).await;
    wait_for_online(b, &["alice"]).await;
    wait_for_online(a, &["alice"]).await;
    let (_, state) = watcher(b).await;
    assert_eq!(state, ["alice"]);
}

#[actix_web::test]
async fn a_user_opening_a_socket_is_announced_online_to_the_lobby_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    coming_online_is_announced(&app, &app).await;
}

#[actix_web::test]
async fn a_user_online_on_one_instance_is_announced_and_listed_on_the_other_on_redis() {
    let (_redis, a, b) = two_on_redis(defaults).await;
    coming_online_is_announced(&a, &b).await;
}

/// Anonymous sockets (with a session from `GET /`, or from the handshake)
/// are never announced nor listed.
async fn anonymous_sockets_are_never_in_presence(a: &TestApp, b: &TestApp) {
    let (mut watching, _) = watcher(a).await;
    let anonymous = a.visitor();
    anonymous.get_index().await;
    let _sockets = [
        anonymous.connect_to_lobby().await.0,
        anonymous.at(&b.address).connect_to_lobby().await.0,
        watcher(b).await.0,
    ];
    let alice = logged_in(b, "alice").await;
    let _alice = user_socket(&alice, "alice").await;

    // Alice's arrival comes first: nothing was said about the anonymous ones.
    expect_presence(&mut watching, "alice", true).await;
    wait_for_online(a, &["alice"]).await;
    wait_for_online(b, &["alice"]).await;
    let state = anonymous.connect_to_lobby().await.1.presence;
    assert_eq!(state, ["alice"]);
}

#[actix_web::test]
async fn anonymous_sockets_never_appear_in_presence_on_the_embedded_store() {
    let app = spawn_app_with(defaults).await;
    anonymous_sockets_are_never_in_presence(&app, &app).await;
}

#[actix_web::test]
async fn anonymous_sockets_never_appear_in_presence_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(defaults).await;
    anonymous_sockets_are_never_in_presence(&a, &b).await;
}

// ---------------------------------------------------------------------------
// Going offline

/// Closing a user's last socket announces them offline once the grace
/// (1 s) has run, everywhere, and they leave `GET /presence`.
async fn going_offline_after_the_grace(a: &TestApp, b: &TestApp) {
    let (mut watching, _) = watcher(b).await;
    let alice = logged_in(a, "alice").await;
    let socket = user_socket(&alice, "alice").await;
    expect_presence(&mut watching, "alice", true).await;

    close_and_expect_offline(socket, &mut watching, "alice", Duration::from_secs(1)).await;

    wait_for_online(a, &[]).await;
    wait_for_online(b, &[]).await;
    let (_, state) = watcher(a).await;
    assert!(state.is_empty(), "alice is gone: {state:?}");
}

#[actix_web::test]
async fn closing_the_last_socket_announces_the_user_offline_after_the_grace_on_the_embedded_store()
{
    let app = spawn_app_with(short_grace).await;
    going_offline_after_the_grace(&app, &app).await;
}

#[actix_web::test]
async fn closing_the_last_socket_announces_the_user_offline_after_the_grace_across_two_instances_on_redis(
) {
    let (_redis, a, b) = two_on_redis(short_grace).await;
    going_offline_after_the_grace(&a, &b).await;
}

/// During the grace (5 s) the user stays online: listed, in `presence
/// state`, and not announced offline; then the offline comes.
async fn online_during_the_grace(a: &TestApp, b: &TestApp) {
    let (mut watching, _) = watcher(b).await;
    let alice = logged_in(a, "alice").await;
    let socket = user_socket(&alice, "alice").await;
    expect_presence(&mut watching, "alice", true).await;

    let closed = Instant::now();
    socket.close().await;

    assert_eq!(online(a).await, ["alice"], "listed during the grace");
    assert_eq!(online(b).await, ["alice"], "listed during the grace");
    let (_, state) = watcher(b).await;
    assert_eq!(state, ["alice"], "in presence state during the grace");
    assert_quiet(&mut [&mut watching], "no offline before the grace").await;
    expect_presence(&mut watching, "alice", false).await;
    assert!(
        closed.elapsed() + CLOCK_SLACK >= Duration::from_secs(5),
        "the offline came {:?} after the close, before the grace",
        closed.elapsed()
    );
}

#[actix_web::test]
async fn a_user_is_not_announced_offline_before_the_grace_on_the_embedded_store() {
    let app = spawn_app_with(long_grace).await;
    online_during_the_grace(&app, &app).await;
}

#[actix_web::test]
async fn a_user_is_not_announced_offline_before_the_grace_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(long_grace).await;
    online_during_the_grace(&a, &b).await;
}

// ---------------------------------------------------------------------------
// No flapping

/// A user with several sockets (two of one session on two instances, one
/// of another session under the same name) is not announced offline while
/// any of them is open, even with no grace; the last one's close is.
async fn closing_one_of_several_sockets_announces_nothing(a: &TestApp, b: &TestApp) {
    let (mut watch_a, _) = watcher(a).await;
    let (mut watch_b, _) = watcher(b).await;
    let alice = logged_in(a, "alice").await;
    let alice_elsewhere = logged_in(b, "alice").await;
    let first = user_socket(&alice, "alice").await;
    let second = user_socket(&alice.at(&b.address), "alice").await;
    let third = user_socket(&alice_elsewhere, "alice").await;
    expect_presence(&mut watch_a, "alice", true).await;
    expect_presence(&mut watch_b, "alice", true).await;

    first.close().await;
    assert_quiet(
        &mut [&mut watch_a, &mut watch_b],
        "alice still has 2 sockets",
    )
    .await;
    second.close().await;
    assert_quiet(
        &mut [&mut watch_a, &mut watch_b],
        "alice still has 1 socket",
    )
    .await;
    assert_eq!(online(a).await, ["alice"]);
    assert_eq!(online(b).await, ["alice"]);

    third.close().await;
    expect_presence(&mut watch_a, "alice", false).await;
    expect_presence(&mut watch_b, "alice", false).await;
}

#[actix_web::test]
async fn closing_one_of_two_sockets_of_a_user_announces_nothing_on_the_embedded_store() {
    let app = spawn_app_with(no_grace).await;
    closing_one_of_several_sockets_announces_nothing(&app, &app).await;
}

#[actix_web::test]
async fn closing_one_of_two_sockets_of_a_user_announces_nothing_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(no_grace).await;
    closing_one_of_several_sockets_announces_nothing(&a, &b).await;
}

/// A page reload (the socket closes and a new one opens, here on the other
/// instance, within the grace) announces nothing, and the grace of the
/// first close does not run out on the new socket: the offline comes a
/// full grace after the new socket closes.
async fn a_reload_announces_nothing(a: &TestApp, b: &TestApp) {
    let (mut watching, _) = watcher(b).await;
    let alice = logged_in(a, "alice").await;
    let socket = user_socket(&alice, "alice").await;
    expect_presence(&mut watching, "alice", true).await;

    socket.close().await;
    let reloaded = user_socket(&alice.at(&b.address), "alice").await;

    assert_quiet(&mut [&mut watching], "a reload is no departure").await;
    assert_eq!(online(a).await, ["alice"]);
    assert_eq!(online(b).await, ["alice"]);
    close_and_expect_offline(reloaded, &mut watching, "alice", Duration::from_secs(5)).await;
}

#[actix_web::test]
async fn a_page_reload_within_the_grace_announces_nothing_on_the_embedded_store() {
    let app = spawn_app_with(long_grace).await;
    a_reload_announces_nothing(&app, &app).await;
}

#[actix_web::test]
async fn a_page_reload_within_the_grace_announces_nothing_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(long_grace).await;
    a_reload_announces_nothing(&a, &b).await;
}

/// Logging in again while a socket is open closes it with 4001; the client
/// reconnecting with the new cookie (here on the other instance) announces
/// nothing.
async fn a_login_renewal_announces_nothing(a: &TestApp, b: &TestApp) {
    let (mut watching, _) = watcher(b).await;
    let alice = logged_in(a, "alice").await;
    let mut socket = user_socket(&alice, "alice").await;
    expect_presence(&mut watching, "alice", true).await;

    alice.login("alice").await;
    assert_eq!(socket.expect_close(4001).await, "session renewed");
    let renewed = user_socket(&alice.at(&b.address), "alice").await;

    assert_quiet(&mut [&mut watching], "a renewal is no departure").await;
    assert_eq!(online(a).await, ["alice"]);
    assert_eq!(online(b).await, ["alice"]);
    close_and_expect_offline(renewed, &mut watching, "alice", Duration::from_secs(5)).await;
}

#[actix_web::test]
async fn a_login_renewal_with_an_open_socket_announces_nothing_on_the_embedded_store() {
    let app = spawn_app_with(long_grace).await;
    a_login_renewal_announces_nothing(&app, &app).await;
}

#[actix_web::test]
async fn a_login_renewal_with_an_open_socket_announces_nothing_across_two_instances_on_redis() {
    let (_redis, a, b) = two_on_redis(long_grace).await;
    a_login_renewal_announces_nothing(&a, &b).await;
}

/// Sockets of one user opening on both instances at once (two browsers
/// logged in under one name) bring exactly one `online` to each watcher,
/// and closing them all exactly one `offline`; round after round.
async fn one_announcement_per_transition(a: &TestApp, b: &TestApp) {
    const ROUNDS: usize = 5;
    let (mut watch_a, _) = watcher(a).await;
    let (mut watch_b, _) = watcher(b).await;
    let alice_on_a = logged_in(a, "alice").await;
    let alice_on_b = logged_in(b, "alice").await;

    for round in 0..ROUNDS {
        let (first, second) =
            tokio::join!(alice_on_a.connect_to_lobby(), alice_on_b.connect_to_lobby());
        for watching in [&mut watch_a, &mut watch_b] {
            let data = next_presence(watching).await;
            assert_eq!(
                data,
                presence_of("alice", true)["data"],
                "round {round}: one online"
            );
        }
        tokio::join!(first.0.close(), second.0.close());
        for watching in [&mut watch_a, &mut watch_b] {
            let data = next_presence(watching).await;
            assert_eq!(
                data,
                presence_of("alice", false)["data"],
                "round {round}: one offline, no second online"
            );
        }
    }
    assert_quiet(&mut [&mut watch_a, &mut watch_b], "no late duplicate").await;
}

#[actix_web::test]
async fn each_watcher_gets_exactly_one_announcement_per_transition_on_the_embedded_store() {
    let app = spawn_app_with(no_grace).await;
    one_announcement_per_transition(&app, &app).await;
}

#[actix_web::test]
async fn each_watcher_gets_exactly_one_announcement_per_transition_even_with_two_instances_on_redis(
) {
    let (_redis, a, b) = two_on_redis(no_grace).await;
    one_announcement_per_transition(&a, &b).await;
}

/// Reads alice's announcements on `socket` (the watcher on `watching`) until
/// `done` is set, the last one was an offline and a quiet window passed;
/// returns them, `true` for online.
async fn alice_announcements(socket: &mut Socket, watching: &str, done: &Cell<bool>) -> Vec<bool> {
    let mut states = Vec::new();
    loop {
        let frames = frames_within(socket, QUIET).await;
        for frame in &frames {
            assert_eq!(frame["event"], "presence", "watcher on {watching}: {frame}");
            if frame == &presence_of("alice", true) {
                states.push(true);
            } else {
                assert_eq!(frame, &presence_of("alice", false), "watcher on {watching}");
                states.push(false);
            }
        }
        if done.get() && frames.is_empty() && states.last() == Some(&false) {
            return states;
        }
    }
}

/// While a user connects and disconnects over and over (alternating
/// instances, as fast as it can, no grace), every watcher sees online and
/// offline strictly alternate, starting with online and ending offline.
async fn presence_alternates(a: &TestApp, b: &TestApp) {
    const CYCLES: usize = 15;
    let (mut watch_a, _) = watcher(a).await;
    let (mut watch_b, _) = watcher(b).await;
    let alice = logged_in(a, "alice").await;
    let alice_on_b = alice.at(&b.address);

    // The watchers read all along (so they answer the server's pings),
    // until the user has gone and the last announcement was an offline
    // followed by a quiet window.
    let churned = Cell::new(false);
    let churn = async {
        for cycle in 0..CYCLES {
            let visitor = if cycle % 2 == 0 { &alice } else { &alice_on_b };
            let (mut socket, _) = visitor.connect_to_lobby().await;
            // Send the close frame and hang up, without waiting for the
            // server's side of the closing handshake.
            let _ = within(WAIT, "sending a close frame", socket.stream.close(None)).await;
            drop(socket);
        }
        wait_for_online(a, &[]).await;
        wait_for_online(b, &[]).await;
        churned.set(true);
    };
    let ((), seen_a, seen_b) = within(WAIT * 3, "the announcements to settle", async {
        tokio::join!(
            churn,
            alice_announcements(&mut watch_a, "A", &churned),
            alice_announcements(&mut watch_b, "B", &churned)
        )
    })
    .await;

    for (watching, states) in [("A", seen_a), ("B", seen_b)] {
        assert_eq!(
            states.first(),
            Some(&true),
            "the watcher on {watching} starts with online: {states:?}"
        );
        assert!(
            states.windows(2).all(|pair| pair[0] != pair[1]),
            "the watcher on {watching}: online and offline alternate: {states:?}"
        );
    }
}

#[actix_web::test]
async fn online_and_offline_strictly_alternate_while_a_user_comes_and_goes_on_the_embedded_store() {
    let app = spawn_app_with(no_grace).await;
    presence_alternates(&app, &app).await;
}

#[actix_web::test]
async fn online_and_offline_strictly_alternate_while_a_user_comes_and_goes_across_two_instances_on_redis(
) {
    let (_redis, a, b) = two_on_redis(no_grace).await;
    presence_alternates(&a, &b).await;
}

// ---------------------------------------------------------------------------
// Batches (PRESENCE_BATCH_MS)

/// A batch long enough that what a test does inside it surely fits.
fn long_batch(config: &mut Config) {
    config.presence_grace = Duration::ZERO;
    config.presence_batch = Duration::from_secs(3);
}

/// Users arriving within one batch, on one or two instances, reach a watcher
/// as one frame: both keys, sorted, each name once. A user who came and went
/// within the batch is in neither list.
async fn a_burst_is_one_frame(a: &TestApp, b: &TestApp) {
    let (mut watch, _) = watcher(a).await;
    let names = ["erin", "Bob", "dave", "carol", "ålice"];
    let mut sockets = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let app = if i % 2 == 0 { a } else { b };
        sockets.push(user_socket(&logged_in(app, name).await, name).await);
    }
    // Someone who comes and goes inside the same batch.
    let fleeting = logged_in(b, "zed").await;
    user_socket(&fleeting, "zed").await.close().await;
    wait_for_online(a, &["Bob", "carol", "dave", "erin", "ålice"]).await;

    let frame = within(WAIT, "the batch", watch.expect_event("presence")).await;
    assert_eq!(
        frame,
        json!({"online": ["Bob", "carol", "dave", "erin", "ålice"], "offline": []}),
        "one frame for the whole burst, sorted by code point"
    );
    assert_quiet(&mut [&mut watch], "nothing more for this burst").await;

    // Leaving, likewise: one frame with every name.
    for socket in sockets {
        socket.close().await;
    }
    let frame = within(WAIT, "the batch", watch.expect_event("presence")).await;
    assert_eq!(
        frame,
        json!({"online": [], "offline": ["Bob", "carol", "dave", "erin", "ålice"]})
    );
}

#[actix_web::test]
async fn users_arriving_within_one_batch_are_announced_in_one_frame_on_the_embedded_store() {
    let app = spawn_app_with(long_batch).await;
    a_burst_is_one_frame(&app, &app).await;
}

#[actix_web::test]
async fn users_arriving_on_two_instances_within_one_batch_are_announced_in_one_frame_on_redis() {
    let (_redis, a, b) = two_on_redis(long_batch).await;
    a_burst_is_one_frame(&a, &b).await;
}
