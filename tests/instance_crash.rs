//! An instance that dies without closing its sockets (SIGKILL): the other
//! instances drop its users' presence within `INSTANCE_TTL_SECS` plus the
//! grace. Two instances of the compiled binary share one private Redis.

#[allow(dead_code)]
#[path = "support/redis_server.rs"]
mod redis_server;

#[allow(dead_code)]
#[path = "support/server_process.rs"]
mod server_process;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use redis_server::RedisServer;
use server_process::{next_frame, Browser, ServerProcess, Socket, WAIT};

/// The instance TTL and grace the test runs with.
const INSTANCE_TTL_SECS: u64 = 3;
const PRESENCE_GRACE_SECS: u64 = 1;

/// How long the survivor may take to drop the dead instance's users:
/// `INSTANCE_TTL_SECS` plus the grace, plus slack for a slow machine.
const CRASH_WAIT: Duration = Duration::from_secs(INSTANCE_TTL_SECS + PRESENCE_GRACE_SECS + 11);

/// Starts an instance of the binary on a free port with the shared Redis.
fn start_instance(redis_url: &str) -> ServerProcess {
    let ttl = INSTANCE_TTL_SECS.to_string();
    let grace = PRESENCE_GRACE_SECS.to_string();
    ServerProcess::start(&[
        ("REDIS_URL", redis_url),
        ("REDIS_KEY_PREFIX", "crash-test:"),
        ("INSTANCE_TTL_SECS", ttl.as_str()),
        ("PRESENCE_GRACE_SECS", grace.as_str()),
    ])
}

/// Opens a socket with `browser`'s cookie and reads its opening frames
/// (`session`, `presence state`, `chat history`); returns it with its
/// `presence state`.
async fn open_socket(browser: &Browser, address: &str) -> (Socket, Value) {
    let mut socket = browser.connect(address).await;
    let session = next_frame(&mut socket, WAIT).await;
    assert_eq!(session["event"], "session", "first frame {session}");
    let presence = next_frame(&mut socket, WAIT).await;
    assert_eq!(
        presence["event"], "presence state",
        "second frame {presence}"
    );
    let history = next_frame(&mut socket, WAIT).await;
    assert_eq!(history["event"], "chat history", "third frame {history}");
    (socket, presence["data"].clone())
}

/// `GET /presence`'s names.
async fn online(address: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{address}/presence"))
        .timeout(WAIT)
        .send()
        .await
        .expect("GET /presence");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("presence is JSON");
    body["online"].clone()
}

/// Polls `GET /presence` on `address` until it answers `names`, within `wait`.
async fn wait_for_online(address: &str, names: Value, wait: Duration) {
    let deadline = Instant::now() + wait;
    loop {
        let now = online(address).await;
        if now == names {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "GET /presence still answers {now} after {wait:?}, expected {names}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// SIGKILL one instance while a user has a socket on it: a watcher on the
/// other instance hears the user go offline within the instance TTL plus
/// the grace, and the other instance stops listing the user.
#[tokio::test]
async fn a_killed_instances_users_are_announced_offline_by_the_survivor() {
    let redis = RedisServer::start();
    let mut a = start_instance(&redis.url());
    let a_address = a.address();
    let b = start_instance(&redis.url());
    let b_address = b.address();

    let (mut watcher, state) = open_socket(&Browser::new(), &b_address).await;
    assert_eq!(state, json!([]), "nobody is online yet");
    let alice = Browser::new();
    alice.login(&a_address, "alice").await;
    let (_alice_socket, state) = open_socket(&alice, &a_address).await;
    assert_eq!(state, json!(["alice"]));
    assert_eq!(
        next_frame(&mut watcher, WAIT).await,
        json!({"event": "presence", "data": {"online": ["alice"], "offline": []}}),
        "the watcher on B sees alice come online on A"
    );
    wait_for_online(&b_address, json!(["alice"]), WAIT).await;

    let killed = Instant::now();
    a.process.kill_hard();

    let frame = next_frame(&mut watcher, CRASH_WAIT).await;
    assert_eq!(
        frame,
        json!({"event": "presence", "data": {"online": [], "offline": ["alice"]}}),
        "the watcher on B hears alice go offline (after {:?})",
        killed.elapsed()
    );
    wait_for_online(&b_address, json!([]), WAIT).await;
    let (_, state) = open_socket(&Browser::new(), &b_address).await;
    assert_eq!(state, json!([]), "a new socket on B does not list alice");
}
