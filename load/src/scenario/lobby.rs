//! `lobby`: K logged-in users (each `POST /login` with its own name, then
//! one socket with that cookie, greeted with `session`, `presence state` and
//! `chat history`); then M chat messages, one at a time (each posted when the
//! last one has reached every socket, as `fanout` does with increments) or
//! at `--rate` a second. For each message, the time from posting it until
//! the LAST of the K sockets has it; and whether every socket got every
//! message once, all in one same order.
//!
//! One socket posts (the first), or with `--senders S` the first S take
//! turns, each a different user; every socket counts (the sender's own
//! too). Each sender keeps under the server's frame budget (100 a second a
//! socket) by itself, never dropping a post: a lone sender one at a time
//! makes 90 posts at once, then 90 a second. `throttled_s` says how long
//! it waited for that; one at a time, `events_per_s` leaves that wait out
//! (the time the messages were on their way, as `fanout` counts it).
//! `presence` frames in between (each a batch of `PRESENCE_BATCH_MS`,
//! naming any number of users) are counted, not judged beyond their shape.
//!
//! After the sockets close the run waits until `GET /presence` no longer
//! lists its users (at most `--grace`, the server's `PRESENCE_GRACE_SECS`,
//! plus `--timeout`), so their offline announcements do not land on the
//! next run's sockets.
//!
//! With `--baseline true` (the default one at a time) the run begins with
//! the `fanout` scenario for the same K and M (K sockets of one session,
//! so the server's `MAX_SOCKETS_PER_SESSION` must be at least K), closes
//! those sockets, then measures the lobby, and reports both and their ratio.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Map, Value};
use tokio::sync::{mpsc, watch, Notify};
use tokio_tungstenite::tungstenite::Message;

use super::{connect::store_kind, fanout, Outcome, Target};
use crate::{
    args::Args,
    client::{Http, Ws},
    lobby::{self, Frame, Who},
    stats::{round, Latencies},
    Result,
};

/// Posts a sender may make in a burst, and a second after it: under the
/// server's budget of 100 frames a second a socket, so none is dropped.
const SENDER_BUDGET: f64 = 90.0;

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target) -> Result<Outcome> {
    let k: usize = args.get("k", 1000)?;
    let m: u32 = args.get("m", 200)?;
    let concurrency: usize = args.get("concurrency", 50)?;
    let rate: f64 = args.get("rate", 0.0)?;
    let senders: usize = args.get("senders", 1)?;
    let baseline: bool = args.get("baseline", rate == 0.0)?;
    let grace = args.secs("grace", 5.0)?;
    args.finish()?;
    if k == 0 || m == 0 {
        return Err("--k and --m must be at least 1".into());
    }
    if !(1..=k).contains(&senders) {
        return Err("--senders must be between 1 and --k".into());
    }
    if !(0.0..=100_000.0).contains(&rate) {
        return Err("--rate must be between 0 (one at a time) and 100000".into());
    }
    if baseline && rate > 0.0 {
        return Err(
            "--baseline compares one message at a time: use --rate 0, or --baseline false".into(),
        );
    }
    if k as u64 * u64::from(m) > 50_000_000 {
        return Err(
            "--k times --m must be at most 50,000,000 (each socket keeps what it saw)".into(),
        );
    }

    let session = if baseline {
        let outcome = fanout::measure(target, k, u64::from(m), concurrency)
            .await
            .map_err(|err| {
                format!(
                    "the session fan-out (--baseline): {err} (its K sockets share one session: \
                     the server's MAX_SOCKETS_PER_SESSION must be at least {k}; or --baseline false)"
                )
            })?;
        Some(outcome)
    } else {
        None
    };

    let plan = Plan {
        k,
        m,
        senders,
        rate,
        grace,
        concurrency: concurrency.clamp(1, k),
    };
    let mut outcome = lobby_run(target, &plan).await?;
    if let Some(session) = session {
        compare(&mut outcome, session);
    }
    Ok(outcome)
}

struct Plan {
    k: usize,
    m: u32,
    senders: usize,
    rate: f64,
    grace: Duration,
    concurrency: usize,
}

/// Counters shared by every socket of the run.
#[derive(Default)]
struct Tally {
    presence: AtomicU64,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Tally {
    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.first_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert(what);
    }
}

/// When each message was posted, and when its last socket had it.
struct Board {
    base: Instant,
    k: usize,
    sent: Vec<AtomicU64>,
    done: Vec<AtomicU64>,
    reached: Vec<AtomicUsize>,
    finished: AtomicUsize,
    notify: Notify,
}

