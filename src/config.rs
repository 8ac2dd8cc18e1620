//! Typed configuration, parsed once from the environment at start-up.
//!
//! Every variable of the contract is parsed into its own type here, so the
//! rest of the app never sees a raw string. A bad value becomes a
//! [`ConfigError`] naming the variable; `main` prints it and exits with 2.

use std::{collections::HashSet, fmt, net::IpAddr, time::Duration};

use actix_web::cookie::Key;

use crate::origin::Origin;

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

/// Who may open a WebSocket (`SOCKET_AUTH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketAuth {
    /// Any visitor; a handshake without a session creates one.
    Session,
    /// Only a session that has called `POST /login`.
    Login,
}

/// A variable that is set to something we cannot use.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it, for a human.
    pub problem: String,
}

impl fmt::Display for ConfigError {
    /// One line, whatever the problem's text holds (values are quoted with
    /// `{:?}`; a library's multi-line message is folded).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.var)?;
        let mut words = self
            .problem
            .split(['\n', '\r'])
            .map(str::trim)
            .filter(|w| !w.is_empty());
        if let Some(first) = words.next() {
            f.write_str(first)?;
        }
        words.try_for_each(|rest| write!(f, " {rest}"))
    }
}

impl std::error::Error for ConfigError {}

/// Every environment variable the app reads (the contract's configuration
/// table), for tools and tests that must set or clear them all.
pub const VARIABLES: [&str; 19] = [
    "HOST",
    "PORT",
    "SESSION_SECRET",
    "REDIS_URL",
    "SESSION_TTL_SECS",
    "SESSION_RELOAD_INTERVAL_SECS",
    "SOCKET_AUTH",
    "ALLOWED_ORIGINS",
    "COOKIE_SECURE",
    "RUST_LOG",
    "REDIS_KEY_PREFIX",
    "CHAT_HISTORY",
    "PRESENCE_GRACE_SECS",
    "PRESENCE_BATCH_MS",
    "INSTANCE_TTL_SECS",
    "MAX_SOCKETS_PER_SESSION",
    "MAX_SESSIONS",
    "SOCKET_QUEUE_BYTES",
    "CHAT_RATE",
];

