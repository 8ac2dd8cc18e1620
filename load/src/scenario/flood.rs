//! `flood`: N `POST /incr` without a cookie over C keep-alive connections,
//! so each request starts a new session, as a flood of anonymous visitors
//! (or of a client that drops its cookies) does. Reports req/s, latency, the
//! answers by status (every one must be 200 with the count 1 and a new
//! session cookie: anything else fails the run), and the server's RSS (with
//! `--pid`) sampled every `--sample` seconds while it runs and once after.
//!
//! Run it against a server with the default settings: the embedded store
//! holds at most `MAX_SESSIONS` (100,000) sessions and evicts beyond that,
//! so the RSS should level off instead of growing with N. The issue's
//! target, a peak RSS under 250 MiB, is printed beside the peak, never
//! judged.
//!
//! One session is started before the flood and incremented again after it:
//! `oldest_session` says whether the store still held it (`kept`: its count
//! went to 2) or had evicted it (`evicted`: a new session, count 1), as
//! expected once N passes `MAX_SESSIONS` on the embedded store. (The store's
//! size itself is not visible from outside.)

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant},
};

use hyper::Method;
use serde_json::{json, Map, Value};
use tokio::sync::watch;

use super::{connect::store_kind, Outcome, Target};
use crate::{
    args::Args,
    client::Http,
    stats::{round, rss_kib, Latencies},
    Result,
};

/// The target for the server's peak RSS: 250 MiB, in KiB.
const RSS_TARGET_KIB: u64 = 250 * 1024;

/// How many RSS samples the report lists (the peak is over all of them).
const CURVE_POINTS: usize = 10;

/// What one connection did.
#[derive(Default)]
struct Worker {
    latency: Latencies,
    /// Answers by status code.
    statuses: BTreeMap<u16, u64>,
    /// 200 answers without the count 1 or without a new session cookie.
    not_new: u64,
    errors: u64,
    first_error: Option<String>,
}

