//! The compiled binary as an operator runs it: a bad variable stops it before
//! anything starts (exit code 2, one line naming the variable), and SIGTERM or
//! Ctrl-C closes every socket with 1001 and exits 0, also one whose client
//! does not read.

#[allow(dead_code)]
#[path = "support/raw_socket.rs"]
mod raw_socket;
#[allow(dead_code)]
#[path = "support/server_process.rs"]
mod server_process;

use std::{net::TcpListener, process::Stdio, time::Duration};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::{protocol::frame::coding::CloseCode, Message};

use server_process::{
    next_frame, next_message, Browser, ChildProcess, ServerProcess, Socket, SECRET, WAIT,
};

/// How long the binary may take to refuse a bad configuration.
const EXIT_WAIT: Duration = Duration::from_secs(10);
/// How long a shutdown may take (the contract promises 10 s; this leaves
/// room for a slow machine while still catching a hang).
const SHUTDOWN_WAIT: Duration = Duration::from_secs(15);

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

    let mut running = ChildProcess::spawn(&vars, Stdio::piped());
    let status = running.wait_for_exit(EXIT_WAIT);
    let (stdout, stderr) = if status.is_some() {
        running.read_output()
    } else {
        (String::new(), String::new())
    };
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

/// Opens a socket (without a cookie) and reads its `session` frame.
async fn open_socket(server: &ServerProcess) -> Socket {
    let mut socket = Browser::new().connect(&server.address()).await;
    let session = next_frame(&mut socket, WAIT).await;
    assert_eq!(session["event"], "session", "first frame {session}");
    socket
}

async fn expect_going_away(socket: &mut Socket) {
    // The opening frames may still be on their way.
    let mut next = next_message(socket, WAIT).await;
    while matches!(next, Message::Text(_)) {
        next = next_message(socket, WAIT).await;
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
    let deadline = tokio::time::Instant::now() + WAIT;
    while let Ok(Some(Ok(_))) = tokio::time::timeout_at(deadline, socket.next()).await {}
}

/// Starts the server, opens two sockets, sends `signal`, and checks both
/// sockets get 1001 and the process exits 0.
async fn assert_graceful_shutdown_on(signal: &str) {
    let mut server = ServerProcess::start(&[]);
    let mut first = open_socket(&server).await;
    let mut second = open_socket(&server).await;

    server.process.signal(signal);

    expect_going_away(&mut first).await;
    expect_going_away(&mut second).await;
    let status = server.process.wait_for_exit(SHUTDOWN_WAIT);
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

#[tokio::test]
async fn sigterm_ends_a_socket_whose_client_does_not_read_and_exits_0() {
    let mut server = ServerProcess::start(&[("CHAT_RATE", "10000")]);
    let chatter = Browser::new();
    chatter.login(&server.address(), "chatter").await;
    let mut socket = chatter.connect(&server.address()).await;
    let stalled = raw_socket::RawSocket::open(server.port, None, 4096).await;

    // About 800 KiB of lobby messages: more than the write path to the
    // stalled socket holds, less than its queue, so its actor is frozen.
    // The chatter reads its own copies, keeping under the frame budget.
    let frame = serde_json::json!({"event": "chat", "data": {"text": "😀".repeat(500)}});
    for _ in 0..8 {
        for _ in 0..50 {
            socket
                .send(Message::text(frame.to_string()))
                .await
                .expect("send a chat message");
        }
        let mut seen = 0;
        while seen < 50 {
            if next_frame(&mut socket, WAIT).await["event"] == "chat" {
                seen += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    server.process.signal("TERM");
    expect_going_away(&mut socket).await;
    let status = server.process.wait_for_exit(SHUTDOWN_WAIT);
    assert_eq!(status.and_then(|status| status.code()), Some(0));
    // Aborted before the exit, not left to the kernel to deliver.
    raw_socket::wait_until_released(server.port, stalled.local_port, Duration::from_secs(1)).await;
}
