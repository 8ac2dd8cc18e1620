//! The compiled `session-bridge` binary as a child process, as an operator
//! runs it: started with a clean environment (none of the contract's
//! variables is inherited from the caller, so a developer's `REDIS_URL` cannot
//! change the outcome), its port read from the start-up log line, and stopped
//! by pid (SIGKILL, then reaped) when the test ends in any way, so no test
//! leaks a process. Also a browser-like client (HTTP with a cookie jar, and
//! WebSockets that carry its cookie) to talk to it.

use std::{
    io::{BufRead, BufReader, Read},
    process::{Child, Command, ExitStatus, Stdio},
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

/// The binary under test.
const BINARY: &str = env!("CARGO_BIN_EXE_session-bridge");

/// A valid `SESSION_SECRET` (at least 64 bytes), shared by every instance a
/// test starts.
pub const SECRET: &str = "server-process-test-secret-server-process-test-secret-0123456789abcdef";

/// Every variable of the contract's configuration table: each is removed from
/// the child's environment before the test's own are set.
pub use session_bridge::config::VARIABLES;

/// How long the server may take to start and log its address.
pub const START_WAIT: Duration = Duration::from_secs(20);
/// The longest a socket read or an HTTP request may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// The binary with a clean environment (none of [`VARIABLES`]) plus `vars`.
fn command(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    for var in *VARIABLES {
        command.env_remove(var);
    }
    command.envs(vars.iter().copied());
    command
}

/// A child process, stopped by pid (SIGKILL) and reaped when dropped.
pub struct ChildProcess {
    child: Child,
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildProcess {
    /// Starts the binary with a clean environment (none of [`VARIABLES`])
    /// plus `vars`, stdin closed, stderr piped and stdout as `stdout` says;
    /// fails the test if it cannot.
    pub fn spawn(vars: &[(&str, &str)], stdout: Stdio) -> Self {
        let child = command(vars)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary");
        Self { child }
    }

    /// Waits for the process to exit on its own, up to `wait`.
    pub fn wait_for_exit(&mut self, wait: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + wait;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Reads all of stdout (spawned with [`Stdio::piped`]) and stderr, once
    /// the process exited.
    pub fn read_output(&mut self) -> (String, String) {
        let mut stdout = String::new();
        let mut stderr = String::new();
        self.child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut stdout)
            .expect("read stdout");
        self.child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read stderr");
        (stdout, stderr)
    }

    /// Sends `signal` (a name as `kill` takes it: `TERM`, `INT`, `KILL`) to
    /// the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// SIGKILL: the process dies without closing anything; then it is reaped.
    pub fn kill_hard(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }
}

/// The server, started on a free port, with its log (stderr) collected.
pub struct ServerProcess {
    /// The running binary.
    pub process: ChildProcess,
    /// The port it serves on.
    pub port: u16,
    /// Every log line after the `serving` one. A thread drains stderr for
    /// the process's whole life, so the server never blocks on a full pipe.
    pub log: mpsc::Receiver<String>,
}

impl ServerProcess {
    /// Starts the binary on `127.0.0.1`, a free port, `RUST_LOG=info` and
    /// [`SECRET`], plus `vars` (which may override those), and waits for its
    /// `serving` line: with the `redis` session store when `vars` sets
    /// `REDIS_URL`, else the `memory` one. Fails the test (and stops the
    /// process) if that line does not come within [`START_WAIT`].
    pub fn start(vars: &[(&str, &str)]) -> Self {
        let store = if vars.iter().any(|(name, _)| *name == "REDIS_URL") {
            "redis"
        } else {
            "memory"
        };
        let mut all = vec![
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("RUST_LOG", "info"),
            ("SESSION_SECRET", SECRET),
        ];
        all.extend_from_slice(vars);
        let mut process = ChildProcess::spawn(&all, Stdio::null());
        let stderr = process.child.stderr.take().expect("stderr");

        let (lines, log) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { return };
                // Once the test stopped listening, keep draining anyway.
                let _ = lines.send(line);
            }
        });

        let deadline = Instant::now() + START_WAIT;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            // On panic `process` is dropped, which stops the child.
            let line = log.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no `serving` line within {START_WAIT:?}; log: {seen:#?}")
            });
            if let Some(port) = serving_port(&line, store) {
                return Self { process, port, log };
            }
            seen.push(line);
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn address(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// The port in `serving http://127.0.0.1:PORT with the STORE session store`.
fn serving_port(line: &str, store: &str) -> Option<u16> {
    let rest = line.split("serving http://127.0.0.1:").nth(1)?;
    let (port, rest) = rest.split_once(' ')?;
    if rest != format!("with the {store} session store") {
        return None;
    }
    port.parse().ok()
}

/// A client WebSocket.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A browser: an HTTP client with a cookie jar, whose sockets carry its
/// cookie and keep the one a handshake sets.
pub struct Browser {
    /// The HTTP client; it sends and stores the jar's cookies.
    pub http: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    /// A browser with an empty cookie jar.
    pub fn new() -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .timeout(WAIT)
            .build()
            .expect("an HTTP client");
        Self { http, jar }
    }

    /// `POST /login` with `name` on the app at `address`; expects 204.
    pub async fn login(&self, address: &str, name: &str) {
        let response = self
            .http
            .post(format!("{address}/login"))
            .json(&json!({ "name": name }))
            .send()
            .await
            .expect("POST /login");
        assert_eq!(response.status(), 204);
    }

    /// Opens `/ws` on the app at `address` with this browser's cookie and
    /// expects the upgrade (101); keeps any cookie the handshake sets. The
    /// opening frames are left to the caller.
    pub async fn connect(&self, address: &str) -> Socket {
        let base = Url::parse(address).expect("an address");
        let mut request = format!("ws://{}/ws", base.authority())
            .into_client_request()
            .expect("a ws request");
        if let Some(cookie) = self.jar.cookies(&base) {
            request.headers_mut().insert(header::COOKIE, cookie);
        }
        let (socket, response) =
            tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
                .await
                .expect("the handshake answers")
                .expect("the handshake succeeds");
        assert_eq!(response.status(), 101);
        let mut set_cookies = response.headers().get_all(header::SET_COOKIE).iter();
        self.jar.set_cookies(&mut set_cookies, &base);
        socket
    }
}

/// The next message other than a ping or pong, within `wait`; fails the test
/// if none comes or the socket ends.
pub async fn next_message(socket: &mut Socket, wait: Duration) -> Message {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let next = tokio::time::timeout_at(deadline, socket.next())
            .await
            .unwrap_or_else(|_| panic!("a frame within {wait:?}"))
            .expect("the socket is open")
            .expect("a valid frame");
        if !matches!(next, Message::Ping(_) | Message::Pong(_)) {
            return next;
        }
    }
}

/// The next text frame as JSON, within `wait`; fails the test on any other
/// message.
pub async fn next_frame(socket: &mut Socket, wait: Duration) -> Value {
    match next_message(socket, wait).await {
        Message::Text(text) => serde_json::from_str(&text).expect("frames are JSON"),
        other => panic!("expected a text frame, got {other:?}"),
    }
}