/// What the workers share.
struct Plan {
    n: u64,
    until: Instant,
    timeout: Duration,
    /// Requests taken (may pass N: each worker takes one too many at the end).
    next: AtomicU64,
    /// Requests answered, for the RSS samples.
    answered: AtomicU64,
}

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target) -> Result<Outcome> {
    let n: u64 = args.get("n", 1_000_000)?;
    let concurrency: usize = args.get("concurrency", 64)?;
    let duration = args.secs("duration", 600.0)?;
    let every = args.secs("sample", 0.25)?;
    let settle = args.secs("settle", 1.0)?;
    args.finish()?;
    if n == 0 {
        return Err("--n must be at least 1".into());
    }
    if every.is_zero() {
        return Err("--sample must be above 0".into());
    }
    let concurrency = concurrency.clamp(1, usize::try_from(n).unwrap_or(usize::MAX));

    // The oldest session: started before the flood, looked at after it.
    let mut first = Http::connect(target.port).await?;
    let (_, oldest) = first.incr(None).await?;
    let oldest = oldest.ok_or("POST /incr set no session cookie")?;
    drop(first);

    let rss_before = target.pid.and_then(rss_kib);
    // Connect everyone first, so the clock measures requests only.
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        connections.push(Http::connect(target.port).await?);
    }
    let started = Instant::now();
    let plan = Arc::new(Plan {
        n,
        until: started + duration,
        timeout: target.timeout,
        next: AtomicU64::new(0),
        answered: AtomicU64::new(0),
    });
    let (stop, stopped) = watch::channel(false);
    let sampler = target
        .pid
        .map(|pid| tokio::spawn(sample(pid, every, plan.clone(), stopped)));
    let workers: Vec<_> = connections
        .into_iter()
        .map(|http| tokio::spawn(worker(http, plan.clone())))
        .collect();
    let mut all = Worker::default();
    for worker in workers {
        match worker.await {
            Ok(worker) => {
                all.latency.extend(worker.latency);
                for (status, count) in worker.statuses {
                    *all.statuses.entry(status).or_default() += count;
                }
                all.not_new += worker.not_new;
                all.errors += worker.errors;
                all.first_error = all.first_error.or(worker.first_error);
            }
            Err(err) => {
                all.errors += 1;
                all.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    let samples = match sampler {
        Some(task) => task.await.unwrap_or_default(),
        None => Vec::new(),
    };
    tokio::time::sleep(settle).await;
    let rss_after = target.pid.and_then(rss_kib);

    // Did the store keep the session started before the flood?
    let oldest_session = match Http::connect(target.port)
        .await?
        .incr(Some(&oldest))
        .await?
    {
        (2, _) => "kept",
        (1, _) => "evicted",
        _ => "unexpected",
    };

    let answered: u64 = all.statuses.values().sum();
    let ok = all.statuses.get(&200).copied().unwrap_or(0);
    let non_200 = answered - ok;
    let sent = answered + all.errors;
    let rss_peak = samples.iter().map(|&(_, kib)| kib).chain(rss_after).max();
    let statuses: Map<String, Value> = all
        .statuses
        .iter()
        .map(|(status, count)| (status.to_string(), json!(count)))
        .collect();

    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("n", n);
    outcome.set("concurrency", concurrency);
    outcome.set("duration_s", round(secs, 3));
    outcome.set("requests", sent);
    outcome.set("req_per_s", round(ok as f64 / secs, 1));
    outcome.set("latency_ms", all.latency.summary());
    outcome.set("statuses", Value::Object(statuses));
    outcome.set("errors", all.errors);
    outcome.set("not_new_sessions", all.not_new);
    outcome.set("oldest_session", oldest_session);
    outcome.set("rss_before_kib", json!(rss_before));
    outcome.set("rss_peak_kib", json!(rss_peak));
    outcome.set("rss_after_kib", json!(rss_after));
    outcome.set("rss_target_kib", RSS_TARGET_KIB);
    outcome.set(
        "rss_peak_under_target",
        json!(rss_peak.map(|peak| peak < RSS_TARGET_KIB)),
    );
    outcome.set("rss_samples", samples.len());
    outcome.set("rss_curve", curve(&samples));
    if let Some(error) = &all.first_error {
        outcome.set("first_error", error.clone());
    }
    outcome.fail_if(all.errors, "requests failed");
    outcome.fail_if(non_200, "answers other than 200");
    outcome.fail_if(
        all.not_new,
        "200 answers without the count 1 and a new session cookie",
    );
    outcome.fail_if(
        n.saturating_sub(sent),
        "requests never sent (the --duration bound)",
    );
    if oldest_session == "unexpected" {
        outcome.fail_if(1, "unexpected answer to the oldest session's POST /incr");
    }
    Ok(outcome)
}

/// Sends cookie-less `POST /incr` until N are taken, or the time is up.
async fn worker(mut http: Http, plan: Arc<Plan>) -> Worker {
    let mut worker = Worker::default();
    while plan.next.fetch_add(1, Relaxed) < plan.n && Instant::now() < plan.until {
        let begun = Instant::now();
        let reply =
            tokio::time::timeout(plan.timeout, http.request(Method::POST, "/incr", None)).await;
        match reply {
            Ok(Ok(reply)) => {
                plan.answered.fetch_add(1, Relaxed);
                *worker.statuses.entry(reply.status).or_default() += 1;
                if reply.status == 200 {
                    worker.latency.push(begun.elapsed());
                    if reply.cookie.is_none() || !matches!(reply.count(), Ok(1)) {
                        worker.not_new += 1;
                    }
                }
            }
            Ok(Err(err)) => {
                worker.errors += 1;
                worker.first_error.get_or_insert_with(|| err.to_string());
                // The connection may be broken: take a new one, or give up.
                match Http::connect(http.port()).await {
                    Ok(fresh) => http = fresh,
                    Err(_) => break,
                }
            }
            Err(_) => {
                worker.errors += 1;
                worker
                    .first_error
                    .get_or_insert_with(|| "POST /incr timed out".to_owned());
                break;
            }
        }
    }
    worker
}

/// Reads the server's RSS every `every` until stopped: `(answered, KiB)`.
async fn sample(
    pid: u32,
    every: Duration,
    plan: Arc<Plan>,
    mut stop: watch::Receiver<bool>,
) -> Vec<(u64, u64)> {
    let mut samples = Vec::new();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Bounded by the flood's own deadline even if nobody stops it.
    let deadline = tokio::time::Instant::from_std(plan.until + Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Some(kib) = rss_kib(pid) {
                    samples.push((plan.answered.load(Relaxed), kib));
                }
            }
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    samples
}

/// Up to [`CURVE_POINTS`] samples, evenly spread, as `[answered, KiB]`.
fn curve(samples: &[(u64, u64)]) -> Value {
    if samples.is_empty() {
        return Value::Array(Vec::new());
    }
    let points = CURVE_POINTS.min(samples.len());
    let last = samples.len() - 1;
    let picked: Vec<Value> = (0..points)
        .map(|k| {
            let index = if points == 1 {
                last
            } else {
                k * last / (points - 1)
            };
            let (answered, kib) = samples[index];
            json!([answered, kib])
        })
        .collect();
    Value::Array(picked)
}
