//! The typed session: what this app keeps in a session, under constant keys.
//!
//! actix-session stores a map of JSON-encoded strings ([`SessionState`], the
//! form every store keeps). Nothing outside this file names those keys:
//! routes and sockets see [`SessionData`], and handlers that use
//! actix-session's `Session` go through [`TypedSession`].

use std::{
    collections::HashMap,
    future::{ready, Ready},
};

use actix_session::{Session, SessionExt, SessionGetError, SessionInsertError};
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use serde::{de::DeserializeOwned, Serialize};

/// A session's state as actix-session holds it, and as every store keeps it:
/// JSON-encoded values by key.
pub type SessionState = HashMap<String, String>;

/// The keys this app stores, as actix-session sees them.
pub mod keys {
    /// How many times the session incremented.
    pub const COUNT: &str = "count";
    /// The name given at login.
    pub const NAME: &str = "name";
    /// Whether the session has logged in.
    pub const AUTHENTICATED: &str = "authenticated";
}

/// What one visitor's session holds. It is also the `data` of the socket's
/// `session` frame.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SessionData {
    /// How many times the session incremented.
    pub count: u64,
    /// The name given at login, if any.
    pub name: Option<String>,
    /// Whether the session has logged in.
    pub authenticated: bool,
}

impl SessionData {
    /// Reads the typed data from a stored state. A missing key takes its
    /// default (a session written by other code need not have all of them);
    /// a value this app cannot read is logged and also defaulted.
    pub fn from_state(state: &SessionState) -> Self {
        Self {
            count: field(state, keys::COUNT),
            name: field(state, keys::NAME),
            authenticated: field(state, keys::AUTHENTICATED),
        }
    }

    /// The user this session is logged in as, if it is.
    pub fn user(&self) -> Option<&str> {
        self.name.as_deref().filter(|_| self.authenticated)
    }

    /// The state to store for this data.
    pub fn to_state(&self) -> SessionState {
        SessionState::from([
            (keys::COUNT.to_owned(), encode(&self.count)),
            (keys::NAME.to_owned(), encode(&self.name)),
            (keys::AUTHENTICATED.to_owned(), encode(&self.authenticated)),
        ])
    }

    /// The state changes that log a session in as `name`.
    pub fn login_changes(name: &DisplayName) -> SessionState {
        SessionState::from([
            (keys::NAME.to_owned(), encode(&name.as_ref())),
            (keys::AUTHENTICATED.to_owned(), encode(&true)),
        ])
    }
}

fn field<T: DeserializeOwned + Default>(state: &SessionState, key: &str) -> T {
    let Some(raw) = state.get(key) else {
        return T::default();
    };
    serde_json::from_str(raw).unwrap_or_else(|err| {
        log::warn!("session field `{key}` is unreadable ({err}); using its default");
        T::default()
    })
}

fn encode<T: Serialize + ?Sized>(value: &T) -> String {
    // Serialising a number, a bool or a string to JSON cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned())
}

/// A name given at login: 1 to 32 characters after trimming, no control
/// characters. Holding one proves it was checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisplayName(String);

/// The longest accepted name, in characters.
pub const MAX_NAME_CHARS: usize = 32;

impl DisplayName {
    /// Trims and checks a name from a client.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        let chars = name.chars().count();
        if chars == 0 {
            return Err("name must not be empty".to_owned());
        }
        if chars > MAX_NAME_CHARS {
            return Err(format!("name must be at most {MAX_NAME_CHARS} characters"));
        }
        if name.chars().any(char::is_control) {
            return Err("name must not contain control characters".to_owned());
        }
        Ok(Self(name.to_owned()))
    }
}

impl AsRef<str> for DisplayName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// actix-session's `Session`, with this app's typed keys: the way for a
/// handler behind `SessionMiddleware` to read or start the shared session.
pub struct TypedSession(Session);

impl TypedSession {
    /// The session's data (defaults for a visitor without a session).
    pub fn data(&self) -> Result<SessionData, SessionGetError> {
        Ok(SessionData {
            count: self.0.get(keys::COUNT)?.unwrap_or_default(),
            name: self.0.get(keys::NAME)?.flatten(),
            authenticated: self.0.get(keys::AUTHENTICATED)?.unwrap_or_default(),
        })
    }

    /// Makes sure the visitor has a session: for a new visitor, stores the
    /// default data, so the middleware saves it and sets the cookie.
    pub fn ensure(&self) -> Result<(), SessionInsertError> {
        if self.0.entries().is_empty() {
            self.0.insert(keys::COUNT, 0u64)?;
        }
        Ok(())
    }
}

impl FromRequest for TypedSession {
    type Error = <Session as FromRequest>::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(req.get_session())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_round_trips_through_state() {
        let data = SessionData {
            count: 7,
            name: Some("Ada".to_owned()),
            authenticated: true,
        };
        assert_eq!(SessionData::from_state(&data.to_state()), data);
        assert_eq!(
            SessionData::from_state(&SessionState::new()),
            SessionData::default()
        );
    }

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            DisplayName::parse("  Ada ").map(|n| n.0),
            Ok("Ada".to_owned())
        );
        assert!(DisplayName::parse(&"é".repeat(32)).is_ok());
        assert!(DisplayName::parse(&"é".repeat(33)).is_err());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("a\u{7}b").is_err());
    }
}
