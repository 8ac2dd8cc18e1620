//! An instance that dies without closing its sockets (SIGKILL): the other
//! instances drop its users' presence within `INSTANCE_TTL_SECS` plus the
//! grace. Two instances of the compiled binary share one private Redis.

#[allow(dead_code)]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{mpsc, Arc},
    thread,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use reqwest::{
    cookie::{CookieStore, Jar},
    header, Url,
};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, Message};

use redis_server::RedisServer;

const BINARY: &str = env!("CARGO_BIN_EXE_session-bridge");

/// A valid secret (at least 64 bytes), shared by both instances.
const SECRET: &str = "crash-test-secret-crash-test-secret-crash-test-secret-0123456789abcdef";

/// Every variable of the contract: none is inherited from the caller's
/// environment, so a developer's settings cannot change the outcome.
const VARIABLES: [&str; 16] = [
    "HOST",
    "PORT",
    "SESSION_SECRET",
    "REDIS_URL",
    "SESSION_TTL_SECS",
    "SESSION_RELOAD_INTERVAL_SECS",
    "SOCKET_AUTH",
    "ALLOWED_ORIGINS",
    "COOKIE_SECURE",
    "RUST_LOG",
    "REDIS_KEY_PREFIX",
    "CHAT_HISTORY",
    "PRESENCE_GRACE_SECS",
    "INSTANCE_TTL_SECS",
    "MAX_SOCKETS_PER_SESSION",
    "MAX_SESSIONS",
];

/// The instance TTL and grace the test runs with.
const INSTANCE_TTL_SECS: u64 = 3;
const PRESENCE_GRACE_SECS: u64 = 1;

/// How long an instance may take to start and log its address.
const START_WAIT: Duration = Duration::from_secs(20);
/// The longest a socket read or HTTP request may take.
const WAIT: Duration = Duration::from_secs(10);
/// How long the survivor may take to drop the dead instance's users:
/// `INSTANCE_TTL_SECS` plus the grace, plus slack for a slow machine.
const CRASH_WAIT: Duration = Duration::from_secs(INSTANCE_TTL_SECS + PRESENCE_GRACE_SECS + 11);

/// One instance of the binary, killed when the test ends in any way.
struct Instance {
    child: Child,
    address: String,
    /// Keeps the log-draining thread going (the server never blocks on a
    /// full pipe).
    _log: mpsc::Receiver<String>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts the binary on a free port with the shared Redis.
    fn start(redis_url: &str) -> Self {
        let ttl = INSTANCE_TTL_SECS.to_string();
        let grace = PRESENCE_GRACE_SECS.to_string();
        let mut command = Command::new(BINARY);
        for var in VARIABLES {
            command.env_remove(var);
        }
        let mut child = command
            .envs([
                ("HOST", "127.0.0.1"),
                ("PORT", "0"),
                ("RUST_LOG", "info"),
                ("SESSION_SECRET", SECRET),
                ("REDIS_URL", redis_url),
                ("REDIS_KEY_PREFIX", "crash-test:"),
                ("INSTANCE_TTL_SECS", ttl.as_str()),
                ("PRESENCE_GRACE_SECS", grace.as_str()),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        let stderr = child.stderr.take().expect("stderr");

        let (lines, log) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                // Once the test stopped listening, keep draining anyway.
                let _ = lines.send(line);
            }
        });

        let mut seen = Vec::new();
        let deadline = Instant::now() + START_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = log.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no `serving` line within {START_WAIT:?}; log: {seen:#?}");
            };
            if let Some(port) = serving_port(&line) {
                return Self {
                    child,
                    address: format!("http://127.0.0.1:{port}"),
                    _log: log,
                };
            }
            seen.push(line);
        }
    }

    /// SIGKILL: the process dies without closing anything.
    fn kill_hard(&mut self) {
        let status = Command::new("kill")
            .arg("-KILL")
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -KILL failed");
        let _ = self.child.wait();
    }
}

/// The port in `serving http://127.0.0.1:PORT with the redis session store`.
fn serving_port(line: &str) -> Option<u16> {
    let rest = line.split("serving http://127.0.0.1:").nth(1)?;
    let (port, rest) = rest.split_once(' ')?;
    if rest != "with the redis session store" {
        return None;
    }
    port.parse().ok()
}

/// A browser: an HTTP client with a cookie jar.
struct Browser {
    http: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    fn new() -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .timeout(WAIT)
            .build()
            .expect("an HTTP client");
        Self { http, jar }
    }

    async fn login(&self, address: &str, name: &str) {
        let response = self
            .http
            .post(format!("{address}/login"))
            .json(&json!({ "name": name }))
            .send()
            .await
            .expect("POST /login");
        assert_eq!(response.status(), 204);
    }

    /// Opens a socket with this browser's cookie and reads its opening
    /// frames (`session`, `presence state`, `chat history`); returns it
    /// with its `presence state`.
    async fn connect(&self, address: &str) -> (Client, Value) {
        let base = Url::parse(address).expect("an address");
        let mut request = format!("ws://{}/ws", base.authority())
            .into_client_request()
            .expect("a ws request");
        if let Some(cookie) = self.jar.cookies(&base) {
            request.headers_mut().insert(header::COOKIE, cookie);
        }
        let (mut socket, response) =
            tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
                .await
                .expect("the handshake answers")
                .expect("the handshake succeeds");
        assert_eq!(response.status(), 101);
        let mut set_cookies = response.headers().get_all(header::SET_COOKIE).iter();
        self.jar.set_cookies(&mut set_cookies, &base);

        let session = next_frame(&mut socket).await;
        assert_eq!(session["event"], "session", "first frame {session}");
        let presence = next_frame(&mut socket).await;
        assert_eq!(
            presence["event"], "presence state",
            "second frame {presence}"
        );
        let history = next_frame(&mut socket).await;
        assert_eq!(history["event"], "chat history", "third frame {history}");
        (socket, presence["data"].clone())
    }
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next text frame as JSON, within `wait`.
async fn next_frame_within(socket: &mut Client, wait: Duration) -> Value {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("a frame within {wait:?}"));
        match next {
            Some(Ok(Message::Text(text))) => {
                return serde_json::from_str(&text).expect("frames are JSON")
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn next_frame(socket: &mut Client) -> Value {
    next_frame_within(socket, WAIT).await
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
    let mut a = Instance::start(&redis.url());
    let b = Instance::start(&redis.url());

    let (mut watcher, state) = Browser::new().connect(&b.address).await;
    assert_eq!(state, json!([]), "nobody is online yet");
    let alice = Browser::new();
    alice.login(&a.address, "alice").await;
    let (_alice_socket, state) = alice.connect(&a.address).await;
    assert_eq!(state, json!(["alice"]));
    assert_eq!(
        next_frame(&mut watcher).await,
        json!({"event": "presence", "data": {"name": "alice", "online": true}}),
        "the watcher on B sees alice come online on A"
    );
    wait_for_online(&b.address, json!(["alice"]), WAIT).await;

    let killed = Instant::now();
    a.kill_hard();

    let frame = next_frame_within(&mut watcher, CRASH_WAIT).await;
    assert_eq!(
        frame,
        json!({"event": "presence", "data": {"name": "alice", "online": false}}),
        "the watcher on B hears alice go offline (after {:?})",
        killed.elapsed()
    );
    wait_for_online(&b.address, json!([]), WAIT).await;
    let (_, state) = Browser::new().connect(&b.address).await;
    assert_eq!(state, json!([]), "a new socket on B does not list alice");
}
