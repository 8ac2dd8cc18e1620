//! Chaos: Redis is killed with SIGKILL in the middle of mixed increments of
//! one session (HTTP requests and socket frames, on two instances), then
//! started again on the same port with the same data. With `appendonly yes`
//! and `appendfsync always`, Redis writes and fsyncs its append-only file
//! before it answers, so every increment that was acknowledged survives.
//! (A SIGKILL of the process alone hardly tells `always` from `everysec`:
//! either way Redis has normally handed what it answered to the OS, which
//! outlives the process. This test is about the app: what it answers and
//! how it recovers, given a Redis that keeps what it acknowledged.)
//!
//! What is asserted, and why only these bounds:
//!
//! - An increment is *confirmed* when `POST /incr` answered 200 with a count,
//!   or when a socket's `incr` frame was not answered with an `unavailable`
//!   error (the server answers a failed socket increment with exactly one
//!   such frame and a successful one with none: its count comes back as a
//!   `current count` push, which cannot be matched to the frame).
//! - An increment that *failed* (503, `unavailable`) may still have been
//!   applied: Redis may run the script, log it and be killed before its answer
//!   leaves; the app then only sees a broken connection. So the exact count is
//!   not knowable from outside; what is guaranteed is
//!   `confirmed <= final - 1 <= attempted` (the visitor's own first
//!   increment is the 1): nothing confirmed was lost, and nothing was applied
//!   twice or made up (that upper bound only catches extra increments beyond
//!   the failures; the last increment, after the load, must then move the
//!   count by exactly 1).
//! - Every failure is a 503 with a JSON `{"error": ...}` body or an
//!   `unavailable` frame: no other status, no unanswered request, no
//!   `Set-Cookie` (which would mean the session was lost and a new one
//!   started), no socket closed or dropped by the server.
//! - Every `current count` a socket receives is greater than the one before
//!   (starting from its opening `session` frame), and each socket ends at the
//!   final count; the 200 answers of one HTTP client increase too, and no two
//!   200 answers carry the same count.
//!
//! Counting the socket failures exactly needs every frame answered before
//! the count is read; see [`SETTLE`].

use std::{cell::Cell, rc::Rc, time::Duration};

use futures_util::{
    future::join_all,
    stream::{SplitSink, SplitStream},
    SinkExt, StreamExt,
};
use reqwest::{header, StatusCode};
use serde_json::Value;
use session_bridge::{session::SessionData, socket::STORE_TIMEOUT};
use tokio::{
    net::TcpStream,
    time::{Instant, MissedTickBehavior},
};
use tokio_tungstenite::{tungstenite, tungstenite::Message, MaybeTlsStream, WebSocketStream};

use crate::{
    helpers::{spawn_redis_app, wait_for_fanout, wait_until, within, Socket, Visitor, WAIT},
    redis_server::RedisServer,
};

/// HTTP clients and sockets per instance, all on the one session.
const CLIENTS_PER_INSTANCE: usize = 2;
/// The pause between two requests of one HTTP client.
const HTTP_PACE: Duration = Duration::from_millis(10);
/// The pause between two frames of one socket (50 a second: well inside the
/// frame budget of 100 a second).
const SOCKET_PACE: Duration = Duration::from_millis(20);
/// Operations every client makes before Redis is killed.
const BEFORE_KILL: u64 = 5;
/// After the restart, each HTTP client goes on until this many of its
/// requests succeeded, and each socket sends this many more frames.
const AFTER_RESTART: u64 = 10;
/// The most operations one client makes: recovery must come before.
const MAX_OPS: u64 = 400;
/// The deliberate outage, once both instances have noticed it.
const OUTAGE: Duration = Duration::from_millis(300);
/// How long a socket is read after the server answered its marker frame,
/// before its failures are counted as final. The answer proves every earlier
/// frame was processed, i.e. its increment was started; each increment runs
/// under the socket's store timeout and then answers `unavailable` or
/// nothing. Only a `ctx.wait` in the socket's actor (its opening read, a
/// resync after the instance resubscribes, a chat post) could hold that
/// answer back longer: the opening read is long done, nobody chats, and the
/// test has seen both instances' subscribers back (which resyncs every
/// socket first) before it sends the marker. A late `unavailable` would show
/// up afterwards and fail the test, not pass it.
const SETTLE: Duration = STORE_TIMEOUT.saturating_add(Duration::from_secs(1));

const INCR: &str = r#"{"event":"incr"}"#;
/// A frame the server answers at once with `unknown_event`, in order with
/// the frames before it.
const MARKER: &str = r#"{"event":"chaos-marker"}"#;

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Before,
    Down,
    Back,
}

