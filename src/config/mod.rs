//! Typed configuration, parsed once from the environment at start-up.
//!
//! Every variable of the contract is declared once, in `vars.rs`: its name,
//! default, the kind of value it accepts (`kinds.rs`) and its meaning. From
//! that declaration come its parsing into its own type (the rest of the app
//! never sees a raw string), the [`ConfigError`] naming it when its value is
//! bad (`main` prints it and exits with 2), its row of the README's table and
//! its place in [`VARIABLES`].

mod error;
mod kinds;
mod var;
mod vars;

#[cfg(test)]
mod tests;

use std::{collections::HashSet, net::IpAddr, sync::LazyLock, time::Duration};

use actix_web::cookie::Key;

// The declarations: `HOST`, `PORT` and the rest, and `ALL` of them.
use self::{
    var::{Env, TABLE_HEAD},
    vars::*,
};
use crate::origin::Origin;

pub use error::ConfigError;
pub use kinds::{SocketAuth, MIN_SECRET_LEN};

/// Everything the application needs to start.
#[derive(Clone)]
pub struct Config {
    /// Address to bind.
    pub host: IpAddr,
    /// Port to bind; 0 lets the OS choose (tests).
    pub port: u16,
    /// Key that encrypts the session cookie and derives room ids.
    pub secret: Secret,
    /// Where sessions live.
    pub store: StoreConfig,
    /// Idle lifetime of a session in the store.
    pub session_ttl: Duration,
    /// How often each socket reloads its session.
    pub reload_interval: Duration,
    /// Who may open a socket.
    pub socket_auth: SocketAuth,
    /// Origins allowed cross-origin (with credentials) besides same-origin.
    pub allowed_origins: HashSet<Origin>,
    /// Whether the session cookie carries the `Secure` flag.
    pub cookie_secure: bool,
    /// The `RUST_LOG` filter, already checked to parse.
    pub log_filter: String,
    /// Prefix of every Redis key and channel (`REDIS_KEY_PREFIX`), so several
    /// apps or test runs can share one Redis.
    pub redis_prefix: String,
    /// How many recent lobby messages a socket receives when it opens
    /// (`CHAT_HISTORY`, 0 to 1000).
    pub chat_history: usize,
    /// How long a user may have no open socket before being announced
    /// offline (`PRESENCE_GRACE_SECS`, 0 to 300).
    pub presence_grace: Duration,
    /// With Redis: how long an instance may stay silent before the others
    /// drop its users' presence (`INSTANCE_TTL_SECS`, 3 to 3600).
    pub instance_ttl: Duration,
    /// How long presence changes are gathered before they go out together
    /// (`PRESENCE_BATCH_MS`, 0 to 5000; 0: each change at once, alone).
    pub presence_batch: Duration,
    /// Open sockets per session on this instance (`MAX_SOCKETS_PER_SESSION`).
    pub max_sockets_per_session: usize,
    /// The most sessions the embedded store holds (`MAX_SESSIONS`).
    pub max_sessions: usize,
    /// Per socket, the most bytes of frames waiting to be written before it
    /// is dropped as too slow (`SOCKET_QUEUE_BYTES`, 64 KiB to 64 MiB).
    pub socket_queue_bytes: usize,
    /// Chat messages per second one session may post on this instance, in
    /// bursts of twice as many (`CHAT_RATE`, 1 to 10000).
    pub chat_rate: u32,
}

/// The session cookie's key, and whether it was generated for this process only.
#[derive(Clone)]
pub struct Secret {
    /// At least 64 bytes of key material.
    pub key: Key,
    /// True when `SESSION_SECRET` was unset and a random key was made up.
    pub generated: bool,
}

/// Which session store to use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded in-memory store; sessions die with the process.
    Memory,
    /// Redis at this URL (it may carry credentials: never log it whole).
    Redis(String),
}

impl StoreConfig {
    /// The store's name, for logs (never the URL: it may hold a password).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Redis(_) => "redis",
        }
    }
}

/// Every environment variable the app reads, in the README's order, for
/// tools and tests that must set or clear them all.
pub static VARIABLES: LazyLock<[&str; 19]> = LazyLock::new(|| vars::ALL.map(|var| var.name()));

/// The README's "Configuration" table (markdown), rendered from the
/// variables' declarations.
pub fn markdown_table() -> String {
    let rows = vars::ALL.map(|var| var.row()).join("\n");
    format!("{TABLE_HEAD}\n{rows}\n")
}

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Only `PORT` from the environment (for `session-bridge healthcheck`,
    /// which needs nothing else).
    pub fn port_from_env() -> Result<u16, ConfigError> {
        PORT.read(&Env(&|name: &str| std::env::var(name).ok()))
    }

    /// Reads the configuration through `lookup` (the environment, or a map in
    /// tests). An empty value counts as unset. The first bad value, in this
    /// order, is the error.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let env = Env(&lookup);
        let host = HOST.read(&env)?;
        let port = PORT.read(&env)?;
        let store = REDIS_URL
            .read(&env)?
            .map_or(StoreConfig::Memory, StoreConfig::Redis);
        let secret = Secret::for_store(SESSION_SECRET.read(&env)?, &store)?;
        Ok(Self {
            host,
            port,
            secret,
            store,
            session_ttl: SESSION_TTL_SECS.read(&env)?,
            reload_interval: SESSION_RELOAD_INTERVAL_SECS.read(&env)?,
            socket_auth: SOCKET_AUTH.read(&env)?,
            allowed_origins: ALLOWED_ORIGINS.read(&env)?.unwrap_or_default(),
            cookie_secure: COOKIE_SECURE.read(&env)?,
            log_filter: RUST_LOG.read(&env)?,
            redis_prefix: REDIS_KEY_PREFIX.read(&env)?,
            chat_history: CHAT_HISTORY.read(&env)?,
            presence_grace: PRESENCE_GRACE_SECS.read(&env)?,
            instance_ttl: INSTANCE_TTL_SECS.read(&env)?,
            presence_batch: PRESENCE_BATCH_MS.read(&env)?,
            max_sockets_per_session: MAX_SOCKETS_PER_SESSION.read(&env)?,
            max_sessions: MAX_SESSIONS.read(&env)?,
            socket_queue_bytes: SOCKET_QUEUE_BYTES.read(&env)?,
            chat_rate: CHAT_RATE.read(&env)?,
        })
    }
}

impl Secret {
    /// The key `SESSION_SECRET` gave, or a random one when it is unset and
    /// the store is this process's own; several instances (Redis) must share
    /// theirs.
    fn for_store(key: Option<Key>, store: &StoreConfig) -> Result<Self, ConfigError> {
        match key {
            Some(key) => Ok(Self {
                key,
                generated: false,
            }),
            None if matches!(store, StoreConfig::Redis(_)) => Err(ConfigError {
                var: SESSION_SECRET.name,
                problem: format!(
                    "is required when {} is set, because every instance must share it",
                    REDIS_URL.name
                ),
            }),
            None => Ok(Self {
                key: Key::generate(),
                generated: true,
            }),
        }
    }
}
