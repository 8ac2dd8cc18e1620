//! Every environment variable the app reads, each declared once: its name,
//! its default, what it accepts and what it means. [`Config::from_lookup`]
//! reads them, and the README's "Configuration" table is rendered from them
//! (a test keeps the two equal).
//!
//! [`Config::from_lookup`]: super::Config::from_lookup

use std::{net::IpAddr, time::Duration};

use super::{
    kinds::{
        count, per_second, Flag, LogFilter, OneOf, Origins, Parsed, Prefix, RedisUrl, Seconds,
        SecretKey, SocketAuth, Whole, MIN_SECRET_LEN,
    },
    var::{Declared, Text, Unset, Var},
};

/// Every variable, in the README's order.
pub(super) static ALL: [&dyn Declared; 19] = [
    &HOST,
    &PORT,
    &SESSION_SECRET,
    &REDIS_URL,
    &REDIS_KEY_PREFIX,
    &SESSION_TTL_SECS,
    &SESSION_RELOAD_INTERVAL_SECS,
    &SOCKET_AUTH,
    &ALLOWED_ORIGINS,
    &COOKIE_SECURE,
    &RUST_LOG,
    &MAX_SOCKETS_PER_SESSION,
    &CHAT_HISTORY,
    &PRESENCE_GRACE_SECS,
    &PRESENCE_BATCH_MS,
    &INSTANCE_TTL_SECS,
    &MAX_SESSIONS,
    &SOCKET_QUEUE_BYTES,
    &CHAT_RATE,
];

pub(super) const HOST: Var<Parsed<IpAddr>> = Var {
    name: "HOST",
    kind: Parsed::new("an IP address such as 127.0.0.1 or 0.0.0.0"),
    default: Text("127.0.0.1"),
    meaning: "address to bind (`0.0.0.0` in the Docker image)",
};

pub(super) const PORT: Var<Parsed<u16>> = Var {
    name: "PORT",
    kind: Parsed::new("a port number from 0 to 65535"),
    default: Text("3000"),
    meaning: "port to bind",
};

pub(super) const SESSION_SECRET: Var<SecretKey, Unset> = Var {
    name: "SESSION_SECRET",
    kind: SecretKey {
        min_len: MIN_SECRET_LEN,
    },
    default: Unset("random per process, with a warning"),
    meaning: "key that encrypts the session cookie (and derives room ids). \
              Required when `REDIS_URL` is set, because instances must share it",
};

pub(super) const REDIS_URL: Var<RedisUrl, Unset> = Var {
    name: "REDIS_URL",
    kind: RedisUrl,
    default: Unset("unset: embedded store"),
    meaning: "the Redis that holds the sessions, the lobby and presence, \
              and carries events between instances",
};

pub(super) const REDIS_KEY_PREFIX: Var<Prefix> = Var {
    name: "REDIS_KEY_PREFIX",
    kind: Prefix,
    default: Text("session-bridge:"),
    meaning: "prefix of every Redis key and of the events channel (`{prefix}events`), \
              so several apps can share one Redis",
};

pub(super) const SESSION_TTL_SECS: Var<Seconds> = Var {
    name: "SESSION_TTL_SECS",
    kind: Seconds,
    default: Text("86400"),
    meaning: "idle lifetime of a session in the store; writes restart it, reads do not",
};

pub(super) const SESSION_RELOAD_INTERVAL_SECS: Var<Seconds> = Var {
    name: "SESSION_RELOAD_INTERVAL_SECS",
    kind: Seconds,
    default: Text("30"),
    meaning: "how often each socket reloads its session to notice expiry",
};

pub(super) const SOCKET_AUTH: Var<OneOf<SocketAuth>> = Var {
    name: "SOCKET_AUTH",
    kind: OneOf {
        words: &[
            ("session", SocketAuth::Session),
            ("login", SocketAuth::Login),
        ],
    },
    default: Text("session"),
    meaning: "`session`: any visitor may open a socket (a handshake without a session \
              creates one and sets its cookie on the 101 response). `login`: only a session \
              that called `POST /login`; others get 401 and no upgrade",
};

