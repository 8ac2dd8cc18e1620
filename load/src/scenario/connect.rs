//! `connect`: N sockets, each with its own new session, C opening at a time;
//! sockets/s, handshake latency, the server's memory per socket, and whether
//! every socket is still open after H seconds idle.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc,
    },
    time::{Duration, Instant},
};

use hyper::Method;
use serde_json::{json, Value};
use tokio::{sync::watch, task::JoinHandle};

use super::{Outcome, Target};
use crate::{
    args::Args,
    client::{open_socket, Http},
    socket::{self, Socket, Tally},
    stats::{round, rss_kib, Latencies},
    Result,
};

/// Where a socket's cookie comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum CookieFrom {
    /// `GET /` first, as a browser loading the page.
    Page,
    /// No HTTP request: the handshake creates the session.
    Handshake,
}

/// What one opening worker did.
#[derive(Default)]
struct Worker {
    handshake: Latencies,
    per_socket: Latencies,
    sockets: Vec<JoinHandle<u64>>,
    errors: u64,
    first_error: Option<String>,
}

struct Plan {
    port: u16,
    n: usize,
    from: CookieFrom,
    timeout: Duration,
    open_until: Instant,
    sockets_until: Instant,
}

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target, open_files: u64) -> Result<Outcome> {
    let n: usize = args.get("n", 5000)?;
    let concurrency: usize = args.get("concurrency", 50)?;
    let hold = args.secs("hold", 5.0)?;
    let from = match args.get("cookie", "page".to_owned())?.as_str() {
        "page" => CookieFrom::Page,
        "handshake" => CookieFrom::Handshake,
        other => return Err(format!("--cookie: `{other}` is neither page nor handshake").into()),
    };
    args.finish()?;
    let concurrency = concurrency.clamp(1, n.max(1));
    let needed = (n + concurrency + 64) as u64;
    if open_files < needed {
        return Err(format!(
            "{n} sockets need about {needed} open files; the limit is {open_files} (raise the hard limit: ulimit -Hn)"
        )
        .into());
    }

    let rss_before = target.pid.and_then(rss_kib);
    let tally = Arc::new(Tally::default());
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let open_budget = Duration::from_secs(60 + n as u64 / 100);
    let plan = Arc::new(Plan {
        port: target.port,
        n,
        from,
        timeout: target.timeout,
        open_until: started + open_budget,
        sockets_until: started + open_budget + hold + Duration::from_secs(60),
    });
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (plan, next, failed) = (plan.clone(), next.clone(), failed.clone());
            let (tally, stopped) = (tally.clone(), stopped.clone());
            tokio::spawn(open_worker(plan, next, failed, tally, stopped))
        })
        .collect();
    let mut done = Worker::default();
    for worker in workers {
        let worker = worker.await?;
        done.handshake.extend(worker.handshake);
        done.per_socket.extend(worker.per_socket);
        done.sockets.extend(worker.sockets);
        done.errors += worker.errors;
        done.first_error = done.first_error.or(worker.first_error);
    }
    let open_secs = started.elapsed().as_secs_f64();
    let opened = done.sockets.len();

    // Let the server settle (logging, allocator), then measure and hold.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_open = target.pid.and_then(rss_kib);
    tokio::time::sleep(hold).await;
    let closed_in_hold = tally.closed.load(Relaxed);
    let healthz = healthz_sockets(target.port).await;
    let rss_held = target.pid.and_then(rss_kib);

    let _ = stop.send(true);
    let closing = async {
        for socket in done.sockets {
            let _ = socket.await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), closing).await;

    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("n", n);
    outcome.set("concurrency", concurrency);
    outcome.set(
        "cookie_from",
        if from == CookieFrom::Page {
            "page"
        } else {
            "handshake"
        },
    );
    outcome.set("opened", opened);
    outcome.set("errors", done.errors);
    outcome.set("open_s", round(open_secs, 3));
    outcome.set("sockets_per_s", round(opened as f64 / open_secs, 1));
    outcome.set("handshake_ms", done.handshake.summary());
    outcome.set("per_socket_ms", done.per_socket.summary());
    outcome.set("rss_before_kib", json!(rss_before));
    outcome.set("rss_open_kib", json!(rss_open));
    outcome.set("rss_held_kib", json!(rss_held));
    let per_socket = match (rss_before, rss_open) {
        (Some(before), Some(after)) if opened > 0 => {
            json!(round((after as f64 - before as f64) / opened as f64, 2))
        }
        _ => Value::Null,
    };
    outcome.set("kib_per_socket", per_socket);
    outcome.set("held_s", hold.as_secs_f64());
    outcome.set(
        "alive_after_hold",
        opened as u64 - closed_in_hold.min(opened as u64),
    );
    outcome.set("healthz_sockets", json!(healthz));
    if let Some(error) = &done.first_error {
        outcome.set("first_error", error.clone());
    }
    outcome.fail_if(done.errors, "sockets failed to open");
    outcome.fail_if((n - opened) as u64, "sockets never opened");
    outcome.fail_if(closed_in_hold, "sockets closed while held idle");
    if healthz.is_some_and(|sockets| sockets < opened as u64) {
        outcome.fail_if(1, "healthz reported fewer sockets than were open");
    }
    Ok(outcome)
}