/// The shortest `SESSION_SECRET` accepted, in bytes (the cookie `Key` needs 64).
pub const MIN_SECRET_LEN: usize = 64;

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    /// An empty value counts as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());

        let host = parse_or("HOST", get("HOST"), IpAddr::from([127, 0, 0, 1]), |v| {
            v.trim().parse().map_err(|_| {
                format!("expected an IP address such as 127.0.0.1 or 0.0.0.0, got {v:?}")
            })
        })?;
        let port = parse_or("PORT", get("PORT"), 3000, |v| {
            v.trim()
                .parse()
                .map_err(|_| format!("expected a port number from 0 to 65535, got {v:?}"))
        })?;
        let store = match get("REDIS_URL") {
            None => StoreConfig::Memory,
            Some(url) => {
                StoreConfig::Redis(parse_redis_url(&url).map_err(|problem| ConfigError {
                    var: "REDIS_URL",
                    problem,
                })?)
            }
        };
        let secret = parse_secret(get("SESSION_SECRET"), &store)?;
        let session_ttl = parse_or("SESSION_TTL_SECS", get("SESSION_TTL_SECS"), 86_400, seconds)?;
        let reload_interval = parse_or(
            "SESSION_RELOAD_INTERVAL_SECS",
            get("SESSION_RELOAD_INTERVAL_SECS"),
            30,
            seconds,
        )?;
        let socket_auth = parse_or(
            "SOCKET_AUTH",
            get("SOCKET_AUTH"),
            SocketAuth::Session,
            |v| match v.trim() {
                "session" => Ok(SocketAuth::Session),
                "login" => Ok(SocketAuth::Login),
                other => Err(format!("expected `session` or `login`, got {other:?}")),
            },
        )?;
        let allowed_origins = parse_or(
            "ALLOWED_ORIGINS",
            get("ALLOWED_ORIGINS"),
            HashSet::new(),
            |v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(|item| Origin::parse(item).map_err(|why| format!("{item:?}: {why}")))
                    .collect()
            },
        )?;
        let cookie_secure = parse_or("COOKIE_SECURE", get("COOKIE_SECURE"), false, |v| {
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(format!("expected `true` or `false`, got {v:?}")),
            }
        })?;
        let log_filter = parse_or("RUST_LOG", get("RUST_LOG"), "info".to_owned(), |v| {
            env_filter::Builder::new()
                .try_parse(v)
                .map(|_| v.to_owned())
                // The parser's message spans several lines (a regex error
                // draws a caret under the value): keep the error on one line.
                .map_err(|err| {
                    let reason = err
                        .to_string()
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ");
                    format!("not a valid log filter ({v:?}): {reason}")
                })
        })?;

        let redis_prefix = parse_or(
            "REDIS_KEY_PREFIX",
            get("REDIS_KEY_PREFIX"),
            "session-bridge:".to_owned(),
            |v| match v.trim() {
                prefix if prefix.chars().any(char::is_whitespace) => {
                    Err(format!("must not contain white space, got {v:?}"))
                }
                prefix => Ok(prefix.to_owned()),
            },
        )?;

        let chat_history = parse_or("CHAT_HISTORY", get("CHAT_HISTORY"), 50, |v| {
            whole_number(v, 0..=1000)
        })?;
        let presence_grace = parse_or("PRESENCE_GRACE_SECS", get("PRESENCE_GRACE_SECS"), 5, |v| {
            whole_number(v, 0..=300)
        })?;
        let instance_ttl = parse_or("INSTANCE_TTL_SECS", get("INSTANCE_TTL_SECS"), 30, |v| {
            whole_number(v, 3..=3600)
        })?;
        let presence_batch = parse_or("PRESENCE_BATCH_MS", get("PRESENCE_BATCH_MS"), 100, |v| {
            whole_number(v, 0..=5000)
        })?;
        let max_sockets_per_session = parse_or(
            "MAX_SOCKETS_PER_SESSION",
            get("MAX_SOCKETS_PER_SESSION"),
            64,
            |v| whole_number(v, 1..=10_000),
        )?;
        let max_sessions = parse_or("MAX_SESSIONS", get("MAX_SESSIONS"), 100_000, |v| {
            whole_number(v, 100..=100_000_000)
        })?;
        let socket_queue_bytes = parse_or(
            "SOCKET_QUEUE_BYTES",
            get("SOCKET_QUEUE_BYTES"),
            1_048_576,
            |v| whole_number(v, 65_536..=67_108_864),
        )?;
        let chat_rate = parse_or("CHAT_RATE", get("CHAT_RATE"), 5, |v| {
            whole_number(v, 1..=10_000)
        })?;

        Ok(Self {
            host,
            port,
            secret,
            store,
            session_ttl: Duration::from_secs(session_ttl),
            reload_interval: Duration::from_secs(reload_interval),
            socket_auth,
            allowed_origins,
            cookie_secure,
            log_filter,
            redis_prefix,
            chat_history: usize::try_from(chat_history).unwrap_or(usize::MAX),
            presence_grace: Duration::from_secs(presence_grace),
            instance_ttl: Duration::from_secs(instance_ttl),
            presence_batch: Duration::from_millis(presence_batch),
            max_sockets_per_session: usize::try_from(max_sockets_per_session).unwrap_or(usize::MAX),
            max_sessions: usize::try_from(max_sessions).unwrap_or(usize::MAX),
            socket_queue_bytes: usize::try_from(socket_queue_bytes).unwrap_or(usize::MAX),
            chat_rate: u32::try_from(chat_rate).unwrap_or(u32::MAX),
        })
    }
}