impl Board {
    fn new(k: usize, m: u32) -> Arc<Self> {
        let zeros = |_| AtomicU64::new(0);
        Arc::new(Self {
            base: Instant::now(),
            k,
            sent: (0..m).map(zeros).collect(),
            done: (0..m).map(zeros).collect(),
            reached: (0..m).map(|_| AtomicUsize::new(0)).collect(),
            finished: AtomicUsize::new(0),
            notify: Notify::new(),
        })
    }

    /// Nanoseconds since the board began, plus one (0 means: not yet).
    fn stamp(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX - 1)
            + 1
    }

    fn mark_sent(&self, i: usize) {
        self.sent[i].store(self.stamp(Instant::now()), Ordering::Release);
    }

    fn since_sent(&self, i: usize, now: Instant) -> Option<Duration> {
        match self.sent[i].load(Ordering::Acquire) {
            0 => None,
            sent => Some(Duration::from_nanos(self.stamp(now).saturating_sub(sent))),
        }
    }

    /// A socket has message `i` (once per socket).
    fn saw(&self, i: usize, now: Instant) {
        if self.reached[i].fetch_add(1, Ordering::AcqRel) + 1 == self.k {
            self.done[i].store(self.stamp(now), Ordering::Release);
            self.finished.fetch_add(1, Ordering::AcqRel);
            self.notify.notify_waiters();
        }
    }

    /// From posting message `i` to its last socket, if both happened.
    fn latency(&self, i: usize) -> Option<Duration> {
        let sent = self.sent[i].load(Ordering::Acquire);
        let done = self.done[i].load(Ordering::Acquire);
        (sent != 0 && done != 0).then(|| Duration::from_nanos(done.saturating_sub(sent)))
    }

    /// Waits until `ready` holds or `deadline` passes; whether it holds.
    async fn wait(&self, ready: impl Fn(&Self) -> bool, deadline: Instant) -> bool {
        loop {
            let notified = self.notify.notified();
            if ready(self) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                return ready(self);
            }
        }
    }
}

/// A sender's copy of the server's frame budget (a token bucket).
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full() -> Self {
        Self {
            tokens: SENDER_BUDGET,
            at: Instant::now(),
        }
    }

    /// Takes one post; how long to wait before making it.
    fn take(&mut self, now: Instant) -> Duration {
        // `at` is when `tokens` was true; later than now while posts wait.
        let refill = now.saturating_duration_since(self.at).as_secs_f64() * SENDER_BUDGET;
        self.tokens = (self.tokens + refill).min(SENDER_BUDGET);
        self.at = self.at.max(now);
        if self.tokens < 1.0 {
            self.at += Duration::from_secs_f64((1.0 - self.tokens) / SENDER_BUDGET);
            self.tokens = 1.0;
        }
        self.tokens -= 1.0;
        self.at - now
    }
}

/// What one socket task is given.
struct Member {
    ws: Ws,
    index: usize,
    senders: usize,
    tag: Arc<str>,
    board: Arc<Board>,
    tally: Arc<Tally>,
    post: Option<mpsc::Receiver<u32>>,
    stop: watch::Receiver<bool>,
    deadline: Instant,
}

