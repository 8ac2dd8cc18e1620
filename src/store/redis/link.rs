//! The command connections to Redis: one per thread, replaced when they go
//! silent.
//!
//! One per thread because a multiplexed connection's driver task lives on
//! the runtime that first used it: with one shared connection made by the
//! main arbiter's timers (presence, heartbeat), every command of an HTTP
//! worker went to the main thread and its reply came back, two cross-thread
//! wakes per command, four per `POST /incr` (its script and its publish):
//! about 0.6 context switches and 7 µs of the main thread's CPU per request,
//! the Redis `/incr` regression of issue 16. Each thread (each HTTP worker,
//! the main arbiter) now gets its own lazy manager, connected on that
//! thread's first call, so a worker's commands are written and read on the
//! worker itself, as before the presence timers existed.
//!
//! redis-rs's `ConnectionManager` reconnects when its connection is dropped,
//! but a call that times out is "retry immediately" to it: on a path that
//! drops packets without closing (a frozen middlebox, a black-holed route)
//! every call times out on the same dead connection forever. So:
//!
//! - every connection (commands and the subscription) gets TCP keepalive and
//!   `TCP_USER_TIMEOUT`, so the kernel itself ends a path that stopped
//!   acknowledging, where it can tell;
//! - a call that times out (the manager's response timeout) moves the link
//!   to a new generation: every thread abandons its manager on its next call
//!   and makes a new, lazy one, which connects then. The generation number
//!   makes the calls that timed out together replace the connections once;
//!   a capped, growing pause between replacements (reset by a success)
//!   keeps a Redis that is merely slow from causing a reconnect storm.
//!
//! The hot path pays an atomic load, a thread-local lookup, a
//! reference-count increment and a boxed future per call, plus one relaxed
//! atomic load on success.

use std::{
    cell::RefCell,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, Weak,
    },
    time::{Duration, Instant},
};

use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    io::tcp::{socket2::TcpKeepalive, TcpSettings},
    Client, Cmd, IntoConnectionInfo, Pipeline, RedisFuture, RedisResult, Value,
};

use crate::sync::lock;

/// The pause after a replacement before the next one may happen, first and
/// at most: doubled on every replacement, reset by a successful call.
const REPLACE_PAUSE: (Duration, Duration) = (Duration::from_millis(500), Duration::from_secs(8));

/// A client whose connections probe a silent peer: keepalive after 5 s of
/// idleness, every 2 s, 3 probes; unacknowledged data ends the connection
/// after 10 s. Nagle off: commands are small and latency-bound.
pub fn open_client(url: &str) -> RedisResult<Client> {
    let keepalive = TcpKeepalive::new()
        .with_time(Duration::from_secs(5))
        .with_interval(Duration::from_secs(2))
        .with_retries(3);
    let settings = TcpSettings::default()
        .set_nodelay(true)
        .set_keepalive(keepalive)
        .set_user_timeout(Duration::from_secs(10));
    let info = url.into_connection_info()?.set_tcp_settings(settings);
    Client::open(info)
}

/// One thread's manager for one link, made for one generation.
struct Local {
    link: Weak<Shared>,
    generation: u64,
    manager: ConnectionManager,
}

thread_local! {
    /// This thread's managers, one per live [`Link`] (in practice one).
    static LOCAL: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

struct Shared {
    client: Client,
    config: ConnectionManagerConfig,
    /// Increased by every replacement: a thread whose manager was made for
    /// an older generation makes a new one on its next call.
    generation: AtomicU64,
    /// Set after a replacement until a call succeeds: only then does a
    /// success need to reset the pause (keeps the success path to a load).
    replaced: AtomicBool,
    /// When the next replacement may happen, and the pause after it.
    pause: Mutex<(Instant, Duration)>,
}

/// A swappable, cheap-to-clone handle on the command connections; use it as
/// a connection (each call runs on its thread's manager current when it
/// starts).
#[derive(Clone)]
pub struct Link(Arc<Shared>);

impl Link {
    /// A link whose managers are lazy (this succeeds while Redis is down).
    pub fn new(client: Client, config: ConnectionManagerConfig) -> RedisResult<Self> {
        Ok(Self(Arc::new(Shared {
            client,
            config,
            generation: AtomicU64::new(0),
            replaced: AtomicBool::new(false),
            pause: Mutex::new((Instant::now(), REPLACE_PAUSE.0)),
        })))
    }

    /// This thread's manager (a reference-count increment) and its
    /// generation; made, lazy, on the thread's first call and after a
    /// replacement. Must be called from inside the runtime that will poll
    /// the call: a new manager's connection task is spawned there.
    fn current(&self) -> RedisResult<(ConnectionManager, u64)> {
        let generation = self.0.generation.load(Ordering::Acquire);
        let this = Arc::as_ptr(&self.0);
        LOCAL.with(|local| {
            let mut local = local.borrow_mut();
            if let Some(entry) = local.iter().find(|entry| entry.link.as_ptr() == this) {
                if entry.generation == generation {
                    return Ok((entry.manager.clone(), generation));
                }
            }
            // Forget this link's older manager and those of dropped links.
            local.retain(|entry| entry.link.strong_count() > 0 && entry.link.as_ptr() != this);
            let manager = ConnectionManager::new_lazy_with_config(
                self.0.client.clone(),
                self.0.config.clone(),
            )?;
            local.push(Local {
                link: Arc::downgrade(&self.0),
                generation,
                manager: manager.clone(),
            });
            Ok((manager, generation))
        })
    }

    /// What a call's result says about its connection.
    fn observe<T>(&self, generation: u64, result: &RedisResult<T>) {
        match result {
            Err(err) if err.is_timeout() => self.replace(generation),
            Ok(_)
                if self.0.replaced.load(Ordering::Relaxed)
                    && self.0.generation.load(Ordering::Acquire) == generation =>
            {
                self.0.replaced.store(false, Ordering::Relaxed);
                let mut pause = lock(&self.0.pause);
                pause.1 = REPLACE_PAUSE.0;
            }
            _ => {}
        }
    }

    /// Replaces generation `generation`'s managers (every thread's, each on
    /// its next call), unless they were replaced already or the pause since
    /// the last replacement is not over.
    fn replace(&self, generation: u64) {
        let shared = &self.0;
        let mut pause = lock(&shared.pause);
        let now = Instant::now();
        if shared.generation.load(Ordering::Acquire) != generation || now < pause.0 {
            return;
        }
        // An old manager goes when its thread makes the next one and the
        // last call holding it ends.
        shared.generation.store(generation + 1, Ordering::Release);
        *pause = (now + pause.1, (pause.1 * 2).min(REPLACE_PAUSE.1));
        shared.replaced.store(true, Ordering::Relaxed);
        metrics::counter!(crate::telemetry::REDIS_RECONNECTS).increment(1);
        log::warn!("a Redis call timed out: replaced the command connection");
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        Box::pin(async move {
            let (mut manager, generation) = self.current()?;
            let result = manager.send_packed_command(cmd).await;
            self.observe(generation, &result);
            result
        })
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        Box::pin(async move {
            let (mut manager, generation) = self.current()?;
            let result = manager.send_packed_commands(pipeline, offset, count).await;
            self.observe(generation, &result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.0.client.get_connection_info().redis_settings().db()
    }
}
