//! The compiled binary as an operator runs it: a bad variable stops it before
//! anything starts (exit code 2, one line naming the variable), and SIGTERM or
//! Ctrl-C closes every socket with 1001 and exits 0.

use std::{
    io::{BufRead, BufReader, Read},
    net::TcpListener,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};

const BINARY: &str = env!("CARGO_BIN_EXE_session-bridge");

/// A valid secret (at least 64 bytes).
const SECRET: &str = "process-test-secret-process-test-secret-process-test-secret-0123456789";

/// Every variable of the contract: none is inherited from the caller's
/// environment, so a developer's `REDIS_URL` cannot change the outcome.
const VARIABLES: [&str; 10] = [
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
];

/// How long the binary may take to refuse a bad configuration.
const EXIT_WAIT: Duration = Duration::from_secs(10);
/// How long the server may take to start and log its address.
const START_WAIT: Duration = Duration::from_secs(20);
/// How long a shutdown may take (the contract promises 10 s; this leaves
/// room for a slow machine while still catching a hang).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(15);
/// The longest a socket read may take.
const SOCKET_WAIT: Duration = Duration::from_secs(10);

/// The child process, killed when the test ends in any way.
struct Running {
    child: Child,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Waits for the process to exit on its own, up to `wait`.
    fn wait_for_exit(&mut self, wait: Duration) -> Option<ExitStatus> {
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

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} failed");
    }
}

/// The binary with a clean environment plus `vars`.
fn command(vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    for var in VARIABLES {
        command.env_remove(var);
    }
    command.envs(vars.iter().copied());
    command
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

/// Runs the binary with one bad variable (on top of an otherwise valid
/// configuration) and checks the refusal: exit code 2, nothing on stdout,
/// exactly one line on stderr, naming `names`.
fn assert_refused(bad: (&str, &str), names: &str) {
    let port = free_port().to_string();
    let mut vars = vec![
        ("HOST", "127.0.0.1"),
        ("PORT", port.as_str()),
        ("SESSION_SECRET", SECRET),
    ];
    vars.retain(|(name, _)| *name != bad.0);
    if bad.0 == "REDIS_URL" {
        // Redis needs a shared secret: leave it out to get that error.
        vars.retain(|(name, _)| *name != "SESSION_SECRET");
    }
    vars.push(bad);

    let mut running = Running {
        child: command(&vars)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the binary"),
    };
    let status = running.wait_for_exit(EXIT_WAIT);
    let mut stdout = String::new();
    let mut stderr = String::new();
    if status.is_some() {
        let child = &mut running.child;
        child
            .stdout
            .take()
            .expect("stdout")
            .read_to_string(&mut stdout)
            .expect("read stdout");
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("read stderr");
    }
    let status = status.unwrap_or_else(|| {
        panic!(
            "{}={:?}: the binary did not exit: it started anyway",
            bad.0, bad.1
        )
    });

    assert_eq!(
        status.code(),
        Some(2),
        "{}={:?}: exit status {status}, stderr {stderr:?}",
        bad.0,
        bad.1
    );
    assert_eq!(stdout, "", "{}={:?}: nothing on stdout", bad.0, bad.1);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{}={:?}: exactly one line on stderr, got {stderr:?}",
        bad.0,
        bad.1
    );
    assert!(
        lines[0].contains(names),
        "{}={:?}: the line names {names}: {:?}",
        bad.0,
        bad.1,
        lines[0]
    );
    assert!(
        lines[0].len() > names.len() + 10,
        "{}={:?}: the line says what is wrong: {:?}",
        bad.0,
        bad.1,
        lines[0]
    );
    assert!(
        !lines[0].contains("serving"),
        "{}={:?}: nothing was served",
        bad.0,
        bad.1
    );
}

#[test]
fn a_host_that_is_not_an_ip_address_is_refused() {
    assert_refused(("HOST", "nope"), "HOST");
}

#[test]
fn a_port_out_of_range_is_refused() {
    assert_refused(("PORT", "99999"), "PORT");
}

#[test]
fn a_short_session_secret_is_refused() {
    assert_refused(("SESSION_SECRET", "short"), "SESSION_SECRET");
}

#[test]
fn redis_without_a_session_secret_is_refused_naming_the_secret() {
    assert_refused(("REDIS_URL", "redis://127.0.0.1:1/0"), "SESSION_SECRET");
}

#[test]
fn an_unknown_socket_auth_is_refused() {
    assert_refused(("SOCKET_AUTH", "maybe"), "SOCKET_AUTH");
}

#[test]
fn a_zero_session_ttl_is_refused() {
    assert_refused(("SESSION_TTL_SECS", "0"), "SESSION_TTL_SECS");
}

