//! `http`: `POST /incr` on one session over C keep-alive connections for D
//! seconds; req/s, latency, non-2xx answers, and lost increments (the final
//! count against the 200 answers, and no count answered twice).

use std::time::{Duration, Instant};

use super::{connect::store_kind, Outcome, Target};
use crate::{
    args::Args,
    client::Http,
    stats::{round, Latencies},
    Result,
};

#[derive(Default)]
struct Worker {
    latency: Latencies,
    counts: Vec<u64>,
    non_2xx: u64,
    errors: u64,
    first_error: Option<String>,
}

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target) -> Result<Outcome> {
    let concurrency: usize = args.get("concurrency", 64)?;
    let duration = args.secs("duration", 10.0)?;
    let max_requests: u64 = args.get("max-requests", 10_000_000)?;
    args.finish()?;
    let concurrency = concurrency.max(1);

    let mut first = Http::connect(target.port).await?;
    let (initial, cookie) = first.incr(None).await?;
    let cookie = cookie.ok_or("POST /incr set no session cookie")?;

    // Connect everyone first, so the clock measures requests only.
    let mut connections = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        connections.push(Http::connect(target.port).await?);
    }
    let per_worker = max_requests.div_ceil(concurrency as u64);
    let started = Instant::now();
    let until = started + duration;
    let workers: Vec<_> = connections
        .into_iter()
        .map(|http| {
            let cookie = cookie.clone();
            let timeout = target.timeout;
            tokio::spawn(worker(http, cookie, until, per_worker, timeout))
        })
        .collect();
    let mut all = Worker::default();
    for worker in workers {
        let worker = worker.await?;
        all.latency.extend(worker.latency);
        all.counts.extend(worker.counts);
        all.non_2xx += worker.non_2xx;
        all.errors += worker.errors;
        all.first_error = all.first_error.or(worker.first_error);
    }
    let secs = started.elapsed().as_secs_f64();

    // A fresh connection: the first one sat idle past the server's keep-alive.
    drop(first);
    let (last, _) = Http::connect(target.port)
        .await?
        .incr(Some(&cookie))
        .await?;
    let answered = all.counts.len() as u64;
    // Increments the store applied between the first and the last request.
    let applied = last.saturating_sub(initial + 1);
    all.counts.sort_unstable();
    let repeated = all.counts.windows(2).filter(|w| w[0] == w[1]).count() as u64;
    // Every request that got 200 must have added exactly one.
    let lost = answered.saturating_sub(applied);
    // Requests that errored may or may not have been applied; more applied
    // than answered is explained only by those.
    let unexplained = applied.saturating_sub(answered + all.errors + all.non_2xx);

    let total = answered + all.non_2xx + all.errors;
    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("concurrency", concurrency);
    outcome.set("duration_s", round(secs, 3));
    outcome.set("requests", total);
    outcome.set("req_per_s", round(answered as f64 / secs, 1));
    outcome.set("latency_ms", all.latency.summary());
    outcome.set("non_2xx", all.non_2xx);
    outcome.set("errors", all.errors);
    outcome.set("final_count", last);
    outcome.set("lost_increments", lost);
    outcome.set("repeated_counts", repeated);
    if let Some(error) = &all.first_error {
        outcome.set("first_error", error.clone());
    }
    outcome.fail_if(all.errors, "requests failed");
    outcome.fail_if(all.non_2xx, "non-2xx answers");
    outcome.fail_if(lost, "increments lost");
    outcome.fail_if(repeated, "counts answered twice");
    outcome.fail_if(unexplained, "increments applied that nobody asked for");
    Ok(outcome)
}

async fn worker(
    mut http: Http,
    cookie: String,
    until: Instant,
    max: u64,
    timeout: Duration,
) -> Worker {
    let mut worker = Worker::default();
    let mut sent = 0;
    while sent < max && Instant::now() < until {
        sent += 1;
        let begun = Instant::now();
        let reply = tokio::time::timeout(
            timeout,
            http.request(hyper::Method::POST, "/incr", Some(&cookie)),
        )
        .await;
        match reply {
            Ok(Ok(reply)) if reply.status == 200 => match reply.count() {
                Ok(count) => {
                    worker.latency.push(begun.elapsed());
                    worker.counts.push(count);
                }
                Err(err) => {
                    worker.errors += 1;
                    worker.first_error.get_or_insert_with(|| err.to_string());
                }
            },
            Ok(Ok(_)) => worker.non_2xx += 1,
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
