//! The kinds of value a variable accepts, each with its own parser and its
//! own description (see [`Kind`]). Most trim the value first; the secret and
//! the log filter keep it exactly as set.

use std::{collections::HashSet, marker::PhantomData, str::FromStr, time::Duration};

use actix_web::cookie::Key;

use super::var::Kind;
use crate::origin::Origin;

/// The shortest `SESSION_SECRET` accepted, in bytes (the cookie `Key` needs 64).
pub const MIN_SECRET_LEN: usize = 64;

/// Who may open a WebSocket (`SOCKET_AUTH`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketAuth {
    /// Any visitor; a handshake without a session creates one.
    Session,
    /// Only a session that has called `POST /login`.
    Login,
}

/// A value its type parses (`FromStr`), such as an IP address or a port;
/// `accepts` says what that is, for a human.
pub struct Parsed<T> {
    accepts: &'static str,
    parses: PhantomData<fn() -> T>,
}

impl<T> Parsed<T> {
    /// A kind parsed by `T`'s `FromStr`, described as `accepts`.
    pub const fn new(accepts: &'static str) -> Self {
        Self {
            accepts,
            parses: PhantomData,
        }
    }
}

impl<T: FromStr> Kind for Parsed<T> {
    type Value = T;

    fn accepts(&self) -> String {
        self.accepts.to_owned()
    }

    fn parse(&self, value: &str) -> Result<T, String> {
        value.trim().parse().map_err(|_| self.expected(value))
    }
}

/// A whole number of seconds, at least 1 (at most `u32::MAX`, some 136 years,
/// so that adding it to an instant cannot overflow).
pub struct Seconds;

impl Kind for Seconds {
    type Value = Duration;

    fn accepts(&self) -> String {
        "a whole number of seconds, at least 1".to_owned()
    }

    fn parse(&self, value: &str) -> Result<Duration, String> {
        match value.trim().parse::<u64>() {
            Ok(secs) if (1..=u64::from(u32::MAX)).contains(&secs) => Ok(Duration::from_secs(secs)),
            _ => Err(self.expected(value)),
        }
    }
}

/// A whole number from `low` to `high`, then made a `T` by `to` (a count, a
/// rate, or a duration in some unit).
pub struct Whole<T> {
    /// The smallest number accepted.
    pub low: u64,
    /// The largest number accepted.
    pub high: u64,
    /// What the number means, such as `Duration::from_secs`.
    pub to: fn(u64) -> T,
}

impl<T> Kind for Whole<T> {
    type Value = T;

    fn accepts(&self) -> String {
        format!("a whole number from {} to {}", self.low, self.high)
    }

    fn parse(&self, value: &str) -> Result<T, String> {
        match value.trim().parse::<u64>() {
            Ok(number) if (self.low..=self.high).contains(&number) => Ok((self.to)(number)),
            _ => Err(self.expected(value)),
        }
    }
}

/// A number of things, for [`Whole::to`] (every range declared fits a `usize`).
pub fn count(number: u64) -> usize {
    usize::try_from(number).unwrap_or(usize::MAX)
}

/// A number per second, for [`Whole::to`] (every range declared fits a `u32`).
pub fn per_second(number: u64) -> u32 {
    u32::try_from(number).unwrap_or(u32::MAX)
}

/// One of a few words, each standing for a value; case matters.
pub struct OneOf<T: 'static> {
    /// Each word and its value.
    pub words: &'static [(&'static str, T)],
}

impl<T: Copy> Kind for OneOf<T> {
    type Value = T;

    fn accepts(&self) -> String {
        let words: Vec<String> = self.words.iter().map(|(w, _)| format!("`{w}`")).collect();
        match words.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => "nothing".to_owned(),
        }
    }

    fn parse(&self, value: &str) -> Result<T, String> {
        let value = value.trim();
        self.words
            .iter()
            .find(|(word, _)| *word == value)
            .map(|&(_, meaning)| meaning)
            .ok_or_else(|| self.expected(value))
    }
}

/// Yes or no: `true`, `1` or `yes`, or `false`, `0` or `no`, in any case.
pub struct Flag;

impl Kind for Flag {
    type Value = bool;

    fn accepts(&self) -> String {
        "`true` or `false`".to_owned()
    }

    fn parse(&self, value: &str) -> Result<bool, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(self.expected(value)),
        }
    }
}

/// Origins separated by commas, each normalised (see [`Origin::parse`]).
pub struct Origins;

impl Kind for Origins {
    type Value = HashSet<Origin>;

    fn accepts(&self) -> String {
        "comma-separated origins such as http://localhost:4200".to_owned()
    }

    fn parse(&self, value: &str) -> Result<HashSet<Origin>, String> {
        value
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| Origin::parse(item).map_err(|why| format!("{item:?}: {why}")))
            .collect()
    }
}

/// A Redis URL, checked without connecting (the app starts even when Redis
/// is down). The error never repeats the URL: it may hold a password.
pub struct RedisUrl;

impl Kind for RedisUrl {
    type Value = String;

    fn accepts(&self) -> String {
        "a URL such as redis://127.0.0.1:6379/0".to_owned()
    }

    fn parse(&self, value: &str) -> Result<String, String> {
        let url = value.trim();
        match redis::Client::open(url) {
            Ok(_) => Ok(url.to_owned()),
            Err(err) => Err(format!("expected {} ({:?})", self.accepts(), err.kind())),
        }
    }
}

/// Key material for the session cookie, taken byte for byte as set.
pub struct SecretKey {
    /// The fewest bytes accepted (`Key` needs 64).
    pub min_len: usize,
}

impl Kind for SecretKey {
    type Value = Key;

    fn accepts(&self) -> String {
        format!("at least {} bytes", self.min_len)
    }

    fn parse(&self, value: &str) -> Result<Key, String> {
        let too_short = || {
            format!(
                "must be at least {} bytes long, got {} bytes",
                self.min_len,
                value.len()
            )
        };
        if value.len() < self.min_len {
            return Err(too_short());
        }
        // `Key` itself refuses fewer than 64 bytes.
        Key::try_from(value.as_bytes()).map_err(|_| too_short())
    }
}

/// An `env_logger` filter, checked to parse and kept exactly as set.
pub struct LogFilter;

impl Kind for LogFilter {
    type Value = String;

    fn accepts(&self) -> String {
        "an env_logger filter such as `info` or `debug,actix_web=warn`".to_owned()
    }

    fn parse(&self, value: &str) -> Result<String, String> {
        match env_filter::Builder::new().try_parse(value) {
            Ok(_) => Ok(value.to_owned()),
            // The parser's message spans several lines (a regex error draws
            // a caret under the value): keep the error on one line.
            Err(err) => {
                let reason = err
                    .to_string()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                Err(format!("not a valid log filter ({value:?}): {reason}"))
            }
        }
    }
}

/// A prefix for names in a shared namespace (Redis keys): no white space.
pub struct Prefix;

impl Kind for Prefix {
    type Value = String;

    fn accepts(&self) -> String {
        "text without white space".to_owned()
    }

    fn parse(&self, value: &str) -> Result<String, String> {
        let prefix = value.trim();
        if prefix.chars().any(char::is_whitespace) {
            return Err(format!("must not contain white space, got {value:?}"));
        }
        Ok(prefix.to_owned())
    }
}