/// What the controller watches while the load runs.
#[derive(Default)]
struct Progress {
    attempts: Cell<u64>,
    failures: Cell<u64>,
    /// The client stopped (early only after a violation, which is reported).
    done: Cell<bool>,
}

/// One HTTP client's record.
#[derive(Default)]
struct HttpReport {
    attempts: u64,
    /// The counts answered with 200, in order.
    counts: Vec<u64>,
    unavailable: u64,
    violations: Vec<String>,
}

/// One socket, split so that it is read while it sends, and its record.
struct Load {
    name: String,
    sink: SplitSink<Stream, Message>,
    source: SplitStream<Stream>,
    progress: Rc<Progress>,
    /// `incr` frames sent.
    sent: u64,
    /// `unavailable` errors received.
    unavailable: u64,
    /// The last count shown (the opening `session` frame's, then every
    /// `current count`).
    last: u64,
    marker_sent: bool,
    marker_answered: bool,
    /// The connection ended (a violation, already recorded).
    ended: bool,
    /// The settle window is over: every failure has been counted.
    settled: bool,
    violations: Vec<String>,
}

/// What one frame was.
enum Seen {
    Frame,
    Marker,
    Ended,
}

#[actix_web::test]
async fn no_acknowledged_increment_is_lost_when_redis_is_killed_under_load() {
    let started = Instant::now();
    let mut redis = RedisServer::start();
    assert_durable(&redis.url()).await;
    let a = spawn_redis_app(&redis.url()).await;
    let b = spawn_redis_app(&redis.url()).await;

    let main = a.visitor();
    assert_eq!(main.incr().await, 1);
    let base = 1;

    // A second session, never part of the load: its sockets show when each
    // instance's subscriber is back after the restart.
    let probe = a.visitor();
    probe.get_index().await;
    let probe_b = probe.at(&b.address);
    let (mut probe_socket_a, _) = probe.connect_and_greet().await;
    let (mut probe_socket_b, _) = probe_b.connect_and_greet().await;

    let phase = Rc::new(Cell::new(Phase::Before));
    let mut http_progress = Vec::new();
    let mut socket_progress = Vec::new();
    let mut http_tasks = Vec::new();
    let mut socket_tasks = Vec::new();
    for app in [&a, &b] {
        for i in 0..CLIENTS_PER_INSTANCE {
            let name = format!("http {i} on :{}", app.port);
            let progress = Rc::new(Progress::default());
            http_progress.push((app.port, progress.clone()));
            http_tasks.push(actix_web::rt::spawn(http_load(
                name,
                main.at(&app.address),
                phase.clone(),
                progress,
            )));

            let name = format!("socket {i} on :{}", app.port);
            let (socket, greeting) = main.at(&app.address).connect_and_greet().await;
            let opened_at = greeting["count"].as_u64().expect("a count");
            let progress = Rc::new(Progress::default());
            socket_progress.push(progress.clone());
            socket_tasks.push(actix_web::rt::spawn(socket_load(
                name,
                socket,
                opened_at,
                phase.clone(),
                progress,
            )));
        }
    }
    let all_progress = || http_progress.iter().map(|(_, p)| p).chain(&socket_progress);

    wait_until("every client to make its first operations", || async {
        all_progress().all(|p| p.attempts.get() >= BEFORE_KILL || p.done.get())
    })
    .await;

    let killed_at = started.elapsed();
    let mut redis = blocking(move || {
        redis.kill();
        redis
    })
    .await;
    phase.set(Phase::Down);
    // The outage must be seen by both instances over HTTP and by the sockets
    // (a client that stopped has a violation to report: go on to report it).
    let seen = |progress: &Progress| progress.failures.get() > 0 || progress.done.get();
    wait_until(
        "both instances to answer 503 and a socket `unavailable`",
        || async {
            [a.port, b.port].iter().all(|port| {
                http_progress
                    .iter()
                    .any(|(p, progress)| p == port && seen(progress))
            }) && socket_progress.iter().any(|p| seen(p))
        },
    )
    .await;
    tokio::time::sleep(OUTAGE).await;
    // Kept until the end: dropping it kills Redis.
    let _redis = blocking(move || {
        redis.restart();
        redis
    })
    .await;
    phase.set(Phase::Back);
    let restarted_at = started.elapsed();

    let mut http = Vec::new();
    for task in http_tasks {
        http.push(
            within(WAIT * 3, "an HTTP client to finish", task)
                .await
                .expect("the HTTP client ran"),
        );
    }
    let mut sockets = Vec::new();
    for task in socket_tasks {
        sockets.push(
            within(WAIT * 3, "a socket to finish", task)
                .await
                .expect("the socket ran"),
        );
    }
    let load_done_at = started.elapsed();

    // Both subscribers are back (an increment made through one instance
    // reaches the other's socket), so every socket has been resynced.
    wait_for_fanout(&probe, &mut probe_socket_b).await;
    wait_for_fanout(&probe_b, &mut probe_socket_a).await;

    join_all(sockets.iter_mut().map(Load::settle)).await;

    let session = a.session_id(&main);
    let state = within(WAIT, "the store to answer", a.store.load(&session))
        .await
        .expect("Redis is back");
    let Some(state) = state else {
        panic!(
            "the session did not survive the restart; during the load:\n{:#?}",
            violations(&http, &sockets)
        );
    };
    let stored = SessionData::from_state(&state).count;
    // One more increment: it must follow the stored count exactly (nothing
    // was still in flight) and reach every socket.
    let last = main.incr().await;
    for socket in &mut sockets {
        socket.read_until(last).await;
    }

    let http_attempts: u64 = http.iter().map(|r| r.attempts).sum();
    let http_ok = http.iter().map(|r| r.counts.len() as u64).sum::<u64>();
    let http_unavailable: u64 = http.iter().map(|r| r.unavailable).sum();
    let frames: u64 = sockets.iter().map(|s| s.sent).sum();
    let frames_unavailable: u64 = sockets.iter().map(|s| s.unavailable).sum();
    let confirmed = http_ok + frames.saturating_sub(frames_unavailable);
    let attempted = http_attempts + frames;
    let applied = stored.saturating_sub(base);
    eprintln!(
        "chaos: killed at {killed_at:.2?}, back at {restarted_at:.2?}, load done at \
         {load_done_at:.2?}, checked at {:.2?}; HTTP {http_attempts} requests \
         ({http_ok} ok, {http_unavailable} 503); sockets {frames} frames \
         ({frames_unavailable} unavailable); applied {applied}: confirmed {confirmed}, \
         attempted {attempted}, failed yet applied {}",
        started.elapsed(),
        applied.saturating_sub(confirmed),
    );

    let violations = violations(&http, &sockets);
    assert!(
        violations.is_empty(),
        "contract violations:\n{violations:#?}"
    );
    assert_eq!(
        last,
        stored + 1,
        "the count moved after the load had settled"
    );
    // No socket was dropped: the main session's two and the probe's one on
    // each instance are still registered.
    a.wait_for_counts(CLIENTS_PER_INSTANCE as u64 + 1, 2).await;
    b.wait_for_counts(CLIENTS_PER_INSTANCE as u64 + 1, 2).await;
    assert!(
        http_unavailable > 0 && frames_unavailable > 0,
        "the outage was seen by HTTP and sockets"
    );
    for socket in &sockets {
        assert!(
            socket.unavailable <= socket.sent,
            "{}: {} `unavailable` answers to {} frames",
            socket.name,
            socket.unavailable,
            socket.sent
        );
    }
    // (1) None lost, none made up.
    assert!(
        applied >= confirmed,
        "lost increments: {confirmed} confirmed, only {applied} applied"
    );
    assert!(
        applied <= attempted,
        "{applied} increments applied, only {attempted} attempted"
    );
    // Every 200 answer is its own increment, at or below the final count.
    let mut counts: Vec<u64> = http.iter().flat_map(|r| r.counts.iter().copied()).collect();
    counts.sort_unstable();
    let before = counts.len();
    counts.dedup();
    assert_eq!(
        counts.len(),
        before,
        "two 200 answers carried the same count"
    );
    assert!(counts.first().is_none_or(|&low| low > base));
    assert!(counts.last().is_none_or(|&top| top <= stored));
}

