//! Session keys, the room ids derived from them, and the ids of sockets.
//!
//! The session key is a bearer secret: whoever has it *is* the visitor. It is
//! therefore never logged, published on a Redis channel or sent to a browser
//! (its `Debug` is redacted). Sockets are grouped by a [`RoomId`], a keyed hash
//! of the key that every instance sharing `SESSION_SECRET` computes alike and
//! from which the key cannot be recovered.

use std::{fmt, sync::Arc};

use actix_session::storage::SessionKey;
use actix_web::cookie::Key;
use rand::distr::{Alphanumeric, SampleString};

/// Identifies one socket within this process. It lives here, beside the
/// other ids, because two layers share it: the event registry hands them out
/// and the store's presence records them (by instance).
pub type SocketId = u64;

/// Length of a generated session key, as actix-session's own stores use.
const KEY_LEN: usize = 64;

/// A session key: the value inside the encrypted session cookie.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId(Arc<str>);

impl SessionId {
    /// A fresh random key (64 alphanumeric characters, about 380 bits).
    pub fn generate() -> Self {
        Self(Alphanumeric.sample_string(&mut rand::rng(), KEY_LEN).into())
    }

    /// A key the store holds (for operations that find sessions by another
    /// index, such as by user).
    pub fn from_stored(key: String) -> Self {
        Self(key.into())
    }

    /// The key itself, for the store. Do not log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key as actix-session's type (fails only past 4064 bytes, which no
    /// key of ours reaches).
    pub fn to_session_key(&self) -> anyhow::Result<SessionKey> {
        Ok(SessionKey::try_from(self.0.to_string())?)
    }
}

impl From<&SessionKey> for SessionId {
    fn from(key: &SessionKey) -> Self {
        Self(key.as_ref().into())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(<redacted>)")
    }
}

/// The public name of a session's group of sockets.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RoomId([u8; 16]);

impl RoomId {
    /// Parses the hex form produced by `Display` (used by the Redis fan-out).
    pub fn parse_hex(hex: &str) -> Option<Self> {
        if hex.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).ok()?;
            *byte = u8::from_str_radix(pair, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

impl fmt::Debug for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomId({self})")
    }
}

impl serde::Serialize for RoomId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for RoomId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse_hex(&hex).ok_or_else(|| serde::de::Error::custom("not a room id"))
    }
}

/// Derives room ids from session keys with a key of its own.
#[derive(Clone)]
pub struct RoomKey([u8; 32]);

impl RoomKey {
    /// Derives the hashing key from the session secret, so every instance
    /// that shares the secret names rooms alike.
    pub fn new(secret: &Key) -> Self {
        Self(blake3::derive_key(
            "session-bridge 2026 room id from session key",
            secret.master(),
        ))
    }

    /// The room of the session `id`.
    pub fn room(&self, id: &SessionId) -> RoomId {
        let hash = blake3::keyed_hash(&self.0, id.as_str().as_bytes());
        let mut room = [0u8; 16];
        room.copy_from_slice(&hash.as_bytes()[..16]);
        RoomId(room)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_are_stable_per_secret_and_hide_the_key() {
        let secret = Key::generate();
        let id = SessionId::generate();
        let room = RoomKey::new(&secret).room(&id);
        assert_eq!(room, RoomKey::new(&secret).room(&id));
        assert_ne!(room, RoomKey::new(&Key::generate()).room(&id));
        assert_ne!(room, RoomKey::new(&secret).room(&SessionId::generate()));
        assert!(!room.to_string().contains(id.as_str()));
        assert!(!format!("{id:?}").contains(id.as_str()));
    }

    #[test]
    fn room_ids_round_trip_through_hex() {
        let room = RoomKey::new(&Key::generate()).room(&SessionId::generate());
        assert_eq!(RoomId::parse_hex(&room.to_string()), Some(room));
        assert_eq!(RoomId::parse_hex("zz"), None);
    }
}
