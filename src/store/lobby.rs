//! The lobby's message log, kept where sessions are: each message gets the
//! next position in one stream, and the last few are kept as the history.
//!
//! The store sees messages as opaque JSON text. With Redis, appending, trimming
//! and publishing to every instance are one Lua script, so the order of the
//! history is the order every instance delivers in. The embedded store only
//! appends; its one process delivers in append order (see `services::lobby`).

use std::{
    collections::VecDeque,
    sync::{LazyLock, Mutex, PoisonError},
};

use redis::Script;

use super::{
    redis::{bounded, RedisStore},
    Store, StoreError,
};

/// Appends a message and publishes it, atomically.
/// KEYS[1] sequence counter, KEYS[2] history list; ARGV[1] the message (JSON),
/// ARGV[2] its frame, ARGV[3] how many to keep, ARGV[4] the events channel.
/// The published shape is the events module's wire message, without an
/// origin, so every instance delivers it. Returns the message's position.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r#"
local seq = redis.call('INCR', KEYS[1])
local keep = tonumber(ARGV[3])
if keep > 0 then
  redis.call('RPUSH', KEYS[2], '{"seq":' .. seq .. ',"message":' .. ARGV[1] .. '}')
  redis.call('LTRIM', KEYS[2], -keep, -1)
else
  redis.call('DEL', KEYS[2])
end
redis.call('PUBLISH', ARGV[4], cjson.encode({to = 'lobby', order = {sequence = seq}, frame = ARGV[2]}))
return seq
"#,
    )
});

/// The last position and the kept messages, read together.
/// KEYS[1] sequence counter, KEYS[2] history list.
static HISTORY: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('LRANGE', KEYS[2], 0, -1)}
",
    )
});

/// A kept message: its position in the stream and its JSON text.
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

/// The embedded store's log.
#[derive(Default)]
pub(super) struct MemoryLog {
    head: u64,
    entries: VecDeque<LogEntry>,
}

impl Store {
    /// Appends `message` (JSON) to the lobby, keeping the last `keep`. With
    /// Redis this also publishes `frame` to every instance, in the same step.
    /// Returns the message's position.
    pub async fn append_chat(
        &self,
        message: &str,
        frame: &str,
        keep: usize,
    ) -> Result<u64, StoreError> {
        match self {
            Self::Memory(store) => store.append_chat(message, keep),
            Self::Redis(store) => store.append_chat(message, frame, keep).await,
        }
    }

    /// The lobby's last position and kept messages, read in one step.
    pub async fn chat_history(&self) -> Result<History, StoreError> {
        match self {
            Self::Memory(store) => Ok(store.chat_history()),
            Self::Redis(store) => store.chat_history().await,
        }
    }
}

impl super::MemoryStore {
    fn append_chat(&self, message: &str, keep: usize) -> Result<u64, StoreError> {
        let message = serde_json::value::RawValue::from_string(message.to_owned())
            .map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let mut log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        log.head += 1;
        let seq = log.head;
        log.entries.push_back(LogEntry { seq, message });
        while log.entries.len() > keep {
            log.entries.pop_front();
        }
        Ok(seq)
    }

    fn chat_history(&self) -> History {
        let log = self.log.lock().unwrap_or_else(PoisonError::into_inner);
        History {
            head: log.head,
            entries: log.entries.iter().cloned().collect(),
        }
    }
}

/// The log's state, shared by every clone of the embedded store.
pub(super) type SharedLog = std::sync::Arc<Mutex<MemoryLog>>;

impl RedisStore {
    async fn append_chat(
        &self,
        message: &str,
        frame: &str,
        keep: usize,
    ) -> Result<u64, StoreError> {
        let mut connection = self.connection();
        let mut call = APPEND.prepare_invoke();
        call.key(self.lobby_key("seq"))
            .key(self.lobby_key("history"))
            .arg(message)
            .arg(frame)
            .arg(keep)
            .arg(self.events_channel());
        bounded(async move { call.invoke_async(&mut connection).await }).await
    }

    async fn chat_history(&self) -> Result<History, StoreError> {
        let mut connection = self.connection();
        let mut call = HISTORY.prepare_invoke();
        call.key(self.lobby_key("seq"))
            .key(self.lobby_key("history"));
        let (head, raw): (u64, Vec<String>) =
            bounded(async move { call.invoke_async(&mut connection).await }).await?;
        let entries = raw
            .iter()
            .map(|entry| serde_json::from_str(entry))
            .collect::<Result<_, _>>()
            .map_err(|err| StoreError::Corrupt(format!("a lobby message: {err}")))?;
        Ok(History { head, entries })
    }

    fn lobby_key(&self, name: &str) -> String {
        format!("{}lobby:{name}", self.prefix())
    }
}
