//! `storm`: N logged-in sockets, each its own user, all dropped at once (TCP
//! closed without a close frame, as when their instance dies or a deploy
//! restarts it), then every client reconnecting with the demo client's
//! backoff (`static/session-socket.js`: capped exponential, full jitter,
//! 250 ms first step, 10 s cap) and reading the greeting again.
//!
//! Reports how long until every socket was back, the reconnect handshakes'
//! latency, the attempts they took, the `presence` frames each socket
//! received from its return until `--settle` after the last one was back
//! (batched per `PRESENCE_BATCH_MS`; a return within the grace announces
//! nothing), how many the server closed meanwhile (4002: dropped as too
//! slow), and the server's peak RSS (`--pid`). Fails when a socket never
//! came back within `--timeout` x 6 or any was closed by the server.
//!
//! Ends by closing every socket and waiting (at most `--grace` plus
//! `--timeout`) until `GET /presence` no longer lists its users, so the next
//! run starts clean.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::{sync::watch, task::JoinSet};
use tokio_tungstenite::tungstenite::Message;

use super::{connect::store_kind, Outcome, Target};
use crate::{
    args::Args,
    client::{open_socket, Http, Ws},
    lobby::{self, is_presence},
    stats::{round, rss_kib, Latencies},
    Result,
};

/// The demo client's first backoff step and cap.
const BASE_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(10);

