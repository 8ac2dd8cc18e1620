//! One task per open socket: reads every frame (which also answers the
//! server's pings), checks that counts only go up, tells its [`Group`] when
//! it reaches the count the scenario waits for, and sends `incr` on command.

use std::{
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, watch, Notify};
use tokio_tungstenite::tungstenite::Message;

use crate::{client::Ws, Result};

/// Counters shared by every socket of a run.
#[derive(Default)]
pub struct Tally {
    /// `current count` frames received.
    pub counts: AtomicU64,
    /// Counts that skipped one or more values (events lost on the way).
    pub skipped: AtomicU64,
    /// Counts not above the last one seen (out of order).
    pub reordered: AtomicU64,
    /// `error` frames received.
    pub errors: AtomicU64,
    /// Sockets that ended before the run told them to.
    pub closed: AtomicU64,
}

/// The sockets of one session, and the count a scenario waits for them to reach.
pub struct Group {
    size: usize,
    target: AtomicU64,
    reached: AtomicUsize,
    done_at: Mutex<Option<Instant>>,
    done: Notify,
}

impl Group {
    /// A group of `size` sockets.
    pub fn new(size: usize) -> Arc<Self> {
        Arc::new(Self {
            size,
            target: AtomicU64::new(u64::MAX),
            reached: AtomicUsize::new(0),
            done_at: Mutex::new(None),
            done: Notify::new(),
        })
    }

    /// Starts waiting for `count` (before the request that makes it).
    pub fn expect(&self, count: u64) {
        *self.done_at.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.reached.store(0, Relaxed);
        self.target.store(count, Relaxed);
    }

    /// Waits until every socket has shown the expected count; returns when
    /// the last one did, or how many are still missing at `deadline`.
    pub async fn wait(&self, deadline: Instant) -> std::result::Result<Instant, usize> {
        loop {
            let notified = self.done.notified();
            if let Some(at) = *self.done_at.lock().unwrap_or_else(|e| e.into_inner()) {
                return Ok(at);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || tokio::time::timeout(left, notified).await.is_err() {
                return Err(self.size - self.reached.load(Relaxed).min(self.size));
            }
        }
    }

    fn saw(&self, previous: u64, count: u64) {
        let target = self.target.load(Relaxed);
        if previous < target
            && target <= count
            && self.reached.fetch_add(1, Relaxed) + 1 == self.size
        {
            *self.done_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
            self.done.notify_one();
        }
    }
}

/// A frame the server sent, as far as the load program cares.
pub enum Event {
    /// `{"event":"session","data":{"count":N,...}}`.
    Session(u64),
    /// `{"event":"current count","data":N}`.
    Count(u64),
    /// `{"event":"error",...}`.
    Error,
    /// Anything else.
    Other,
}

/// Reads one text frame; the hot `current count` frame without a JSON tree.
pub fn parse(text: &str) -> Event {
    const COUNT: &str = r#"{"event":"current count","data":"#;
    if let Some(rest) = text.strip_prefix(COUNT) {
        if let Ok(count) = rest.trim_end_matches('}').parse() {
            return Event::Count(count);
        }
    }
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return Event::Other;
    };
    match (value["event"].as_str(), &value["data"]) {
        (Some("session"), data) => data["count"].as_u64().map_or(Event::Other, Event::Session),
        (Some("current count"), data) => data.as_u64().map_or(Event::Other, Event::Count),
        (Some("error"), _) => Event::Error,
        _ => Event::Other,
    }
}

/// Reads frames until the `session` frame, within `timeout`; returns its count.
pub async fn first_frame(ws: &mut Ws, timeout: Duration) -> Result<u64> {
    let read = async {
        // The server sends `session` first; a few control frames at most before it.
        for _ in 0..8 {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => match parse(&text) {
                    Event::Session(count) => return Ok(count),
                    _ => return Err(format!("expected the session frame, got {text}").into()),
                },
                Some(Ok(Message::Close(close))) => {
                    return Err(format!("closed before the session frame: {close:?}").into())
                }
                Some(Ok(_)) => {}
                Some(Err(err)) => return Err(err.into()),
                None => return Err("closed before the session frame".into()),
            }
        }
        Err("no session frame".into())
    };
    tokio::time::timeout(timeout, read)
        .await
        .map_err(|_| "timed out waiting for the session frame")?
}

/// What a socket task is given.
pub struct Socket {
    /// The open socket, its `session` frame already read.
    pub ws: Ws,
    /// The count of its `session` frame.
    pub count: u64,
    /// Its session's group, when the scenario waits on counts.
    pub group: Option<Arc<Group>>,
    /// The run's counters.
    pub tally: Arc<Tally>,
    /// Each message sends one `{"event":"incr"}`.
    pub incr: Option<mpsc::Receiver<()>>,
    /// Turns true when the run ends: close and return.
    pub stop: watch::Receiver<bool>,
    /// The task ends by itself at this point whatever happens.
    pub deadline: Instant,
}

/// Runs a socket until the run stops it, the server closes it, or its
/// deadline; returns the last count it showed.
pub async fn run(mut socket: Socket) -> u64 {
    let mut last = socket.count;
    let deadline = tokio::time::Instant::from_std(socket.deadline);
    let mut incr = socket.incr.take();
    loop {
        tokio::select! {
            frame = socket.ws.next() => match frame {
                Some(Ok(Message::Text(text))) => match parse(&text) {
                    Event::Count(count) => {
                        socket.tally.counts.fetch_add(1, Relaxed);
                        if count <= last {
                            socket.tally.reordered.fetch_add(1, Relaxed);
                            continue;
                        }
                        if count > last + 1 {
                            socket.tally.skipped.fetch_add(count - last - 1, Relaxed);
                        }
                        if let Some(group) = &socket.group {
                            group.saw(last, count);
                        }
                        last = count;
                    }
                    Event::Error => {
                        socket.tally.errors.fetch_add(1, Relaxed);
                    }
                    Event::Session(_) | Event::Other => {}
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                    socket.tally.closed.fetch_add(1, Relaxed);
                    return last;
                }
                Some(Ok(_)) => {}
            },
            Some(()) = async { match incr.as_mut() { Some(rx) => rx.recv().await, None => None } } => {
                if socket.ws.send(Message::text(r#"{"event":"incr"}"#)).await.is_err() {
                    socket.tally.closed.fetch_add(1, Relaxed);
                    return last;
                }
            }
            _ = socket.stop.changed() => break,
            _ = tokio::time::sleep_until(deadline) => break,
        }
    }
    // A polite close, but never wait long for it.
    let _ = tokio::time::timeout(Duration::from_secs(2), socket.ws.close(None)).await;
    last
}
