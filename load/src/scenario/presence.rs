//! `presence`: N logged-in users, each with its own name, C joining at a
//! time (`POST /login`, then the handshake with that cookie and the
//! greeting: `session`, `presence state`, `chat history`); held H seconds,
//! then every socket leaves (closes). Reports sockets opened and greeted a
//! second, their latency, and the `presence` frames the users' coming
//! online sent to those already in (the server batches the changes of each
//! `PRESENCE_BATCH_MS` into one frame, `{"online":[..],"offline":[..]}`).
//!
//! With `--baseline true` (the default) the run begins with the same N
//! sockets as anonymous visitors (`GET /` for the cookie, as `connect`
//! does, greeted the same way; never in presence) on the same server, and
//! reports both rates and their ratio. With `--watch true` (the default) an
//! anonymous watcher socket, open before the users join, checks that every
//! `presence` frame has the contract's shape, that each user's events
//! (a frame may name many users) alternate online/offline from frame to
//! frame, that each user came online once, and that each went offline
//! within `--grace` (the server's `PRESENCE_GRACE_SECS`) plus `--timeout`
//! after leaving. The `presence state` it was greeted with is what the
//! first frame about a user follows; as that state may be up to one batch
//! ahead of the frames, a first frame repeating it is counted
//! (`repeats_state`), not failed.
//!
//! Users of an earlier run still in their grace (a `lobby` run just before)
//! go offline during this one, and each announcement reaches every socket:
//! `online_at_start` (the watcher's `presence state`) shows it. Wait
//! `PRESENCE_GRACE_SECS` between runs, or run `presence` first.