/// What one socket saw.
struct Log {
    /// This run's messages, by number, in the order received (each once).
    seq: Vec<u32>,
    /// FNV-1a of every chat id from this run's first message on (foreign
    /// ones too): equal on every socket when all saw one order.
    order: u64,
    duplicates: u64,
    foreign: u64,
    closed: bool,
    /// From posting to the sender's own socket having it.
    echo: Latencies,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for &byte in bytes.iter().chain(b"\n") {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Runs a socket until the run stops it, the server closes it, or its
/// deadline: records the run's messages and posts the ones it is given.
async fn member(mut me: Member) -> Log {
    let m = me.board.sent.len();
    let prefix = format!("{} ", me.tag);
    let mut seen = vec![false; m];
    let mut log = Log {
        seq: Vec::with_capacity(m),
        order: FNV_OFFSET,
        duplicates: 0,
        foreign: 0,
        closed: false,
        echo: Latencies::default(),
    };
    let mut begun = false;
    let deadline = tokio::time::Instant::from_std(me.deadline);
    let mut post = me.post.take();
    loop {
        tokio::select! {
            frame = me.ws.next() => match frame {
                Some(Ok(Message::Text(text))) => match lobby::frame(&text) {
                    Frame::Chat { id, text } => {
                        let ours = text
                            .strip_prefix(prefix.as_str())
                            .and_then(|n| n.parse::<usize>().ok())
                            .filter(|&i| i < m);
                        begun |= ours.is_some();
                        if begun {
                            log.order = fnv(log.order, id.as_bytes());
                        }
                        let Some(i) = ours else {
                            log.foreign += 1;
                            continue;
                        };
                        if std::mem::replace(&mut seen[i], true) {
                            log.duplicates += 1;
                            continue;
                        }
                        // `i < m`, and m fits a u32.
                        log.seq.push(i as u32);
                        let now = Instant::now();
                        if i % me.senders == me.index {
                            if let Some(echo) = me.board.since_sent(i, now) {
                                log.echo.push(echo);
                            }
                        }
                        me.board.saw(i, now);
                    }
                    Frame::Presence { .. } => {
                        me.tally.presence.fetch_add(1, Ordering::Relaxed);
                    }
                    Frame::Error(code) => me.tally.error(format!("error frame: {code}")),
                    Frame::Malformed => me.tally.error(format!("malformed frame: {}", text.as_str())),
                    Frame::Other => {}
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    log.closed = true;
                    return log;
                }
                Some(Ok(_)) => {}
            },
            Some(i) = async { match post.as_mut() { Some(rx) => rx.recv().await, None => None } } => {
                let text = format!(r#"{{"event":"chat","data":{{"text":"{prefix}{i}"}}}}"#);
                me.board.mark_sent(i as usize);
                if me.ws.send(Message::text(text)).await.is_err() {
                    log.closed = true;
                    return log;
                }
            }
            _ = me.stop.changed() => break,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    // A polite close, but never wait long for it.
    let _ = tokio::time::timeout(Duration::from_secs(2), me.ws.close(None)).await;
    log
}

/// Opens the K sockets, posts the M messages, and reports.
async fn lobby_run(target: &Target, plan: &Plan) -> Result<Outcome> {
    let Plan {
        k,
        m,
        senders,
        rate,
        grace,
        concurrency,
    } = *plan;
    let tag: Arc<str> = lobby::run_tag().into();
    let board = Board::new(k, m);
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let paced_secs = if rate > 0.0 { f64::from(m) / rate } else { 0.0 };
    let sockets_until = Instant::now()
        + target.timeout * 2
        + Duration::from_secs_f64(60.0 + f64::from(m) * 5.0 + paced_secs);

    // K users, each logged in before its socket opens, `concurrency` at a time.
    let mut https = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        https.push(Http::connect(target.port).await?);
    }
    let opening = Instant::now();
    let mut posts = Vec::with_capacity(senders);
    let mut members = Vec::with_capacity(k);
    let mut history = 0;
    while members.len() < k {
        let first = members.len();
        let batch = https.iter_mut().zip(first..k).map(|(http, i)| {
            let name = format!("{tag}-{i}");
            let timeout = target.timeout;
            async move { lobby::join(http, Who::User(&name), timeout).await }
        });
        for joined in futures_util::future::join_all(batch).await {
            let joined = joined?;
            history = history.max(joined.greeting.history);
            let index = members.len();
            let post = (index < senders).then(|| {
                let (tx, rx) = mpsc::channel(256);
                posts.push(tx);
                rx
            });
            members.push(tokio::spawn(member(Member {
                ws: joined.ws,
                index,
                senders,
                tag: tag.clone(),
                board: board.clone(),
                tally: tally.clone(),
                post,
                stop: stopped.clone(),
                deadline: sockets_until,
            })));
        }
    }
    drop(https);
    let open_secs = opening.elapsed().as_secs_f64();
    // Each user's coming online reaches every socket already open: let that
    // die down before the clock starts.
    let quiet = quiet(&tally.presence, Instant::now() + target.timeout).await;
    let presence_before = tally.presence.load(Ordering::Relaxed);

    let mut buckets: Vec<Bucket> = (0..senders).map(|_| Bucket::full()).collect();
    let mut throttled = Duration::ZERO;
    let period = (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
    let phase = Instant::now();
    for i in 0..m {
        if let Some(period) = period {
            tokio::time::sleep_until((phase + period * i).into()).await;
        }
        let sender = i as usize % senders;
        let wait = buckets[sender].take(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
            throttled += wait;
        }
        posts[sender]
            .send(i)
            .await
            .map_err(|_| format!("socket {sender} ended before it could post message {i}"))?;
        if period.is_none() {
            let i = i as usize;
            board
                .wait(
                    |b| b.done[i].load(Ordering::Acquire) != 0,
                    Instant::now() + target.timeout,
                )
                .await;
        }
    }
    if period.is_some() {
        let all = m as usize;
        board
            .wait(
                |b| b.finished.load(Ordering::Acquire) == all,
                Instant::now() + target.timeout,
            )
            .await;
    }
    let phase_secs = phase.elapsed().as_secs_f64();
    let presence_during = tally.presence.load(Ordering::Relaxed) - presence_before;

    // Anything still on its way gets a moment, then every socket must have
    // every message.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(true);
    let mut logs = Vec::with_capacity(k);
    for task in members {
        logs.push(
            tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .map_err(|_| "a socket did not stop")??,
        );
    }
    let closed_at = Instant::now();
    let all_offline = lobby::wait_offline(
        target.port,
        &format!("{tag}-"),
        closed_at + grace + target.timeout,
    )
    .await?;
    let offline_secs = closed_at.elapsed().as_secs_f64();

    let mut last_socket = Latencies::default();
    let (mut incomplete, mut late) = (0u64, 0u64);
    for i in 0..m as usize {
        match board.latency(i) {
            Some(latency) => {
                late += u64::from(latency > target.timeout);
                last_socket.push(latency);
            }
            None => incomplete += 1,
        }
    }
    let check = check_logs(&logs, m, senders, rate > 0.0);
    let mut echo = Latencies::default();
    for log in logs {
        echo.extend(log.echo);
    }
    let errors = tally.errors.load(Ordering::Relaxed);

    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("k", k);
    outcome.set("m", m);
    outcome.set("senders", senders);
    outcome.set(
        "rate_asked",
        if rate > 0.0 {
            json!(rate)
        } else {
            json!("one at a time")
        },
    );
    outcome.set("open_s", round(open_secs, 3));
    outcome.set("history_at_open", history);
    outcome.set("quiet_before_posting", quiet);
    outcome.set("last_socket_ms", last_socket.summary());
    outcome.set("post_echo_ms", echo.summary());
    outcome.set("events_delivered", check.delivered);
    // One at a time, waiting for the budget comes between messages, with
    // none on its way: not delivery time.
    let busy_secs = if rate > 0.0 {
        phase_secs
    } else {
        (phase_secs - throttled.as_secs_f64()).max(f64::EPSILON)
    };
    outcome.set("events_per_s", round(check.delivered as f64 / busy_secs, 1));
    outcome.set("throttled_s", round(throttled.as_secs_f64(), 3));
    outcome.set("missing_events", check.missing);
    outcome.set("rounds_incomplete", incomplete);
    outcome.set("reordered", check.reordered);
    outcome.set("duplicates", check.duplicates);
    outcome.set("sockets_other_order", check.other_order);
    outcome.set("sockets_closed", check.closed);
    outcome.set("presence_frames", presence_during);
    outcome.set("foreign_messages", check.foreign);
    outcome.set("error_frames", errors);
    outcome.set("offline_after_close_s", round(offline_secs, 3));
    if let Some(error) = tally
        .first_error
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        outcome.set("first_error", error);
    }
    outcome.fail_if(check.missing, "events missing");
    outcome.fail_if(
        late,
        "messages that reached their last socket later than --timeout",
    );
    outcome.fail_if(
        check.reordered,
        "messages out of the order they were posted in",
    );
    outcome.fail_if(check.duplicates, "messages received twice");
    outcome.fail_if(
        check.other_order,
        "sockets that saw the messages in another order than the first socket",
    );
    outcome.fail_if(check.closed, "sockets closed by the server");
    outcome.fail_if(errors, "error or malformed frames");
    outcome.fail_if(
        u64::from(!all_offline),
        "runs whose users were still online --grace plus --timeout after leaving",
    );
    Ok(outcome)
}

/// Waits until `counter` has not moved for 300 ms, at most until `limit`;
/// whether it did settle.
async fn quiet(counter: &AtomicU64, limit: Instant) -> bool {
    let mut last = counter.load(Ordering::Relaxed);
    let mut since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let now = counter.load(Ordering::Relaxed);
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= Duration::from_millis(300) {
            return true;
        }
        if Instant::now() >= limit {
            return false;
        }
    }
}

/// What the sockets' logs say together.
#[derive(Default)]
struct Check {
    delivered: u64,
    missing: u64,
    duplicates: u64,
    reordered: u64,
    other_order: u64,
    closed: u64,
    foreign: u64,
}

/// Completeness (each socket has all M once) and order: one order on every
/// socket (the first complete socket's, foreign messages included), and
/// that order keeps each sender's posts in the order posted (one at a
/// time: all of them, as each was posted after the last had arrived).
fn check_logs(logs: &[Log], m: u32, senders: usize, paced: bool) -> Check {
    let mut check = Check::default();
    for log in logs {
        check.delivered += log.seq.len() as u64;
        check.missing += u64::from(m).saturating_sub(log.seq.len() as u64);
        check.duplicates += log.duplicates;
        check.closed += u64::from(log.closed);
        check.foreign = check.foreign.max(log.foreign);
    }
    let complete: Vec<&Log> = logs
        .iter()
        .filter(|log| log.seq.len() == m as usize)
        .collect();
    let Some(reference) = complete.first() else {
        return check;
    };
    check.other_order = complete
        .iter()
        .filter(|log| log.seq != reference.seq || log.order != reference.order)
        .count() as u64;
    let lanes = if paced { senders } else { 1 };
    let mut last: Vec<Option<u32>> = vec![None; lanes];
    for &i in &reference.seq {
        let lane = &mut last[i as usize % lanes];
        if lane.is_some_and(|before| before > i) {
            check.reordered += 1;
        }
        *lane = Some(i);
    }
    check
}

/// Adds the session fan-out's figures and the lobby's against them.
fn compare(outcome: &mut Outcome, session: Outcome) {
    let pick = |fields: &Map<String, Value>, key: &str, q: &str| fields[key][q].as_f64();
    let mut figures = Map::new();
    for q in ["p50", "p99", "max"] {
        figures.insert(
            format!("last_socket_{q}_ms"),
            json!(pick(&session.fields, "last_socket_ms", q)),
        );
    }
    figures.insert(
        "events_per_s".to_owned(),
        session.fields["events_per_s"].clone(),
    );
    figures.insert("ok".to_owned(), json!(session.failures.is_empty()));
    let ratio = |lobby: Option<f64>, session: Option<f64>| match (lobby, session) {
        (Some(lobby), Some(session)) if session > 0.0 => json!(round(lobby / session, 2)),
        _ => Value::Null,
    };
    let lobby_vs = json!({
        "p50": ratio(pick(&outcome.fields, "last_socket_ms", "p50"), pick(&session.fields, "last_socket_ms", "p50")),
        "p99": ratio(pick(&outcome.fields, "last_socket_ms", "p99"), pick(&session.fields, "last_socket_ms", "p99")),
        "events_per_s": ratio(outcome.fields["events_per_s"].as_f64(), session.fields["events_per_s"].as_f64()),
    });
    outcome.set("session_fanout", Value::Object(figures));
    outcome.set("lobby_vs_session", lobby_vs);
    for failure in session.failures {
        outcome.failures.push(format!("session fan-out: {failure}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(seq: &[u32], order: u64) -> Log {
        Log {
            seq: seq.to_vec(),
            order,
            duplicates: 0,
            foreign: 0,
            closed: false,
            echo: Latencies::default(),
        }
    }

    #[test]
    fn checks_completeness_and_one_order() {
        let all = check_logs(&[log(&[0, 1, 2], 7), log(&[0, 1, 2], 7)], 3, 2, false);
        assert_eq!((all.missing, all.reordered, all.other_order), (0, 0, 0));
        let gap = check_logs(&[log(&[0, 2], 7), log(&[0, 1, 2], 7)], 3, 2, false);
        assert_eq!((gap.missing, gap.delivered), (1, 5));
        let swapped = check_logs(&[log(&[0, 1, 2], 7), log(&[1, 0, 2], 7)], 3, 2, false);
        assert_eq!(swapped.other_order, 1);
        let foreign = check_logs(&[log(&[0, 1, 2], 7), log(&[0, 1, 2], 8)], 3, 2, false);
        assert_eq!(foreign.other_order, 1);
        // One at a time every post follows the last; paced, only each sender's.
        assert_eq!(check_logs(&[log(&[1, 0, 2], 7)], 3, 2, false).reordered, 1);
        assert_eq!(check_logs(&[log(&[1, 0, 2], 7)], 3, 2, true).reordered, 0);
        assert_eq!(check_logs(&[log(&[2, 1, 0], 7)], 3, 2, true).reordered, 1);
    }

    #[test]
    fn a_sender_stays_under_the_budget() {
        let mut bucket = Bucket::full();
        let now = Instant::now();
        let waits: Vec<Duration> = (0..92).map(|_| bucket.take(now)).collect();
        assert!(waits[..90].iter().all(|w| w.is_zero()));
        let step = Duration::from_secs_f64(1.0 / SENDER_BUDGET);
        assert!(waits[90].abs_diff(step) < Duration::from_micros(1));
        assert!(waits[91].abs_diff(step * 2) < Duration::from_micros(1));
    }
}
