//! `churn`: R rounds of opening S sockets, C at a time, each on its own
//! session, and then closing them all: every other one with the WebSocket
//! close handshake (close frame, the server's close frame back, the server
//! ending the connection), the rest by dropping the TCP connection without a
//! close frame (a FIN, or with `--drop rst` a reset). After each round it
//! waits, at most `--drain` seconds, until `/healthz` reports no sockets and
//! no sessions (the registry is empty again), then reads the server's RSS.
//! The RSS after the last round against the first shows whether sockets
//! that come and go leave memory behind.
//!
//! With `--sessions reuse` (the default) the handshakes of round 1 create
//! the sessions and every later round opens socket i again with round 1's
//! cookie i, so the store holds the same S sessions from round 1 on and the
//! RSS compares the socket path alone. With `--sessions fresh` every
//! handshake creates a new session (the store grows by S a round, up to
//! `MAX_SESSIONS` on the embedded store).
//!
//! The run fails when sockets fail to open or when the registry counts do
//! not return to 0 within `--drain` (the rounds stop there). The RSS is
//! reported, never judged, unless `--max-rss-growth G` is given: then the
//! run also fails when the RSS after the last round exceeds the RSS after
//! the first by more than the fraction G.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant},
};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::{sync::watch, task::JoinHandle};
use tokio_tungstenite::tungstenite::Message;

use super::{
    connect::{healthz, store_kind},
    Outcome, Target,
};
use crate::{
    args::Args,
    client::{open_socket, Ws},
    socket,
    stats::{round, rss_kib, Latencies},
    Result,
};

/// How long to wait between two `/healthz` polls while the registry drains.
const POLL: Duration = Duration::from_millis(50);

/// How a dropped socket's TCP connection ends.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Abort {
    /// Close the file: a FIN, no close frame.
    Fin,
    /// `SO_LINGER` 0, then close: a reset, no close frame.
    Rst,
}

/// How a socket ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum End {
    /// Close frame sent, the server's close frame received.
    Clean,
    /// Close frame sent, but no close frame came back within `--timeout`.
    NoCloseReply,
    /// TCP connection dropped without a close frame.
    Dropped,
    /// The server ended it before the round closed it.
    ByServer,
}

/// What one round measured.
struct Round {
    opened: usize,
    errors: u64,
    first_error: Option<String>,
    /// Sessions the handshakes created (every socket in round 1 or with
    /// `--sessions fresh`; a reused cookie the store no longer held).
    new_sessions: usize,
    /// Handshake latency (TCP connect to the `session` frame) summarised.
    handshake_ms: Value,
    open_secs: f64,
    /// `/healthz` `(sockets, sessions)` with every socket open.
    open_counts: Option<(u64, u64)>,
    rss_open: Option<u64>,
    clean: u64,
    no_close_reply: u64,
    dropped: u64,
    by_server: u64,
    /// From telling the sockets to close until every socket task ended (a
    /// clean close ends when the server has closed the TCP connection).
    close_secs: f64,
    /// From telling the sockets to close until `/healthz` said 0 and 0.
    drain_secs: Option<f64>,
    /// `/healthz` `(sockets, sessions)` at the end of the drain.
    after_counts: Option<(u64, u64)>,
    rss_after: Option<u64>,
    round_secs: f64,
}

impl Round {
    fn drained(&self) -> bool {
        self.after_counts == Some((0, 0))
    }

    fn report(&self, number: usize) -> Value {
        let counts = |counts: Option<(u64, u64)>| {
            counts.map_or(
                Value::Null,
                |(sockets, sessions)| json!({ "sockets": sockets, "sessions": sessions }),
            )
        };
        json!({
            "round": number,
            "opened": self.opened,
            "open_errors": self.errors,
            "new_sessions": self.new_sessions,
            "open_s": round(self.open_secs, 3),
            "sockets_per_s": round(rate(self.opened, self.open_secs), 1),
            "handshake_ms": self.handshake_ms,
            "healthz_open": counts(self.open_counts),
            "rss_open_kib": self.rss_open,
            "closed_clean": self.clean,
            "closed_no_close_reply": self.no_close_reply,
            "closed_dropped": self.dropped,
            "closed_by_server_early": self.by_server,
            "close_s": round(self.close_secs, 3),
            "drain_s": self.drain_secs.map(|secs| round(secs, 3)),
            "healthz_after": counts(self.after_counts),
            "rss_after_kib": self.rss_after,
            "round_s": round(self.round_secs, 3),
        })
    }