/// What one client's return took and saw.
#[derive(Default)]
struct Returned {
    handshake: Option<Duration>,
    attempts: u64,
    presence_frames: u64,
    closed_by_server: Option<u16>,
    error: Option<String>,
}

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target, open_files: u64) -> Result<Outcome> {
    let n: usize = args.get("n", 1000)?;
    let concurrency: usize = args.get("concurrency", 50)?;
    let settle = args.secs("settle", 2.0)?;
    let grace = args.secs("grace", 5.0)?;
    args.finish()?;
    if n == 0 {
        return Err("--n must be at least 1".into());
    }
    let needed = (n + concurrency + 64) as u64;
    if open_files < needed {
        return Err(format!(
            "{n} sockets need about {needed} open files; the limit is {open_files}"
        )
        .into());
    }
    let tag = lobby::run_tag();
    let prefix = format!("storm-{tag}-");

    // Log everyone in and open their sockets, C at a time.
    let mut users = Vec::with_capacity(n);
    let mut http = Http::connect(target.port).await?;
    for i in 0..n {
        users.push(http.login(&format!("{prefix}{i}"), None).await?);
    }
    let mut sockets = Vec::with_capacity(n);
    for chunk in users.chunks(concurrency.max(1)) {
        let mut opening = JoinSet::new();
        for cookie in chunk {
            let (cookie, port, timeout) = (cookie.clone(), target.port, target.timeout);
            opening.spawn(async move {
                let mut ws = open_socket(port, Some(&cookie), timeout).await?.ws;
                lobby::greeting(&mut ws, timeout).await?;
                Ok::<_, crate::Error>(ws)
            });
        }
        while let Some(opened) = opening.join_next().await {
            sockets.push(opened.map_err(|err| err.to_string())??);
        }
    }
    let rss_settled = target.pid.and_then(rss_kib);
    let peak = Arc::new(AtomicU64::new(rss_settled.unwrap_or(0)));
    let (stop, stopped) = watch::channel(false);
    if let Some(pid) = target.pid {
        let (peak, mut stopped) = (peak.clone(), stopped.clone());
        tokio::spawn(async move {
            while !*stopped.borrow() {
                if let Some(rss) = rss_kib(pid) {
                    peak.fetch_max(rss, Relaxed);
                }
                let _ = tokio::time::timeout(Duration::from_millis(100), stopped.changed()).await;
            }
        });
    }

    // The storm: every connection dropped at once, every client back.
    drop(sockets);
    let dropped = Instant::now();
    let limit = dropped + target.timeout * 6;
    let back = Arc::new(AtomicU64::new(0));
    let mut clients = JoinSet::new();
    for (i, cookie) in users.iter().enumerate() {
        let client = Client {
            port: target.port,
            cookie: cookie.clone(),
            timeout: target.timeout,
            limit,
            back: back.clone(),
            stopped: stopped.clone(),
        };
        clients.spawn(client.come_back(i as u64));
    }
    // Wait until all are back (or the limit), then `settle`, then stop them.
    let all_back = loop {
        if back.load(Relaxed) as usize == n {
            break Some(dropped.elapsed());
        }
        if Instant::now() >= limit {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let back = back.load(Relaxed) as usize;
    tokio::time::sleep(settle).await;
    let _ = stop.send(true);
    let mut handshakes = Latencies::default();
    let (mut frames, mut max_frames, mut attempts, mut slow, mut other_closes) = (0, 0, 0, 0, 0);
    let mut errors = 0;
    let mut first_error = None;
    while let Some(returned) = clients.join_next().await {
        let returned = returned.unwrap_or_else(|err| Returned {
            error: Some(err.to_string()),
            ..Returned::default()
        });
        if let Some(handshake) = returned.handshake {
            handshakes.push(handshake);
        }
        frames += returned.presence_frames;
        max_frames = max_frames.max(returned.presence_frames);
        attempts += returned.attempts;
        match returned.closed_by_server {
            Some(4002) => slow += 1,
            Some(_) => other_closes += 1,
            None => {}
        }
        if let Some(error) = returned.error {
            errors += 1;
            first_error.get_or_insert(error);
        }
    }

    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("n", n);
    outcome.set(
        "all_back_s",
        json!(all_back.map(|d| round(d.as_secs_f64(), 3))),
    );
    outcome.set("back", back);
    outcome.set("handshake_ms", handshakes.summary());
    outcome.set("attempts_per_socket", round(attempts as f64 / n as f64, 2));
    outcome.set(
        "presence_frames_per_socket",
        round(frames as f64 / n as f64, 2),
    );
    outcome.set("presence_frames_max", max_frames);
    outcome.set("dropped_as_slow", slow);
    outcome.set("closed_otherwise", other_closes);
    outcome.set("rss_settled_kib", json!(rss_settled));
    outcome.set(
        "rss_peak_kib",
        json!(target.pid.map(|_| peak.load(Relaxed))),
    );
    if let Some(error) = first_error {
        outcome.set("first_error", error);
    }
    outcome.fail_if((n - back) as u64, "sockets never came back");
    outcome.fail_if(slow + other_closes, "sockets closed by the server");
    outcome.fail_if(errors, "clients failed");
    // Leave nothing behind for the next run.
    let offline = lobby::wait_offline(
        target.port,
        &prefix,
        Instant::now() + grace + target.timeout,
    )
    .await?;
    if !offline {
        outcome
            .failures
            .push("users still online after the grace".to_owned());
    }
    Ok(outcome)
}

/// One client of the storm.
struct Client {
    port: u16,
    cookie: String,
    timeout: Duration,
    /// When to give up coming back.
    limit: Instant,
    /// How many clients are back, shared.
    back: Arc<AtomicU64>,
    stopped: watch::Receiver<bool>,
}

impl Client {
    /// Backs off, reconnects, reads the greeting, then counts presence
    /// frames until told to stop; closes its socket at the end.
    async fn come_back(mut self, seed: u64) -> Returned {
        let mut returned = Returned::default();
        let mut jitter = Jitter::new(seed);
        let ws: Ws = loop {
            // Full jitter: a delay drawn between 0 and the current step.
            let step = BASE_DELAY
                .saturating_mul(1 << returned.attempts.min(6))
                .min(MAX_DELAY);
            tokio::time::sleep(jitter.below(step)).await;
            returned.attempts += 1;
            let began = Instant::now();
            match self.open().await {
                Ok(ws) => {
                    returned.handshake = Some(began.elapsed());
                    self.back.fetch_add(1, Relaxed);
                    break ws;
                }
                Err(err) if Instant::now() >= self.limit => {
                    returned.error = Some(err.to_string());
                    return returned;
                }
                Err(_) => {}
            }
        };
        let (mut sink, mut stream) = ws.split();
        loop {
            tokio::select! {
                next = stream.next() => match next {
                    Some(Ok(Message::Text(text))) if is_presence(&text) => {
                        returned.presence_frames += 1;
                    }
                    Some(Ok(Message::Close(frame))) => {
                        returned.closed_by_server =
                            Some(frame.map_or(1005, |frame| frame.code.into()));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        returned.closed_by_server = Some(1006);
                        break;
                    }
                },
                _ = self.stopped.changed() => break,
            }
        }
        let _ = sink.close().await;
        returned
    }

    async fn open(&self) -> Result<Ws> {
        let mut ws = open_socket(self.port, Some(&self.cookie), self.timeout)
            .await?
            .ws;
        lobby::greeting(&mut ws, self.timeout).await?;
        Ok(ws)
    }
}

/// A small xorshift generator for the backoff's jitter (no dependency).
struct Jitter(u64);

impl Jitter {
    fn new(seed: u64) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as u64);
        Self((nanos ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)) | 1)
    }

    fn below(&mut self, bound: Duration) -> Duration {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        let millis = u64::try_from(bound.as_millis()).unwrap_or(u64::MAX).max(1);
        Duration::from_millis(self.0 % millis)
    }
}