/// Every violation the clients recorded.
fn violations(http: &[HttpReport], sockets: &[Load]) -> Vec<String> {
    http.iter()
        .flat_map(|r| &r.violations)
        .chain(sockets.iter().flat_map(|s| &s.violations))
        .cloned()
        .collect()
}

/// Fails unless the Redis at `url` fsyncs its append-only file on every
/// write (the harness starts it so; this test relies on it).
async fn assert_durable(url: &str) {
    let client = redis::Client::open(url).expect("a Redis URL");
    let mut connection = within(
        WAIT,
        "a Redis connection",
        client.get_multiplexed_async_connection(),
    )
    .await
    .expect("Redis is up");
    for (name, value) in [("appendonly", "yes"), ("appendfsync", "always")] {
        let reply: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(name)
            .query_async(&mut connection)
            .await
            .expect("CONFIG GET");
        assert_eq!(
            reply,
            [name, value],
            "the test Redis must run with {name} {value}"
        );
    }
}

/// Runs a blocking step (killing or starting Redis) off the runtime, so the
/// load goes on meanwhile.
async fn blocking<T: Send + 'static>(step: impl FnOnce() -> T + Send + 'static) -> T {
    within(
        WAIT * 2,
        "Redis to stop or start",
        tokio::task::spawn_blocking(step),
    )
    .await
    .expect("the step ran")
}

