//! `fanout`: K sockets on one session, then M sequential `POST /incr`; for
//! each, the time from sending the request until the LAST of the K sockets
//! has the new count.

use std::{
    sync::{atomic::Ordering::Relaxed, Arc},
    time::{Duration, Instant},
};

use tokio::sync::watch;

use super::{connect::store_kind, Outcome, Target};
use crate::{
    args::Args,
    client::{open_socket, Http},
    socket::{self, Group, Socket, Tally},
    stats::{round, Latencies},
    Result,
};

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target) -> Result<Outcome> {
    let k: usize = args.get("k", 1000)?;
    let m: u64 = args.get("m", 200)?;
    let concurrency: usize = args.get("concurrency", 50)?;
    args.finish()?;
    measure(target, k, m, concurrency).await
}

/// Opens `k` sockets on one session, `concurrency` at a time, makes `m`
/// sequential increments and reports (also the `lobby` scenario's baseline).
pub async fn measure(target: &Target, k: usize, m: u64, concurrency: usize) -> Result<Outcome> {
    if k == 0 {
        return Err("--k must be at least 1".into());
    }

    // One session, made over HTTP.
    let mut http = Http::connect(target.port).await?;
    let (initial, cookie) = http.incr(None).await?;
    let cookie = cookie.ok_or("POST /incr set no session cookie")?;

    let tally = Arc::new(Tally::default());
    let group = Group::new(k);
    let (stop, stopped) = watch::channel(false);
    let sockets_until = Instant::now() + target.timeout * 2 + Duration::from_secs(60 + m * 5);
    let opening = Instant::now();
    let mut sockets = Vec::with_capacity(k);
    let mut pending = Vec::new();
    for i in 0..k {
        pending.push(open_socket(target.port, Some(&cookie), target.timeout));
        if pending.len() == concurrency.max(1) || i + 1 == k {
            for opened in futures_util::future::join_all(pending.drain(..)).await {
                let mut ws = opened?.ws;
                let count = socket::first_frame(&mut ws, target.timeout).await?;
                if count != initial {
                    return Err(format!("a socket saw count {count}, expected {initial}").into());
                }
                sockets.push(tokio::spawn(socket::run(Socket {
                    ws,
                    count,
                    group: Some(group.clone()),
                    tally: tally.clone(),
                    incr: None,
                    stop: stopped.clone(),
                    deadline: sockets_until,
                })));
            }
        }
    }
    let open_secs = opening.elapsed().as_secs_f64();

    let mut last_socket = Latencies::default();
    let mut http_latency = Latencies::default();
    let mut missing_rounds = 0u64;
    let mut late = 0u64;
    let phase = Instant::now();
    for i in 1..=m {
        let expected = initial + i;
        group.expect(expected);
        let sent = Instant::now();
        let (count, _) = tokio::time::timeout(target.timeout, http.incr(Some(&cookie)))
            .await
            .map_err(|_| "POST /incr timed out")??;
        http_latency.push(sent.elapsed());
        if count != expected {
            return Err(format!("POST /incr answered {count}, expected {expected}").into());
        }
        match group.wait(sent + target.timeout).await {
            Ok(at) => last_socket.push(at - sent),
            Err(missing) => {
                missing_rounds += 1;
                late += missing as u64;
            }
        }
    }
    let phase_secs = phase.elapsed().as_secs_f64();

    // Anything still on its way gets a moment, then every socket must
    // have seen all M counts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let _ = stop.send(true);
    let mut behind = 0u64;
    for socket in sockets {
        let last = tokio::time::timeout(Duration::from_secs(10), socket)
            .await
            .map_err(|_| "a socket did not stop")??;
        if last != initial + m {
            behind += 1;
        }
    }
    let delivered = tally.counts.load(Relaxed);
    let expected_events = k as u64 * m;
    let missing = expected_events.saturating_sub(delivered) + tally.skipped.load(Relaxed);

    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("k", k);
    outcome.set("m", m);
    outcome.set("open_s", round(open_secs, 3));
    outcome.set("last_socket_ms", last_socket.summary());
    outcome.set("http_incr_ms", http_latency.summary());
    outcome.set("events_delivered", delivered);
    outcome.set("events_per_s", round(delivered as f64 / phase_secs, 1));
    outcome.set("missing_events", missing);
    outcome.set("rounds_incomplete", missing_rounds);
    outcome.set("reordered", tally.reordered.load(Relaxed));
    outcome.set("sockets_behind", behind);
    outcome.set("sockets_closed", tally.closed.load(Relaxed));
    outcome.fail_if(missing, "events missing");
    outcome.fail_if(late, "socket deliveries later than --timeout");
    outcome.fail_if(tally.reordered.load(Relaxed), "events out of order");
    outcome.fail_if(behind, "sockets that did not end on the final count");
    outcome.fail_if(tally.closed.load(Relaxed), "sockets closed by the server");
    Ok(outcome)
}