#[test]
fn a_non_numeric_reload_interval_is_refused() {
    assert_refused(
        ("SESSION_RELOAD_INTERVAL_SECS", "x"),
        "SESSION_RELOAD_INTERVAL_SECS",
    );
}

#[test]
fn an_allowed_origin_without_a_scheme_is_refused() {
    assert_refused(("ALLOWED_ORIGINS", "localhost:4200"), "ALLOWED_ORIGINS");
}

#[test]
fn a_cookie_secure_that_is_not_a_boolean_is_refused() {
    assert_refused(("COOKIE_SECURE", "perhaps"), "COOKIE_SECURE");
}

#[test]
fn an_invalid_log_filter_is_refused() {
    assert_refused(("RUST_LOG", "app=loud"), "RUST_LOG");
}

/// The server, started on a free port, with its log collected.
struct Server {
    running: Running,
    port: u16,
    log: mpsc::Receiver<String>,
}

fn start_server() -> Server {
    let mut child = command(&[
        ("HOST", "127.0.0.1"),
        ("PORT", "0"),
        ("RUST_LOG", "info"),
        ("SESSION_SECRET", SECRET),
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .expect("start the binary");
    let stderr = child.stderr.take().expect("stderr");
    let running = Running { child };

    // A thread drains stderr (so the server never blocks on a full pipe) and
    // forwards every line.
    let (lines, log) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });

    let deadline = Instant::now() + START_WAIT;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = log
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no `serving` line within {START_WAIT:?}; log: {seen:#?}"));
        if let Some(port) = serving_port(&line) {
            return Server { running, port, log };
        }
        seen.push(line);
    }
}

/// The port in `serving http://127.0.0.1:PORT with the memory session store`.
fn serving_port(line: &str) -> Option<u16> {
    let rest = line.split("serving http://127.0.0.1:").nth(1)?;
    let (port, rest) = rest.split_once(' ')?;
    if rest != "with the memory session store" {
        return None;
    }
    port.parse().ok()
}

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open_socket(port: u16) -> Client {
    let (mut socket, response) = tokio::time::timeout(
        SOCKET_WAIT,
        tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/ws")),
    )
    .await
    .expect("the handshake answers")
    .expect("the handshake succeeds");
    assert_eq!(response.status(), 101);
    match next_message(&mut socket).await {
        Message::Text(text) => assert!(text.contains(r#""event":"session""#), "{text}"),
        other => panic!("expected the session frame, got {other:?}"),
    }
    socket
}

async fn next_message(socket: &mut Client) -> Message {
    loop {
        let next = tokio::time::timeout(SOCKET_WAIT, socket.next())
            .await
            .expect("a frame within the wait")
            .expect("the socket is open")
            .expect("a valid frame");
        if !matches!(next, Message::Ping(_) | Message::Pong(_)) {
            return next;
        }
    }
}

async fn expect_going_away(socket: &mut Client) {
    // The opening frames may still be on their way.
    let mut next = next_message(socket).await;
    while matches!(next, Message::Text(_)) {
        next = next_message(socket).await;
    }
    match next {
        Message::Close(Some(frame)) => assert_eq!(
            frame.code,
            CloseCode::Away,
            "close reason {:?}",
            frame.reason
        ),
        other => panic!("expected close 1001, got {other:?}"),
    }
    // Reading on sends tungstenite's close reply; then the server hangs up.
    let deadline = tokio::time::Instant::now() + SOCKET_WAIT;
    while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, socket.next()).await {}
}

/// Starts the server, opens two sockets, sends `signal`, and checks both
/// sockets get 1001 and the process exits 0.
async fn assert_graceful_shutdown_on(signal: &str) {
    let mut server = start_server();
    let mut first = open_socket(server.port).await;
    let mut second = open_socket(server.port).await;

    server.running.signal(signal);

    expect_going_away(&mut first).await;
    expect_going_away(&mut second).await;
    let status = server.running.wait_for_exit(SHUTDOWN_WAIT);
    let log: Vec<String> = server.log.try_iter().collect();
    let status = status.unwrap_or_else(|| {
        panic!("still running {SHUTDOWN_WAIT:?} after SIG{signal}; log: {log:#?}")
    });
    assert_eq!(
        status.code(),
        Some(0),
        "exit status after SIG{signal}: {status}; log: {log:#?}"
    );
}

#[tokio::test]
async fn sigterm_closes_every_socket_with_1001_and_exits_0() {
    assert_graceful_shutdown_on("TERM").await;
}

#[tokio::test]
async fn ctrl_c_closes_every_socket_with_1001_and_exits_0() {
    assert_graceful_shutdown_on("INT").await;
}