/// One HTTP client: `POST /incr` every [`HTTP_PACE`] until, after the
/// restart, [`AFTER_RESTART`] of its requests succeeded.
async fn http_load(
    name: String,
    visitor: Visitor,
    phase: Rc<Cell<Phase>>,
    progress: Rc<Progress>,
) -> HttpReport {
    let url = visitor.base.join("/incr").expect("a URL");
    let mut report = HttpReport::default();
    let mut ok_after_restart = 0;
    loop {
        if report.attempts >= MAX_OPS {
            report.violations.push(format!(
                "{name}: not {AFTER_RESTART} successes after the restart within {MAX_OPS} requests"
            ));
            break;
        }
        let sent_in = phase.get();
        report.attempts += 1;
        progress.attempts.set(report.attempts);
        // The client's own timeout (WAIT) bounds every request.
        let response = match visitor.http.post(url.clone()).send().await {
            Ok(response) => response,
            Err(err) => {
                report
                    .violations
                    .push(format!("{name}: POST /incr got no answer: {err}"));
                continue;
            }
        };
        let status = response.status();
        let new_cookie = response.headers().contains_key(header::SET_COOKIE);
        let body = match response.text().await {
            Ok(body) => body,
            Err(err) => {
                report
                    .violations
                    .push(format!("{name}: {status} without a readable body: {err}"));
                continue;
            }
        };
        match status {
            StatusCode::OK => {
                if new_cookie {
                    report.violations.push(format!(
                        "{name}: 200 {body:?} with Set-Cookie: the session was lost and a new one started"
                    ));
                }
                match body.parse::<u64>() {
                    Ok(count) => {
                        if let Some(&previous) = report.counts.last() {
                            if count <= previous {
                                report.violations.push(format!(
                                    "{name}: answers went from {previous} to {count}"
                                ));
                            }
                        }
                        report.counts.push(count);
                        if sent_in == Phase::Back {
                            ok_after_restart += 1;
                        }
                    }
                    Err(_) => report.violations.push(format!(
                        "{name}: 200 with a body that is no count: {body:?}"
                    )),
                }
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                report.unavailable += 1;
                progress.failures.set(report.unavailable);
                let error = serde_json::from_str::<Value>(&body).ok();
                if !error.is_some_and(|error| error["error"].is_string()) {
                    report
                        .violations
                        .push(format!("{name}: 503 without a JSON error: {body:?}"));
                }
            }
            other => report
                .violations
                .push(format!("{name}: POST /incr answered {other}: {body:?}")),
        }
        if sent_in == Phase::Back && ok_after_restart >= AFTER_RESTART {
            break;
        }
        tokio::time::sleep(HTTP_PACE).await;
    }
    progress.done.set(true);
    report
}

/// One socket: `incr` every [`SOCKET_PACE`], reading all the while, until
/// [`AFTER_RESTART`] frames were sent after the restart.
async fn socket_load(
    name: String,
    socket: Socket,
    opened_at: u64,
    phase: Rc<Cell<Phase>>,
    progress: Rc<Progress>,
) -> Load {
    let (sink, source) = socket.stream.split();
    let mut load = Load {
        name,
        sink,
        source,
        progress,
        sent: 0,
        unavailable: 0,
        last: opened_at,
        marker_sent: false,
        marker_answered: false,
        ended: false,
        settled: false,
        violations: Vec::new(),
    };
    load.run(&phase).await;
    load.progress.done.set(true);
    load
}

impl Load {
    /// Sends `incr` frames and reads until done, or until the socket ends.
    async fn run(&mut self, phase: &Cell<Phase>) {
        let mut ticker = tokio::time::interval(SOCKET_PACE);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut sent_after_restart = 0;
        loop {
            tokio::select! {
                next = self.source.next() => {
                    if let Seen::Ended = self.on_frame(next) {
                        return;
                    }
                }
                _ = ticker.tick() => {
                    let back = phase.get() == Phase::Back;
                    if back && sent_after_restart >= AFTER_RESTART {
                        return;
                    }
                    if self.sent >= MAX_OPS {
                        let message = format!("{}: still going after {MAX_OPS} frames", self.name);
                        self.violations.push(message);
                        return;
                    }
                    if !self.send(INCR).await {
                        return;
                    }
                    self.sent += 1;
                    self.progress.attempts.set(self.sent);
                    if back {
                        sent_after_restart += 1;
                    }
                }
            }
        }
    }

