//! What the store's operations take and return: the same for every backend,
//! so nothing above the store can tell which one it has.

use crate::session::SocketId;

/// The store could not do what was asked; never "the session does not
/// exist", which every operation reports as `None` instead.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached or did not answer in time.
    #[error("{0:#}")]
    Unavailable(#[source] anyhow::Error),
    /// A stored value is not what this app wrote.
    #[error("session state is corrupt: {0}")]
    Corrupt(String),
}

/// How a session ended, remembered for a while by its room id (never its
/// key), so a late comer is answered for what happened instead of being
/// treated as a stranger: a socket that missed its logout closes with 4000,
/// not 4001, and a request carrying a key renewed by a login gets 409
/// instead of starting a session whose cookie would overwrite the login's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Logged out (`POST /logout` or `POST /logout/everywhere`).
    LoggedOut,
    /// Moved to a new key by a login.
    Renewed,
}

/// A kept lobby message: its position in the stream and its JSON text.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct LogEntry {
    /// Its position (1 for the first message ever).
    pub seq: u64,
    /// The message as the app wrote it.
    pub message: Box<serde_json::value::RawValue>,
}

/// The lobby as one read sees it.
#[derive(Debug, Default)]
pub struct History {
    /// The position of the last message appended so far (0: none yet).
    pub head: u64,
    /// The kept messages, oldest first.
    pub entries: Vec<LogEntry>,
}

/// What a lobby append publishes to every instance (with Redis): text the
/// store never reads, with the message's position put between `before` and
/// `after`, in decimal. Whoever decodes the channel prepares it (see
/// `events::RedisEvents::lobby_message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spliced {
    /// What comes before the position.
    pub before: String,
    /// What comes after it.
    pub after: String,
}

/// A user came online or went offline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The user.
    pub user: String,
    /// The new state.
    pub online: bool,
    /// Its place among all presence transitions.
    pub version: u64,
}

/// Who is online, and the version of the last transition included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Roster {
    /// The names online, sorted, each once.
    pub online: Vec<String>,
    /// The last transition this roster includes.
    pub version: u64,
}

/// Socket ids to remove from and add to what the store holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct SocketChange<'a> {
    /// The ids to remove (absent ones are ignored).
    pub remove: &'a [SocketId],
    /// The ids to add (present ones are ignored).
    pub add: &'a [SocketId],
}