/// Opens sockets until N are taken, or the time is up.
async fn open_worker(
    plan: Arc<Plan>,
    next: Arc<AtomicUsize>,
    failed: Arc<AtomicU64>,
    tally: Arc<Tally>,
    stopped: watch::Receiver<bool>,
) -> Worker {
    let mut worker = Worker::default();
    let mut http: Option<Http> = None;
    while next.fetch_add(1, Relaxed) < plan.n && Instant::now() < plan.open_until {
        // Too many failures: the server is not coping; stop trying.
        if failed.load(Relaxed) >= 100 {
            break;
        }
        let begun = Instant::now();
        match open_one(&plan, &mut http).await {
            Ok((ws, count, handshake_began)) => {
                let now = Instant::now();
                worker.handshake.push(now - handshake_began);
                worker.per_socket.push(now - begun);
                worker.sockets.push(tokio::spawn(socket::run(Socket {
                    ws,
                    count,
                    group: None,
                    tally: tally.clone(),
                    incr: None,
                    stop: stopped.clone(),
                    deadline: plan.sockets_until,
                })));
            }
            Err(err) => {
                http = None;
                worker.errors += 1;
                failed.fetch_add(1, Relaxed);
                worker.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    worker
}

/// The cookie (per the plan), then the handshake and the `session` frame.
async fn open_one(
    plan: &Plan,
    http: &mut Option<Http>,
) -> Result<(crate::client::Ws, u64, Instant)> {
    let cookie = match plan.from {
        CookieFrom::Handshake => None,
        CookieFrom::Page => {
            if http.is_none() {
                *http = Some(Http::connect(plan.port).await?);
            }
            let page = http.as_mut().ok_or("no connection")?;
            let reply = tokio::time::timeout(plan.timeout, page.request(Method::GET, "/", None))
                .await
                .map_err(|_| "GET / timed out")??;
            if reply.status != 200 {
                return Err(format!("GET / answered {}", reply.status).into());
            }
            Some(reply.cookie.ok_or("GET / set no session cookie")?)
        }
    };
    let began = Instant::now();
    let mut opened = open_socket(plan.port, cookie.as_deref(), plan.timeout).await?;
    if plan.from == CookieFrom::Handshake && opened.cookie.is_none() {
        return Err("the handshake set no session cookie".into());
    }
    let count = socket::first_frame(&mut opened.ws, plan.timeout).await?;
    Ok((opened.ws, count, began))
}

/// `/healthz`'s `sockets`, if it answers.
async fn healthz_sockets(port: u16) -> Option<u64> {
    healthz(port).await.and_then(|v| v["sockets"].as_u64())
}

/// `/healthz`'s `store` (`memory` or `redis`), if it answers.
pub async fn store_kind(port: u16) -> Value {
    healthz(port)
        .await
        .and_then(|v| v["store"].as_str().map(|s| json!(s)))
        .unwrap_or(Value::Null)
}

/// `/healthz`'s JSON answer (200 or 503), if it answers within 5 s.
pub async fn healthz(port: u16) -> Option<Value> {
    let ask = async {
        let mut http = Http::connect(port).await.ok()?;
        let reply = http.request(Method::GET, "/healthz", None).await.ok()?;
        serde_json::from_slice::<Value>(&reply.body).ok()
    };
    tokio::time::timeout(Duration::from_secs(5), ask)
        .await
        .ok()
        .flatten()
}
