//! `mixed`: S sessions with W sockets each; R increments per second in all,
//! each session taking its turn, alternately over HTTP and over one of its
//! sockets; for each, the time until every socket of the session has the
//! new count, and whether any increment or event was lost.

use std::{
    sync::{atomic::Ordering::Relaxed, Arc},
    time::{Duration, Instant},
};

use tokio::{
    sync::{mpsc, watch},
    task::JoinHandle,
};

use super::{connect::store_kind, Outcome, Target};
use crate::{
    args::Args,
    client::{open_socket, Http},
    socket::{self, Group, Socket, Tally},
    stats::{round, Latencies},
    Result,
};

/// One session: its HTTP connection, cookie, sockets and their group.
struct Rig {
    http: Http,
    cookie: String,
    count: u64,
    group: Arc<Group>,
    incr: Vec<mpsc::Sender<()>>,
    sockets: Vec<JoinHandle<u64>>,
}

/// What one session's run measured.
#[derive(Default)]
struct Run {
    latency: Latencies,
    via_http: u64,
    via_socket: u64,
    missing: u64,
    wrong_count: u64,
    errors: u64,
    first_error: Option<String>,
}

struct Setup {
    port: u16,
    sockets: usize,
    timeout: Duration,
    tally: Arc<Tally>,
    stopped: watch::Receiver<bool>,
    sockets_until: Instant,
}

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target) -> Result<Outcome> {
    let sessions: usize = args.get("sessions", 200)?;
    let per_session: usize = args.get("sockets", 3)?;
    let rate: f64 = args.get("rate", 1000.0)?;
    let duration = args.secs("duration", 10.0)?;
    args.finish()?;
    if sessions == 0 || per_session == 0 || !(rate > 0.0 && rate <= 1_000_000.0) {
        return Err("--sessions and --sockets must be at least 1, --rate in (0, 1e6]".into());
    }
    // Each session gets rate/sessions increments a second; half over its
    // sockets, spread over them: far below the 100 frames/s budget.
    let period = Duration::from_secs_f64(sessions as f64 / rate);

    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let setup = Arc::new(Setup {
        port: target.port,
        sockets: per_session,
        timeout: target.timeout,
        tally: tally.clone(),
        stopped,
        sockets_until: Instant::now()
            + duration
            + target.timeout * 2
            + Duration::from_secs(60 + sessions as u64 / 10),
    });
    let mut rigs = Vec::with_capacity(sessions);
    for chunk in (0..sessions).collect::<Vec<_>>().chunks(25) {
        let batch = chunk.iter().map(|_| rig(setup.clone()));
        for rig in futures_util::future::join_all(batch).await {
            rigs.push(rig?);
        }
    }

    let started = Instant::now();
    let until = started + duration;
    let runners: Vec<_> = rigs
        .into_iter()
        .enumerate()
        .map(|(i, rig)| {
            let first = started + period.mul_f64(i as f64 / sessions as f64);
            tokio::spawn(session(rig, first, period, until, target.timeout))
        })
        .collect();
    let mut all = Run::default();
    let mut sockets = Vec::new();
    for runner in runners {
        let (run, handles) = runner.await?;
        all.latency.extend(run.latency);
        all.via_http += run.via_http;
        all.via_socket += run.via_socket;
        all.missing += run.missing;
        all.wrong_count += run.wrong_count;
        all.errors += run.errors;
        all.first_error = all.first_error.or(run.first_error);
        sockets.extend(handles);
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    for socket in sockets {
        let _ = tokio::time::timeout(Duration::from_secs(10), socket).await;
    }

    let increments = all.via_http + all.via_socket;
    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("sessions", sessions);
    outcome.set("sockets_per_session", per_session);
    outcome.set("rate_asked", rate);
    outcome.set("duration_s", round(secs, 3));
    outcome.set("increments", increments);
    outcome.set("increments_per_s", round(increments as f64 / secs, 1));
    outcome.set("via_http", all.via_http);
    outcome.set("via_socket", all.via_socket);
    outcome.set("delivery_ms", all.latency.summary());
    outcome.set("events_delivered", tally.counts.load(Relaxed));
    outcome.set("missing_events", all.missing + tally.skipped.load(Relaxed));
    outcome.set("lost_increments", all.wrong_count);
    outcome.set("errors", all.errors + tally.errors.load(Relaxed));
    outcome.set("sockets_closed", tally.closed.load(Relaxed));
    if let Some(error) = &all.first_error {
        outcome.set("first_error", error.clone());
    }
    outcome.fail_if(all.missing + tally.skipped.load(Relaxed), "events missing");
    outcome.fail_if(
        all.wrong_count,
        "increments lost (a count not one more than the last)",
    );
    outcome.fail_if(all.errors, "requests failed");
    outcome.fail_if(tally.errors.load(Relaxed), "error frames");
    outcome.fail_if(tally.reordered.load(Relaxed), "events out of order");
    outcome.fail_if(tally.closed.load(Relaxed), "sockets closed by the server");
    Ok(outcome)
}

/// Makes a session over HTTP and opens its sockets.
async fn rig(setup: Arc<Setup>) -> Result<Rig> {
    let mut http = Http::connect(setup.port).await?;
    let (count, cookie) = http.incr(None).await?;
    let cookie = cookie.ok_or("POST /incr set no session cookie")?;
    let group = Group::new(setup.sockets);
    let mut incr = Vec::with_capacity(setup.sockets);
    let mut sockets = Vec::with_capacity(setup.sockets);
    for _ in 0..setup.sockets {
        let mut ws = open_socket(setup.port, Some(&cookie), setup.timeout)
            .await?
            .ws;
        let shown = socket::first_frame(&mut ws, setup.timeout).await?;
        if shown != count {
            return Err(format!("a socket saw count {shown}, expected {count}").into());
        }
        let (tx, rx) = mpsc::channel(4);
        incr.push(tx);
        sockets.push(tokio::spawn(socket::run(Socket {
            ws,
            count,
            group: Some(group.clone()),
            tally: setup.tally.clone(),
            incr: Some(rx),
            stop: setup.stopped.clone(),
            deadline: setup.sockets_until,
        })));
    }
    Ok(Rig {
        http,
        cookie,
        count,
        group,
        incr,
        sockets,
    })
}

/// One session's turns until `until`; then one more `POST /incr` checks that
/// the store holds exactly every increment.
async fn session(
    mut rig: Rig,
    first: Instant,
    period: Duration,
    until: Instant,
    timeout: Duration,
) -> (Run, Vec<JoinHandle<u64>>) {
    let mut run = Run::default();
    let mut next = first;
    let mut turn = 0usize;
    while next < until {
        tokio::time::sleep_until(next.into()).await;
        // A slow turn delays the next one (no burst to catch up).
        next = (next + period).max(Instant::now());
        let expected = rig.count + 1;
        rig.group.expect(expected);
        let sent = Instant::now();
        if turn.is_multiple_of(2) {
            run.via_http += 1;
            match tokio::time::timeout(timeout, rig.http.incr(Some(&rig.cookie))).await {
                Ok(Ok((count, _))) if count == expected => {}
                Ok(Ok(_)) => run.wrong_count += 1,
                Ok(Err(err)) => {
                    run.errors += 1;
                    run.first_error.get_or_insert_with(|| err.to_string());
                    break;
                }
                Err(_) => {
                    run.errors += 1;
                    run.first_error
                        .get_or_insert_with(|| "POST /incr timed out".to_owned());
                    break;
                }
            }
        } else {
            run.via_socket += 1;
            let sender = &rig.incr[(turn / 2) % rig.incr.len()];
            if sender.send(()).await.is_err() {
                run.errors += 1;
                run.first_error
                    .get_or_insert_with(|| "a socket task ended".to_owned());
                break;
            }
        }
        turn += 1;
        rig.count = expected;
        match rig.group.wait(sent + timeout).await {
            Ok(at) => run.latency.push(at - sent),
            Err(missing) => run.missing += missing as u64,
        }
    }
    // The store must hold exactly the increments made.
    match tokio::time::timeout(timeout, rig.http.incr(Some(&rig.cookie))).await {
        Ok(Ok((count, _))) if count == rig.count + 1 => {}
        Ok(Ok(_)) => run.wrong_count += 1,
        _ => run.errors += 1,
    }
    (run, rig.sockets)
}