    async fn send(&mut self, text: &str) -> bool {
        match tokio::time::timeout(WAIT, self.sink.send(Message::text(text))).await {
            Ok(Ok(())) => true,
            Ok(Err(err)) => {
                let message = format!("{}: could not send a frame: {err}", self.name);
                self.violations.push(message);
                self.ended = true;
                false
            }
            Err(_) => {
                let message = format!("{}: a frame was not sent within {WAIT:?}", self.name);
                self.violations.push(message);
                self.ended = true;
                false
            }
        }
    }

    /// Records one frame (or the end of the connection).
    fn on_frame(&mut self, next: Option<Result<Message, tungstenite::Error>>) -> Seen {
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => return Seen::Frame,
            Some(Ok(Message::Close(frame))) => {
                let message = format!("{}: closed by the server: {frame:?}", self.name);
                self.violations.push(message);
                self.ended = true;
                return Seen::Ended;
            }
            Some(Ok(other)) => {
                let message = format!("{}: unexpected frame {other:?}", self.name);
                self.violations.push(message);
                return Seen::Frame;
            }
            Some(Err(err)) => {
                let message = format!("{}: connection dropped: {err}", self.name);
                self.violations.push(message);
                self.ended = true;
                return Seen::Ended;
            }
            None => {
                let message = format!("{}: connection dropped", self.name);
                self.violations.push(message);
                self.ended = true;
                return Seen::Ended;
            }
        };
        let frame: Value = match serde_json::from_str(&text) {
            Ok(frame) => frame,
            Err(_) => {
                let message = format!("{}: a frame that is not JSON: {text}", self.name);
                self.violations.push(message);
                return Seen::Frame;
            }
        };
        match (frame["event"].as_str(), frame["data"]["code"].as_str()) {
            (Some("current count"), _) => match frame["data"].as_u64() {
                Some(count) if count > self.last => self.last = count,
                _ => {
                    let message = format!("{}: after count {} came {frame}", self.name, self.last);
                    self.violations.push(message);
                }
            },
            (Some("error"), Some("unavailable")) => {
                self.unavailable += 1;
                self.progress.failures.set(self.unavailable);
                if self.settled {
                    let message = format!("{}: `unavailable` after the settle window", self.name);
                    self.violations.push(message);
                }
            }
            (Some("error"), Some("unknown_event")) if self.marker_sent && !self.marker_answered => {
                self.marker_answered = true;
                return Seen::Marker;
            }
            _ => {
                let message = format!("{}: unexpected frame {frame}", self.name);
                self.violations.push(message);
            }
        }
        Seen::Frame
    }

    /// Sends the marker, waits (bounded) for its answer, then reads for
    /// [`SETTLE`] so that every earlier frame's `unavailable` is counted.
    async fn settle(&mut self) {
        if self.ended {
            return;
        }
        self.marker_sent = true;
        if !self.send(MARKER).await {
            return;
        }
        let deadline = Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.source.next()).await {
                Err(_) => {
                    let message =
                        format!("{}: the marker got no answer within {WAIT:?}", self.name);
                    self.violations.push(message);
                    return;
                }
                Ok(next) => match self.on_frame(next) {
                    Seen::Marker => break,
                    Seen::Ended => return,
                    Seen::Frame => {}
                },
            }
        }
        let until = Instant::now() + SETTLE;
        while let Ok(next) = tokio::time::timeout_at(until, self.source.next()).await {
            if let Seen::Ended = self.on_frame(next) {
                return;
            }
        }
        self.settled = true;
    }

    /// Reads until the socket shows `count`, bounded by [`WAIT`].
    async fn read_until(&mut self, count: u64) {
        if self.ended {
            return;
        }
        let deadline = Instant::now() + WAIT;
        while self.last < count {
            match tokio::time::timeout_at(deadline, self.source.next()).await {
                Err(_) => {
                    let message = format!(
                        "{}: the final count {count} did not arrive (last shown {})",
                        self.name, self.last
                    );
                    self.violations.push(message);
                    return;
                }
                Ok(next) => {
                    if let Seen::Ended = self.on_frame(next) {
                        return;
                    }
                }
            }
        }
        if self.last != count {
            let message = format!(
                "{}: showed {} above the final {count}",
                self.name, self.last
            );
            self.violations.push(message);
        }
    }
}