use std::{
    borrow::Cow,
    collections::HashMap,
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

use super::{connect::store_kind, Outcome, Target};
use crate::{
    args::Args,
    client::{open_socket, Http, Ws},
    lobby::{self, Frame, Who},
    stats::{round, Latencies},
    Result,
};

/// Runs the scenario.
pub async fn run(args: &mut Args, target: &Target, open_files: u64) -> Result<Outcome> {
    let n: usize = args.get("n", 1000)?;
    let concurrency: usize = args.get("concurrency", 50)?;
    let hold = args.secs("hold", 1.0)?;
    let baseline: bool = args.get("baseline", true)?;
    let watch: bool = args.get("watch", true)?;
    let grace = args.secs("grace", 5.0)?;
    args.finish()?;
    if n == 0 {
        return Err("--n must be at least 1".into());
    }
    let concurrency = concurrency.clamp(1, n);
    let needed = (n + concurrency + 64) as u64;
    if open_files < needed {
        return Err(format!(
            "{n} sockets need about {needed} open files; the limit is {open_files} (raise the hard limit: ulimit -Hn)"
        )
        .into());
    }
    let tag = lobby::run_tag();
    let plan = Plan {
        port: target.port,
        n,
        concurrency,
        hold,
        timeout: target.timeout,
        tag: tag.clone(),
    };

    let anonymous = if baseline {
        Some(phase(&plan, false).await)
    } else {
        None
    };

    let watcher = if watch {
        Some(open_watcher(target, &tag).await?)
    } else {
        None
    };
    // Users of an earlier run still in their grace: their offline
    // announcements will reach this run's sockets and cost it.
    let online_at_start = watcher.as_ref().map(|watcher| watcher.online_at_start);
    let mut users = phase(&plan, true).await;
    let closed_at = Instant::now();

    let mut outcome = Outcome::default();
    outcome.set("store", store_kind(target.port).await);
    outcome.set("n", n);
    outcome.set("concurrency", concurrency);
    outcome.set("opened", users.opened);
    outcome.set("errors", users.errors);
    outcome.set("open_s", round(users.open_secs, 3));
    outcome.set("sockets_per_s", round(users.rate(), 1));
    outcome.set("handshake_ms", users.handshake.summary());
    outcome.set("per_socket_ms", users.per_socket.summary());
    outcome.set("online_at_start", json!(online_at_start));
    outcome.set("presence_state_max", users.largest_state);
    outcome.set("history_at_open", users.history);
    outcome.set("presence_frames", users.presence_frames);
    outcome.set("held_s", hold.as_secs_f64());
    outcome.set("alive_after_hold", users.alive_after_hold);
    outcome.set("close_s", round(users.close_secs, 3));
    if let Some(error) = &users.first_error {
        outcome.set("first_error", error.clone());
    }
    outcome.fail_if(users.errors, "sockets failed to open");
    outcome.fail_if((n - users.opened) as u64, "sockets never opened");
    outcome.fail_if(
        users.opened as u64 - users.alive_after_hold,
        "sockets closed while held",
    );
    outcome.fail_if(users.error_frames, "error frames");

    if let Some(mut anonymous) = anonymous {
        outcome.set(
            "baseline",
            json!({
                "opened": anonymous.opened,
                "sockets_per_s": round(anonymous.rate(), 1),
                "handshake_ms": anonymous.handshake.summary(),
                "per_socket_ms": anonymous.per_socket.summary(),
            }),
        );
        let ratio = if anonymous.rate() > 0.0 {
            json!(round(users.rate() / anonymous.rate(), 3))
        } else {
            Value::Null
        };
        outcome.set("users_vs_baseline", ratio);
        if let Some(error) = &anonymous.first_error {
            outcome.set("baseline_first_error", error.clone());
        }
        outcome.fail_if(anonymous.errors, "baseline sockets failed to open");
        outcome.fail_if(
            (n - anonymous.opened) as u64,
            "baseline sockets never opened",
        );
        outcome.fail_if(anonymous.error_frames, "baseline error frames");
    }

    if let Some(watcher) = watcher {
        // Every user that joined must be announced offline after the grace.
        let limit = closed_at + grace + target.timeout;
        while watcher.offline.load(Relaxed) < users.opened && Instant::now() < limit {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let offline_after = closed_at.elapsed().as_secs_f64();
        let _ = watcher.stop.send(true);
        let seen = tokio::time::timeout(Duration::from_secs(10), watcher.task)
            .await
            .map_err(|_| "the watcher did not stop")??;
        let report = seen.judge(&format!("{tag}-"), users.opened);
        outcome.set(
            "watcher",
            json!({
                "presence_frames": seen.frames,
                "online_events": report.online,
                "offline_events": report.offline,
                "offline_after_close_s": round(offline_after, 3),
                "not_alternating": report.not_alternating,
                "repeats_state": seen.repeats_state,
                "malformed": seen.malformed,
                "never_online": report.never_online,
                "never_offline": report.never_offline,
                "closed": seen.closed,
            }),
        );
        outcome.fail_if(
            report.not_alternating,
            "presence events not alternating online/offline for their user",
        );
        outcome.fail_if(seen.malformed, "malformed presence frames");
        outcome.fail_if(report.never_online, "users never announced online");
        outcome.fail_if(
            report.never_offline,
            "users not announced offline within --grace plus --timeout after leaving",
        );
        outcome.fail_if(u64::from(seen.closed), "watcher closed by the server");
    }
    Ok(outcome)
}

struct Plan {
    port: u16,
    n: usize,
    concurrency: usize,
    hold: Duration,
    timeout: Duration,
    tag: String,
}

/// What one phase (anonymous or logged in) measured.
#[derive(Default)]
struct Phase {
    opened: usize,
    errors: u64,
    first_error: Option<String>,
    open_secs: f64,
    handshake: Latencies,
    per_socket: Latencies,
    largest_state: usize,
    history: usize,
    presence_frames: u64,
    error_frames: u64,
    alive_after_hold: u64,
    close_secs: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        if self.open_secs > 0.0 {
            self.opened as f64 / self.open_secs
        } else {
            0.0
        }
    }
}

/// What one opening worker did.
#[derive(Default)]
struct Worker {
    handshake: Latencies,
    per_socket: Latencies,
    sockets: Vec<JoinHandle<()>>,
    largest_state: usize,
    history: usize,
    errors: u64,
    first_error: Option<String>,
}

/// Counters of the held sockets.
#[derive(Default)]
struct Held {
    presence: AtomicU64,
    errors: AtomicU64,
    closed: AtomicU64,
}

/// Opens N sockets (users or anonymous), C at a time, holds them, closes them.
async fn phase(plan: &Plan, users: bool) -> Phase {
    let held = Arc::new(Held::default());
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let open_until = started + Duration::from_secs(60 + plan.n as u64 / 100);
    let sockets_until = open_until + plan.hold + Duration::from_secs(60);
    let next = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..plan.concurrency)
        .map(|_| {
            let job = Job {
                port: plan.port,
                n: plan.n,
                timeout: plan.timeout,
                tag: users.then(|| plan.tag.clone()),
                open_until,
                sockets_until,
                next: next.clone(),
                failed: failed.clone(),
                held: held.clone(),
                stopped: stopped.clone(),
            };
            tokio::spawn(open_worker(job))
        })
        .collect();
    let mut phase = Phase::default();
    let mut sockets = Vec::with_capacity(plan.n);
    for worker in workers {
        let worker = match worker.await {
            Ok(worker) => worker,
            Err(err) => {
                phase.errors += 1;
                phase.first_error.get_or_insert_with(|| err.to_string());
                continue;
            }
        };
        phase.handshake.extend(worker.handshake);
        phase.per_socket.extend(worker.per_socket);
        phase.largest_state = phase.largest_state.max(worker.largest_state);
        phase.history = phase.history.max(worker.history);
        phase.errors += worker.errors;
        phase.first_error = phase.first_error.or(worker.first_error);
        sockets.extend(worker.sockets);
    }
    phase.open_secs = started.elapsed().as_secs_f64();
    phase.opened = sockets.len();

    tokio::time::sleep(plan.hold).await;
    let closed = held.closed.load(Relaxed);
    phase.alive_after_hold = phase.opened as u64 - closed.min(phase.opened as u64);
    let leaving = Instant::now();
    let _ = stop.send(true);
    let closing = async {
        for socket in sockets {
            let _ = socket.await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(30), closing).await;
    phase.close_secs = leaving.elapsed().as_secs_f64();
    phase.presence_frames = held.presence.load(Relaxed);
    phase.error_frames = held.errors.load(Relaxed);
    phase
}

/// What an opening worker is given.
struct Job {
    port: u16,
    n: usize,
    timeout: Duration,
    /// Users named `TAG-i`; `None`: anonymous.
    tag: Option<String>,
    open_until: Instant,
    sockets_until: Instant,
    next: Arc<AtomicUsize>,
    failed: Arc<AtomicU64>,
    held: Arc<Held>,
    stopped: watch::Receiver<bool>,
}

/// Opens sockets until N are taken, or the time is up.
async fn open_worker(job: Job) -> Worker {
    let mut worker = Worker::default();
    let mut http: Option<Http> = None;
    loop {
        let i = job.next.fetch_add(1, Relaxed);
        if i >= job.n || Instant::now() >= job.open_until {
            break;
        }
        // Too many failures: the server is not coping; stop trying.
        if job.failed.load(Relaxed) >= 100 {
            break;
        }
        let begun = Instant::now();
        let name = job.tag.as_ref().map(|tag| format!("{tag}-{i}"));
        let who = name.as_deref().map_or(Who::Anonymous, Who::User);
        let joined = async {
            if http.is_none() {
                http = Some(Http::connect(job.port).await?);
            }
            let connection = http.as_mut().ok_or("no connection")?;
            lobby::join(connection, who, job.timeout).await
        };
        match joined.await {
            Ok(joined) => {
                let now = Instant::now();
                worker.handshake.push(now - joined.handshake_began);
                worker.per_socket.push(now - begun);
                worker.largest_state = worker.largest_state.max(joined.greeting.online.len());
                worker.history = worker.history.max(joined.greeting.history);
                worker.sockets.push(tokio::spawn(hold_socket(
                    joined.ws,
                    job.held.clone(),
                    job.stopped.clone(),
                    job.sockets_until,
                )));
            }
            Err(err) => {
                http = None;
                worker.errors += 1;
                job.failed.fetch_add(1, Relaxed);
                worker.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    worker
}

/// Keeps a socket open, counting `presence` and `error` frames by their
/// start only, until told to leave; then closes it.
async fn hold_socket(
    mut ws: Ws,
    held: Arc<Held>,
    mut stop: watch::Receiver<bool>,
    deadline: Instant,
) {
    let deadline = tokio::time::Instant::from_std(deadline);
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if lobby::is_presence(&text) {
                        held.presence.fetch_add(1, Relaxed);
                    } else if text.starts_with(r#"{"event":"error""#) {
                        held.errors.fetch_add(1, Relaxed);
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    held.closed.fetch_add(1, Relaxed);
                    return;
                }
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    // Leave: a polite close, but never wait long for it.
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
}

/// The watcher's task and how to stop it.
struct Watcher {
    task: JoinHandle<Seen>,
    /// How many users its `presence state` listed.
    online_at_start: usize,
    /// This run's users announced offline (each counted once).
    offline: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
}

/// One user as the watcher saw it.
#[derive(Default)]
struct User {
    /// Online as last shown: by a frame, or else by the `presence state`.
    online: bool,
    /// Whether a frame has named the user yet.
    framed: bool,
    ons: u32,
    offs: u32,
}

/// Everything the watcher saw.
#[derive(Default)]
struct Seen {
    users: HashMap<String, User>,
    /// `presence` frames received.
    frames: u64,
    /// A user's frame saying what its last frame said.
    not_alternating: u64,
    /// A user's first frame saying what the `presence state` said (the
    /// state may be up to one batch ahead of the frames).
    repeats_state: u64,
    /// `presence` frames not as the contract has them.
    malformed: u64,
    closed: bool,
}

/// The watcher's verdict on this run's users.
struct Report {
    online: u64,
    offline: u64,
    not_alternating: u64,
    never_online: u64,
    never_offline: u64,
}

impl Seen {
    /// Records one `presence` frame; how many users whose names start with
    /// `ours` it brought offline for the first time.
    fn frame(&mut self, online: &[Cow<'_, str>], offline: &[Cow<'_, str>], ours: &str) -> usize {
        self.frames += 1;
        let mut gone = 0;
        for (names, online) in [(online, true), (offline, false)] {
            for name in names {
                gone += usize::from(self.event(name, online, ours));
            }
        }
        gone
    }

    /// Records one user's `presence` event; whether it is the first offline
    /// of a user whose name starts with `ours`.
    fn event(&mut self, name: &str, online: bool, ours: &str) -> bool {
        let user = self.users.entry(name.to_owned()).or_default();
        if user.online == online {
            if user.framed {
                self.not_alternating += 1;
            } else {
                self.repeats_state += 1;
            }
        }
        user.online = online;
        user.framed = true;
        if online {
            user.ons += 1;
            false
        } else {
            user.offs += 1;
            user.offs == 1 && name.starts_with(ours)
        }
    }

    /// Counts for the `joined` users named `ours` + number.
    fn judge(&self, ours: &str, joined: usize) -> Report {
        let mine = || {
            self.users
                .iter()
                .filter(|(name, _)| name.starts_with(ours))
                .map(|(_, user)| user)
        };
        let seen_online = mine().filter(|user| user.ons > 0).count();
        let seen_offline = mine().filter(|user| user.offs > 0).count();
        Report {
            online: mine().map(|user| u64::from(user.ons)).sum(),
            offline: mine().map(|user| u64::from(user.offs)).sum(),
            not_alternating: self.not_alternating,
            never_online: joined.saturating_sub(seen_online) as u64,
            never_offline: joined.saturating_sub(seen_offline) as u64,
        }
    }
}

/// Opens the anonymous watcher (the handshake makes its session) and
/// starts reading its `presence` frames.
async fn open_watcher(target: &Target, tag: &str) -> Result<Watcher> {
    let mut ws = open_socket(target.port, None, target.timeout).await?.ws;
    let greeting = lobby::greeting(&mut ws, target.timeout).await?;
    let mut seen = Seen::default();
    let online_at_start = greeting.online.len();
    for name in greeting.online {
        seen.users.insert(
            name,
            User {
                online: true,
                ..User::default()
            },
        );
    }
    let offline = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(watch_presence(
        ws,
        seen,
        format!("{tag}-"),
        offline.clone(),
        stopped,
    ));
    Ok(Watcher {
        task,
        online_at_start,
        offline,
        stop,
    })
}

/// Reads the watcher's frames until told to stop, recording every
/// `presence` event; counts this run's users' first offline in `offline`.
async fn watch_presence(
    mut ws: Ws,
    mut seen: Seen,
    ours: String,
    offline: Arc<AtomicUsize>,
    mut stop: watch::Receiver<bool>,
) -> Seen {
    // Bounded like every loop: the run itself never lasts this long.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(24 * 3600);
    loop {
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    match lobby::frame(&text) {
                        Frame::Presence { online, offline: went } => {
                            let gone = seen.frame(&online, &went, &ours);
                            offline.fetch_add(gone, Relaxed);
                        }
                        Frame::Malformed if lobby::is_presence(&text) => seen.malformed += 1,
                        _ => {}
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    seen.closed = true;
                    return seen;
                }
                Some(Ok(_)) => {}
            },
            _ = stop.changed() => break,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
    seen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presence_must_alternate_per_user() {
        let mut seen = Seen::default();
        seen.users.insert(
            "old".into(),
            User {
                online: true,
                ..User::default()
            },
        );
        assert!(!seen.event("t-0", true, "t-"));
        assert!(!seen.event("old", false, "t-"));
        assert!(seen.event("t-0", false, "t-"));
        assert!(!seen.event("t-1", true, "t-"));
        assert_eq!(seen.not_alternating, 0);
        assert!(!seen.event("t-1", true, "t-"));
        assert_eq!(seen.not_alternating, 1);
        let report = seen.judge("t-", 3);
        assert_eq!((report.online, report.offline), (3, 1));
        assert_eq!((report.never_online, report.never_offline), (1, 2));
    }

    #[test]
    fn a_frame_names_many_users() {
        let names =
            |names: &[&'static str]| names.iter().map(|&n| Cow::Borrowed(n)).collect::<Vec<_>>();
        let mut seen = Seen::default();
        // The state lists "old" and "early" (whose online frame may follow it).
        for name in ["early", "old"] {
            seen.users.insert(
                name.into(),
                User {
                    online: true,
                    ..User::default()
                },
            );
        }
        assert_eq!(
            seen.frame(&names(&["early", "t-0", "t-1"]), &names(&["old"]), "t-"),
            0
        );
        assert_eq!((seen.not_alternating, seen.repeats_state), (0, 1));
        assert_eq!(
            seen.frame(&names(&["t-2"]), &names(&["early", "t-0", "t-1"]), "t-"),
            2
        );
        // A second offline of t-0 is not alternating, and not a first offline.
        assert_eq!(seen.frame(&names(&[]), &names(&["t-0", "t-2"]), "t-"), 1);
        assert_eq!((seen.not_alternating, seen.repeats_state), (1, 1));
        assert_eq!(seen.frames, 3);
        let report = seen.judge("t-", 3);
        assert_eq!((report.online, report.offline), (3, 4));
        assert_eq!((report.never_online, report.never_offline), (0, 0));
        assert_eq!(report.not_alternating, 1);
    }
}