pub(super) const ALLOWED_ORIGINS: Var<Origins, Unset> = Var {
    name: "ALLOWED_ORIGINS",
    kind: Origins,
    default: Unset("empty"),
    meaning: "origins allowed cross-origin, with credentials, for HTTP (CORS) and the \
              WebSocket handshake. Same-origin is always allowed",
};

pub(super) const COOKIE_SECURE: Var<Flag> = Var {
    name: "COOKIE_SECURE",
    kind: Flag,
    default: Text("false"),
    meaning: "set the `Secure` flag on the session cookie (turn on behind TLS)",
};

pub(super) const RUST_LOG: Var<LogFilter> = Var {
    name: "RUST_LOG",
    kind: LogFilter,
    default: Text("info"),
    meaning: "which log lines are written (to stderr)",
};

pub(super) const MAX_SOCKETS_PER_SESSION: Var<Whole<usize>> = Var {
    name: "MAX_SOCKETS_PER_SESSION",
    kind: Whole {
        low: 1,
        high: 10_000,
        to: count,
    },
    default: Text("64"),
    meaning: "open sockets per session on one instance; one more handshake gets 429 \
              `{\"error\": \"...\"}` and no upgrade. A socket that closes frees its place at once",
};

pub(super) const CHAT_HISTORY: Var<Whole<usize>> = Var {
    name: "CHAT_HISTORY",
    kind: Whole {
        low: 0,
        high: 1000,
        to: count,
    },
    default: Text("50"),
    meaning: "lobby messages a socket receives on open (0: none)",
};

pub(super) const PRESENCE_GRACE_SECS: Var<Whole<Duration>> = Var {
    name: "PRESENCE_GRACE_SECS",
    kind: Whole {
        low: 0,
        high: 300,
        to: Duration::from_secs,
    },
    default: Text("5"),
    meaning: "grace before a user with no open socket is announced offline (0: at once)",
};

pub(super) const PRESENCE_BATCH_MS: Var<Whole<Duration>> = Var {
    name: "PRESENCE_BATCH_MS",
    kind: Whole {
        low: 0,
        high: 5000,
        to: Duration::from_millis,
    },
    default: Text("100"),
    meaning: "how long presence changes are gathered before they go out together in one \
              `presence` frame (0: each change at once, alone)",
};

pub(super) const INSTANCE_TTL_SECS: Var<Whole<Duration>> = Var {
    name: "INSTANCE_TTL_SECS",
    kind: Whole {
        low: 3,
        high: 3600,
        to: Duration::from_secs,
    },
    default: Text("30"),
    meaning: "with Redis: how long an instance may stay silent (crashed, cut off) before \
              the others drop its users' presence",
};

pub(super) const MAX_SESSIONS: Var<Whole<usize>> = Var {
    name: "MAX_SESSIONS",
    kind: Whole {
        low: 100,
        high: 100_000_000,
        to: count,
    },
    default: Text("100000"),
    meaning: "embedded store: the most sessions it holds; a new session beyond it evicts one \
              (see Limits)",
};

pub(super) const SOCKET_QUEUE_BYTES: Var<Whole<usize>> = Var {
    name: "SOCKET_QUEUE_BYTES",
    kind: Whole {
        low: 65_536,
        high: 67_108_864,
        to: count,
    },
    default: Text("1048576"),
    meaning: "per socket: the most bytes of frames waiting to be written to its client; \
              a socket that would need more is dropped as too slow (4002)",
};

pub(super) const CHAT_RATE: Var<Whole<u32>> = Var {
    name: "CHAT_RATE",
    kind: Whole {
        low: 1,
        high: 10_000,
        to: per_second,
    },
    default: Text("5"),
    meaning: "chat messages per second one session may post on one instance, \
              in bursts of twice as many",
};