    /// One line for stderr as the round ends.
    fn line(&self, number: usize, rounds: usize) -> String {
        let kib = |rss: Option<u64>| rss.map_or("-".to_owned(), |kib| format!("{kib} KiB"));
        let counts = |counts: Option<(u64, u64)>| {
            counts.map_or("-".to_owned(), |(sockets, sessions)| {
                format!("{sockets}/{sessions}")
            })
        };
        format!(
            "churn round {number}/{rounds}: opened {} in {:.2} s ({} errors), healthz {} open, \
             RSS {} open; closed {} clean + {} dropped ({} no close reply, {} by the server); \
             healthz {} after {} s (sockets ended after {:.2} s), RSS {} after; round {:.2} s",
            self.opened,
            self.open_secs,
            self.errors,
            counts(self.open_counts),
            kib(self.rss_open),
            self.clean,
            self.dropped,
            self.no_close_reply,
            self.by_server,
            counts(self.after_counts),
            self.drain_secs
                .map_or("(not drained)".to_owned(), |secs| format!("{secs:.3}")),
            self.close_secs,
            kib(self.rss_after),
            self.round_secs,
        )
    }
}

fn rate(count: usize, secs: f64) -> f64 {
    if secs > 0.0 {
        count as f64 / secs
    } else {
        0.0
    }
}

/// What the opening workers of a round share.
struct Plan {
    port: u16,
    n: usize,
    timeout: Duration,
    abort: Abort,
    /// Socket i's cookie; `None`: its handshake creates the session.
    cookies: Arc<Vec<Option<String>>>,
    open_until: Instant,
    sockets_until: Instant,
    next: AtomicUsize,
    failed: AtomicU64,
}

/// What one opening worker did.
#[derive(Default)]
struct Worker {
    handshake: Latencies,
    sockets: Vec<JoinHandle<End>>,
    /// `(i, cookie)` for each handshake that created a session.
    cookies: Vec<(usize, String)>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target, open_files: u64) -> Result<Outcome> {
    let n: usize = args.get("n", 19_000)?;
    let rounds: usize = args.get("rounds", 5)?;
    let concurrency: usize = args.get("concurrency", 50)?;
    let reuse = match args.get("sessions", "reuse".to_owned())?.as_str() {
        "reuse" => true,
        "fresh" => false,
        other => return Err(format!("--sessions: `{other}` is neither reuse nor fresh").into()),
    };
    let abort = match args.get("drop", "fin".to_owned())?.as_str() {
        "fin" => Abort::Fin,
        "rst" => Abort::Rst,
        other => return Err(format!("--drop: `{other}` is neither fin nor rst").into()),
    };
    let drain = args.secs("drain", 30.0)?;
    let settle = args.secs("settle", 1.0)?;
    let max_growth: Option<f64> = args.opt("max-rss-growth")?;
    args.finish()?;
    if n == 0 || rounds == 0 {
        return Err("--n and --rounds must be at least 1".into());
    }
    if max_growth.is_some_and(|growth| growth.is_nan() || growth < 0.0) {
        return Err("--max-rss-growth must be a fraction of at least 0 (0.10: 10 %)".into());
    }
    let concurrency = concurrency.clamp(1, n);
    let needed = (n + concurrency + 64) as u64;
    if open_files < needed {
        return Err(format!(
            "{n} sockets need about {needed} open files; the limit is {open_files} (raise the hard limit: ulimit -Hn)"
        )
        .into());
    }

    let rss_start = target.pid.and_then(rss_kib);
    let started = Instant::now();
    let mut cookies: Vec<Option<String>> = vec![None; n];
    let mut done: Vec<Round> = Vec::with_capacity(rounds);
    for number in 1..=rounds {
        let given = if reuse {
            cookies.clone()
        } else {
            vec![None; n]
        };
        let (result, created) =
            churn_round(target, n, concurrency, abort, given, drain, settle).await;
        for (i, cookie) in created {
            if let Some(slot) = cookies.get_mut(i) {
                *slot = Some(cookie);
            }
        }
        eprintln!("{}", result.line(number, rounds));
        let drained = result.drained();
        done.push(result);
        if !drained {
            // The next round would start on a registry that is not empty.
            break;
        }
    }

    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("n", n);
    outcome.set("rounds", rounds);
    outcome.set("rounds_run", done.len());
    outcome.set("concurrency", concurrency);
    outcome.set("sessions", if reuse { "reuse" } else { "fresh" });
    outcome.set("drop", if abort == Abort::Fin { "fin" } else { "rst" });
    outcome.set("rss_start_kib", json!(rss_start));
    let first = done.first().and_then(|r| r.rss_after);
    let last = done.last().and_then(|r| r.rss_after);
    outcome.set("rss_after_first_kib", json!(first));
    outcome.set("rss_after_last_kib", json!(last));
    let ratio = match (first, last) {
        (Some(first), Some(last)) if first > 0 => Some(last as f64 / first as f64),
        _ => None,
    };
    outcome.set("rss_last_vs_first", json!(ratio.map(|r| round(r, 4))));
    outcome.set(
        "rss_within_10_percent",
        json!(ratio.map(|r| (0.9..=1.1).contains(&r))),
    );
    outcome.set(
        "per_round_rss_open_kib",
        json!(done.iter().map(|r| r.rss_open).collect::<Vec<_>>()),
    );
    outcome.set(
        "per_round_rss_after_kib",
        json!(done.iter().map(|r| r.rss_after).collect::<Vec<_>>()),
    );
    outcome.set(
        "per_round_drain_s",
        json!(done
            .iter()
            .map(|r| r.drain_secs.map(|secs| round(secs, 3)))
            .collect::<Vec<_>>()),
    );
    outcome.set(
        "rounds_detail",
        Value::Array(
            done.iter()
                .enumerate()
                .map(|(i, r)| r.report(i + 1))
                .collect(),
        ),
    );
    outcome.set("total_s", round(started.elapsed().as_secs_f64(), 3));
    if let Some(error) = done.iter().find_map(|r| r.first_error.clone()) {
        outcome.set("first_error", error);
    }

    outcome.fail_if(
        done.iter().map(|r| r.errors).sum(),
        "sockets failed to open",
    );
    outcome.fail_if(
        done.iter().map(|r| (n - r.opened) as u64).sum(),
        "sockets never opened",
    );
    if let Some((i, r)) = done.iter().enumerate().find(|(_, r)| !r.drained()) {
        outcome.failures.push(format!(
            "round {}: /healthz never reported 0 sockets and 0 sessions within --drain {} s (last: {})",
            i + 1,
            drain.as_secs_f64(),
            r.after_counts
                .map_or("no answer".to_owned(), |(s, m)| format!(
                    "{s} sockets, {m} sessions"
                )),
        ));
    }
    if let (Some(growth), Some(ratio)) = (max_growth, ratio) {
        if ratio > 1.0 + growth {
            outcome.failures.push(format!(
                "RSS after the last round is {ratio:.3}x the first (--max-rss-growth {growth})"
            ));
        }
    }
    Ok(outcome)
}

