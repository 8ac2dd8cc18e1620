//! The command connection to Redis, replaced when it goes silent.
//!
//! redis-rs's `ConnectionManager` reconnects when its connection is dropped,
//! but a call that times out is "retry immediately" to it: on a path that
//! drops packets without closing (a frozen middlebox, a black-holed route)
//! every call times out on the same dead connection forever. So:
//!
//! - every connection (commands and the subscription) gets TCP keepalive and
//!   `TCP_USER_TIMEOUT`, so the kernel itself ends a path that stopped
//!   acknowledging, where it can tell;
//! - the manager sits behind an [`ArcSwap`]; a call that times out (the
//!   manager's response timeout) abandons its manager and swaps in a new,
//!   lazy one, which connects on the next call. A generation number makes
//!   the calls that timed out together on one connection replace it once;
//!   a capped, growing pause between replacements (reset by a success)
//!   keeps a Redis that is merely slow from causing a reconnect storm.
//!
//! The hot path pays an `ArcSwap` load, a reference-count increment and a
//! boxed future per call, plus one relaxed atomic load on success.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc, Mutex, PoisonError,
    },
    time::{Duration, Instant},
};

use arc_swap::ArcSwap;
use redis::{
    aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig},
    io::tcp::{socket2::TcpKeepalive, TcpSettings},
    Client, Cmd, IntoConnectionInfo, Pipeline, RedisFuture, RedisResult, Value,
};

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

/// The current manager and its generation.
struct Current {
    manager: ConnectionManager,
    generation: u64,
}

struct Shared {
    client: Client,
    config: ConnectionManagerConfig,
    current: ArcSwap<Current>,
    /// Set after a replacement until a call succeeds: only then does a
    /// success need to reset the pause (keeps the success path to a load).
    replaced: AtomicBool,
    /// When the next replacement may happen, and the pause after it.
    pause: Mutex<(Instant, Duration)>,
    next_generation: AtomicU64,
}

/// A swappable, cheap-to-clone handle on the command connection; use it as
/// a connection (each call runs on the manager current when it starts).
#[derive(Clone)]
pub struct Link(Arc<Shared>);

impl Link {
    /// A lazy manager over `client` (succeeds while Redis is down).
    pub fn new(client: Client, config: ConnectionManagerConfig) -> RedisResult<Self> {
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config.clone())?;
        Ok(Self(Arc::new(Shared {
            client,
            config,
            current: ArcSwap::from_pointee(Current {
                manager,
                generation: 0,
            }),
            replaced: AtomicBool::new(false),
            pause: Mutex::new((Instant::now(), REPLACE_PAUSE.0)),
            next_generation: AtomicU64::new(1),
        })))
    }

    /// The current manager (a reference-count increment) and its generation.
    fn current(&self) -> (ConnectionManager, u64) {
        let current = self.0.current.load();
        (current.manager.clone(), current.generation)
    }

    /// What a call's result says about its connection.
    fn observe<T>(&self, generation: u64, result: &RedisResult<T>) {
        match result {
            Err(err) if err.is_timeout() => self.replace(generation),
            Ok(_)
                if self.0.replaced.load(Ordering::Relaxed)
                    && self.0.current.load().generation == generation =>
            {
                self.0.replaced.store(false, Ordering::Relaxed);
                let mut pause = self.0.pause.lock().unwrap_or_else(PoisonError::into_inner);
                pause.1 = REPLACE_PAUSE.0;
            }
            _ => {}
        }
    }

    /// Replaces generation `generation`'s manager, unless it was replaced
    /// already or the pause since the last replacement is not over.
    fn replace(&self, generation: u64) {
        let shared = &self.0;
        let mut pause = shared.pause.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if shared.current.load().generation != generation || now < pause.0 {
            return;
        }
        let manager = match ConnectionManager::new_lazy_with_config(
            shared.client.clone(),
            shared.config.clone(),
        ) {
            Ok(manager) => manager,
            Err(err) => return log::warn!("cannot replace the Redis connection: {err}"),
        };
        let generation = shared.next_generation.fetch_add(1, Ordering::Relaxed);
        // The old manager goes when the last call holding it ends.
        shared.current.store(Arc::new(Current {
            manager,
            generation,
        }));
        *pause = (now + pause.1, (pause.1 * 2).min(REPLACE_PAUSE.1));
        shared.replaced.store(true, Ordering::Relaxed);
        metrics::counter!(crate::telemetry::REDIS_RECONNECTS).increment(1);
        log::warn!("a Redis call timed out: replaced the command connection");
    }
}

impl ConnectionLike for Link {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        let (mut manager, generation) = self.current();
        Box::pin(async move {
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
        let (mut manager, generation) = self.current();
        Box::pin(async move {
            let result = manager.send_packed_commands(pipeline, offset, count).await;
            self.observe(generation, &result);
            result
        })
    }

    fn get_db(&self) -> i64 {
        self.0.current.load().manager.get_db()
    }
}