/// Parses `value` with `parse`, or returns `default` when the variable is unset.
fn parse_or<T>(
    var: &'static str,
    value: Option<String>,
    default: T,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, ConfigError> {
    match value {
        None => Ok(default),
        Some(value) => parse(&value).map_err(|problem| ConfigError { var, problem }),
    }
}

/// A whole number of seconds, at least 1.
fn seconds(value: &str) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(secs) if (1..=u64::from(u32::MAX)).contains(&secs) => Ok(secs),
        _ => Err(format!(
            "expected a whole number of seconds, at least 1, got {value:?}"
        )),
    }
}

/// A whole number within `range`.
fn whole_number(value: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    match value.trim().parse::<u64>() {
        Ok(number) if range.contains(&number) => Ok(number),
        _ => Err(format!(
            "expected a whole number from {} to {}, got {value:?}",
            range.start(),
            range.end()
        )),
    }
}

fn parse_secret(value: Option<String>, store: &StoreConfig) -> Result<Secret, ConfigError> {
    match value {
        Some(secret) if secret.len() >= MIN_SECRET_LEN => Ok(Secret {
            key: Key::from(secret.as_bytes()),
            generated: false,
        }),
        Some(secret) => Err(ConfigError {
            var: "SESSION_SECRET",
            problem: format!(
                "must be at least {MIN_SECRET_LEN} bytes long, got {} bytes",
                secret.len()
            ),
        }),
        None if matches!(store, StoreConfig::Redis(_)) => Err(ConfigError {
            var: "SESSION_SECRET",
            problem: "is required when REDIS_URL is set, because every instance must share it"
                .to_owned(),
        }),
        None => Ok(Secret {
            key: Key::generate(),
            generated: true,
        }),
    }
}