/// One round: open, count, close, drain, measure. Also returns the
/// cookies of the sessions its handshakes created, by socket index.
async fn churn_round(
    target: &Target,
    n: usize,
    concurrency: usize,
    abort: Abort,
    cookies: Vec<Option<String>>,
    drain: Duration,
    settle: Duration,
) -> (Round, Vec<(usize, String)>) {
    let started = Instant::now();
    let (stop, stopped) = watch::channel(false);
    let open_until = started + Duration::from_secs(60 + n as u64 / 100);
    let plan = Arc::new(Plan {
        port: target.port,
        n,
        timeout: target.timeout,
        abort,
        cookies: Arc::new(cookies),
        open_until,
        sockets_until: open_until + settle + Duration::from_secs(60),
        next: AtomicUsize::new(0),
        failed: AtomicU64::new(0),
    });
    let workers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(open_worker(plan.clone(), stopped.clone())))
        .collect();
    let mut all = Worker::default();
    for worker in workers {
        match worker.await {
            Ok(worker) => {
                all.handshake.extend(worker.handshake);
                all.sockets.extend(worker.sockets);
                all.cookies.extend(worker.cookies);
                all.errors += worker.errors;
                all.first_error = all.first_error.or(worker.first_error);
            }
            Err(err) => {
                all.errors += 1;
                all.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    let open_secs = started.elapsed().as_secs_f64();
    let opened = all.sockets.len();

    // Let the server settle (the registry's joins, the allocator), then count.
    tokio::time::sleep(settle).await;
    let open_counts = counts(target.port).await;
    let rss_open = target.pid.and_then(rss_kib);

    let closing = Instant::now();
    let _ = stop.send(true);
    // The sockets close (each task ends when its side is done) while the
    // registry is watched: it must empty by itself, polled until 0 and 0 or
    // the bound.
    let sockets = all.sockets;
    let gather = tokio::spawn(async move {
        let mut ends = [0u64; 4];
        for socket in sockets {
            let end = socket.await.unwrap_or(End::ByServer);
            ends[end as usize] += 1;
        }
        (ends, closing.elapsed().as_secs_f64())
    });
    let mut after_counts = counts(target.port).await;
    let limit = closing + drain;
    while after_counts != Some((0, 0)) && Instant::now() < limit {
        tokio::time::sleep(POLL).await;
        after_counts = counts(target.port).await;
    }
    let drain_secs = (after_counts == Some((0, 0))).then(|| closing.elapsed().as_secs_f64());
    // Each task ends within --timeout of being told to; allow some slack.
    let (ends, close_secs) =
        match tokio::time::timeout(target.timeout + Duration::from_secs(30), gather).await {
            Ok(Ok(gathered)) => gathered,
            _ => ([0; 4], closing.elapsed().as_secs_f64()),
        };
    tokio::time::sleep(settle).await;
    let rss_after = target.pid.and_then(rss_kib);

    let measured = Round {
        opened,
        errors: all.errors,
        first_error: all.first_error,
        new_sessions: all.cookies.len(),
        handshake_ms: all.handshake.summary(),
        open_secs,
        open_counts,
        rss_open,
        clean: ends[End::Clean as usize],
        no_close_reply: ends[End::NoCloseReply as usize],
        dropped: ends[End::Dropped as usize],
        by_server: ends[End::ByServer as usize],
        close_secs,
        drain_secs,
        after_counts,
        rss_after,
        round_secs: started.elapsed().as_secs_f64(),
    };
    (measured, all.cookies)
}

/// `/healthz`'s `(sockets, sessions)`, if it answers with both.
async fn counts(port: u16) -> Option<(u64, u64)> {
    let health = healthz(port).await?;
    Some((health["sockets"].as_u64()?, health["sessions"].as_u64()?))
}

/// Opens sockets until N are taken, or the time is up.
async fn open_worker(plan: Arc<Plan>, stopped: watch::Receiver<bool>) -> Worker {
    let mut worker = Worker::default();
    loop {
        let i = plan.next.fetch_add(1, Relaxed);
        if i >= plan.n || Instant::now() >= plan.open_until {
            break;
        }
        // Too many failures: the server is not coping; stop trying.
        if plan.failed.load(Relaxed) >= 100 {
            break;
        }
        let cookie = plan.cookies.get(i).cloned().flatten();
        let began = Instant::now();
        match open_one(&plan, cookie.as_deref()).await {
            Ok((ws, created)) => {
                worker.handshake.push(began.elapsed());
                if let Some(created) = created {
                    worker.cookies.push((i, created));
                }
                // Every other socket closes cleanly; the rest are dropped.
                let clean = i.is_multiple_of(2);
                worker.sockets.push(tokio::spawn(hold(
                    ws,
                    clean,
                    plan.abort,
                    stopped.clone(),
                    plan.sockets_until,
                    plan.timeout,
                )));
            }
            Err(err) => {
                worker.errors += 1;
                plan.failed.fetch_add(1, Relaxed);
                worker.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    worker
}

/// The handshake (with `cookie`, or creating a session) and the `session`
/// frame; returns the socket and the cookie of a session it created.
async fn open_one(plan: &Plan, cookie: Option<&str>) -> Result<(Ws, Option<String>)> {
    let mut opened = open_socket(plan.port, cookie, plan.timeout).await?;
    if cookie.is_none() && opened.cookie.is_none() {
        return Err("the handshake set no session cookie".into());
    }
    socket::first_frame(&mut opened.ws, plan.timeout).await?;
    Ok((opened.ws, opened.cookie))
}

/// Keeps a socket open, reading (and so answering pings), until the round
/// closes it: cleanly, or by dropping the connection.
async fn hold(
    mut ws: Ws,
    clean: bool,
    abort: Abort,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
    timeout: Duration,
) -> End {
    let deadline = tokio::time::Instant::from_std(deadline);
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return End::ByServer,
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    if !clean {
        if abort == Abort::Rst {
            // A failure here leaves a FIN instead: still no close frame.
            let _ = ws.get_ref().set_zero_linger();
        }
        drop(ws);
        return End::Dropped;
    }
    // The close handshake: our close frame, the server's back, then the
    // server ends the TCP connection.
    let handshake = async {
        if ws.close(None).await.is_err() {
            return End::NoCloseReply;
        }
        let mut replied = false;
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(_))) => replied = true,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            }
        }
        if replied {
            End::Clean
        } else {
            End::NoCloseReply
        }
    };
    tokio::time::timeout(timeout, handshake)
        .await
        .unwrap_or(End::NoCloseReply)
}