/// Checks a Redis URL without connecting (the app starts even when Redis is
/// down). The error never repeats the URL: it may hold a password.
fn parse_redis_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    redis::Client::open(url)
        .map(|_| url.to_owned())
        .map_err(|err| {
            format!(
                "expected a URL such as redis://127.0.0.1:6379/0 ({:?})",
                err.kind()
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_lists_exactly_what_the_configuration_reads() {
        let read = std::cell::RefCell::new(std::collections::BTreeSet::new());
        // With nothing set, every variable is still looked up (each then
        // takes its default), so the names asked for are all there are.
        let _ = Config::from_lookup(|name| {
            read.borrow_mut().insert(name.to_owned());
            None
        });
        let listed: std::collections::BTreeSet<String> =
            VARIABLES.iter().map(|&name| name.to_owned()).collect();
        assert_eq!(read.into_inner(), listed);
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.clone())
        })
    }

    fn error_var(vars: &[(&str, &str)]) -> &'static str {
        match config(vars) {
            Err(err) => err.var,
            Ok(_) => panic!("expected a config error for {vars:?}"),
        }
    }

    #[test]
    fn defaults_match_the_contract() {
        let config = config(&[]).expect("defaults are valid");
        assert_eq!(config.host, IpAddr::from([127, 0, 0, 1]));
        assert_eq!(config.port, 3000);
        assert!(config.secret.generated);
        assert_eq!(config.store, StoreConfig::Memory);
        assert_eq!(config.session_ttl, Duration::from_secs(86_400));
        assert_eq!(config.reload_interval, Duration::from_secs(30));
        assert_eq!(config.socket_auth, SocketAuth::Session);
        assert!(config.allowed_origins.is_empty());
        assert!(!config.cookie_secure);
        assert_eq!(config.log_filter, "info");
        assert_eq!(config.redis_prefix, "session-bridge:");
        assert_eq!(config.chat_history, 50);
        assert_eq!(config.presence_grace, Duration::from_secs(5));
        assert_eq!(config.instance_ttl, Duration::from_secs(30));
        assert_eq!(config.presence_batch, Duration::from_millis(100));
        assert_eq!(config.max_sockets_per_session, 64);
        assert_eq!(config.max_sessions, 100_000);
        assert_eq!(config.socket_queue_bytes, 1_048_576);
        assert_eq!(config.chat_rate, 5);
    }

    #[test]
    fn each_bad_value_names_its_variable() {
        assert_eq!(error_var(&[("HOST", "localhost:80")]), "HOST");
        assert_eq!(error_var(&[("PORT", "70000")]), "PORT");
        assert_eq!(error_var(&[("SESSION_SECRET", "short")]), "SESSION_SECRET");
        assert_eq!(error_var(&[("REDIS_URL", "localhost:6379")]), "REDIS_URL");
        assert_eq!(error_var(&[("SESSION_TTL_SECS", "0")]), "SESSION_TTL_SECS");
        assert_eq!(
            error_var(&[("SESSION_RELOAD_INTERVAL_SECS", "soon")]),
            "SESSION_RELOAD_INTERVAL_SECS"
        );
        assert_eq!(error_var(&[("SOCKET_AUTH", "anyone")]), "SOCKET_AUTH");
        assert_eq!(
            error_var(&[("ALLOWED_ORIGINS", "localhost:4200")]),
            "ALLOWED_ORIGINS"
        );
        assert_eq!(error_var(&[("COOKIE_SECURE", "maybe")]), "COOKIE_SECURE");
        assert_eq!(error_var(&[("RUST_LOG", "app=loud")]), "RUST_LOG");
        assert_eq!(
            error_var(&[("REDIS_KEY_PREFIX", "my app:")]),
            "REDIS_KEY_PREFIX"
        );
        for (var, bad) in [
            ("CHAT_HISTORY", "1001"),
            ("CHAT_HISTORY", "-1"),
            ("PRESENCE_GRACE_SECS", "301"),
            ("INSTANCE_TTL_SECS", "2"),
            ("INSTANCE_TTL_SECS", "3601"),
            ("PRESENCE_BATCH_MS", "5001"),
            ("PRESENCE_BATCH_MS", "-1"),
            ("MAX_SOCKETS_PER_SESSION", "0"),
            ("MAX_SESSIONS", "99"),
            ("SOCKET_QUEUE_BYTES", "65535"),
            ("SOCKET_QUEUE_BYTES", "67108865"),
            ("CHAT_RATE", "0"),
            ("CHAT_RATE", "10001"),
        ] {
            assert_eq!(error_var(&[(var, bad)]), var, "{var}={bad}");
        }
    }

    fn error_line(vars: &[(&str, &str)]) -> String {
        match config(vars) {
            Err(err) => err.to_string(),
            Ok(_) => panic!("expected a config error for {vars:?}"),
        }
    }

    /// The exact line `main` prints after "configuration error: " for a bad
    /// value of each variable: the variable, then what is wrong.
    #[test]
    fn each_error_says_what_is_wrong_in_one_line() {
        let number = |low, high| format!("expected a whole number from {low} to {high}");
        let seconds = "expected a whole number of seconds, at least 1";
        for (var, bad, problem) in [
            (
                "HOST",
                "localhost:80",
                "expected an IP address such as 127.0.0.1 or 0.0.0.0".to_owned(),
            ),
            (
                "PORT",
                "70000",
                "expected a port number from 0 to 65535".to_owned(),
            ),
            ("SESSION_TTL_SECS", "0", seconds.to_owned()),
            ("SESSION_RELOAD_INTERVAL_SECS", "soon", seconds.to_owned()),
            (
                "COOKIE_SECURE",
                " maybe",
                "expected `true` or `false`".to_owned(),
            ),
            (
                "REDIS_KEY_PREFIX",
                "my app:",
                "must not contain white space".to_owned(),
            ),
            ("CHAT_HISTORY", "1001", number(0, 1000)),
            ("PRESENCE_GRACE_SECS", "301", number(0, 300)),
            ("INSTANCE_TTL_SECS", "2", number(3, 3600)),
            ("PRESENCE_BATCH_MS", "-1", number(0, 5000)),
            ("MAX_SOCKETS_PER_SESSION", "0", number(1, 10_000)),
            ("MAX_SESSIONS", "99", number(100, 100_000_000)),
            ("SOCKET_QUEUE_BYTES", "65535", number(65_536, 67_108_864)),
            ("CHAT_RATE", "0", number(1, 10_000)),
        ] {
            assert_eq!(
                error_line(&[(var, bad)]),
                format!("{var}: {problem}, got {bad:?}")
            );
        }
        // The value as read, trimmed.
        assert_eq!(
            error_line(&[("SOCKET_AUTH", " anyone ")]),
            r#"SOCKET_AUTH: expected `session` or `login`, got "anyone""#
        );
        assert_eq!(
            error_line(&[("SESSION_SECRET", "short")]),
            "SESSION_SECRET: must be at least 64 bytes long, got 5 bytes"
        );
        // Never the URL itself: it may hold a password.
        let secret = "s".repeat(MIN_SECRET_LEN);
        assert_eq!(
            error_line(&[("REDIS_URL", "localhost:6379"), ("SESSION_SECRET", &secret)]),
            "REDIS_URL: expected a URL such as redis://127.0.0.1:6379/0 (InvalidClientConfig)"
        );
        assert_eq!(
            error_line(&[("REDIS_URL", "redis://127.0.0.1/0")]),
            "SESSION_SECRET: is required when REDIS_URL is set, because every instance must share it"
        );
        assert_eq!(
            error_line(&[("ALLOWED_ORIGINS", "http://a.example, localhost:4200")]),
            r#"ALLOWED_ORIGINS: "localhost:4200": expected scheme://host[:port]"#
        );
        // A library's multi-line message, folded onto one line.
        assert_eq!(
            error_line(&[("RUST_LOG", "a/[x")]),
            "RUST_LOG: not a valid log filter (\"a/[x\"): error parsing logger filter: \
             invalid regex filter - regex parse error: [x ^ error: unclosed character class"
        );
    }

    #[test]
    fn range_ends_are_accepted() {
        let config = config(&[
            ("CHAT_HISTORY", "0"),
            ("PRESENCE_GRACE_SECS", "0"),
            ("INSTANCE_TTL_SECS", "3"),
            ("PRESENCE_BATCH_MS", "5000"),
            ("MAX_SOCKETS_PER_SESSION", "10000"),
            ("MAX_SESSIONS", "100"),
            ("SOCKET_QUEUE_BYTES", "67108864"),
            ("CHAT_RATE", "10000"),
        ])
        .expect("range ends are valid");
        assert_eq!(config.chat_history, 0);
        assert_eq!(config.presence_grace, Duration::ZERO);
        assert_eq!(config.instance_ttl, Duration::from_secs(3));
        assert_eq!(config.presence_batch, Duration::from_millis(5000));
        assert_eq!(config.max_sockets_per_session, 10_000);
        assert_eq!(config.max_sessions, 100);
        assert_eq!(config.socket_queue_bytes, 67_108_864);
        assert_eq!(config.chat_rate, 10_000);
    }

    #[test]
    fn redis_requires_a_shared_secret() {
        assert_eq!(
            error_var(&[("REDIS_URL", "redis://127.0.0.1:6379/0")]),
            "SESSION_SECRET"
        );
        let secret = "s".repeat(MIN_SECRET_LEN);
        let config = config(&[
            ("REDIS_URL", "redis://127.0.0.1:6379/0"),
            ("SESSION_SECRET", &secret),
        ])
        .expect("redis with a secret is valid");
        assert!(!config.secret.generated);
    }

    #[test]
    fn allowed_origins_are_parsed_and_normalised() {
        let config = config(&[(
            "ALLOWED_ORIGINS",
            "http://localhost:4200, HTTPS://Example.com",
        )])
        .expect("valid origins");
        assert_eq!(config.allowed_origins.len(), 2);
        assert!(config
            .allowed_origins
            .contains(&Origin::parse("https://example.com:443").expect("valid")));
    }
}
