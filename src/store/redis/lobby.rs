//! The lobby's log in Redis: a counter of positions and a list of the kept
//! messages, appended, trimmed and published by one script, so the order of
//! the history is the order every instance delivers in.

use super::{scripts, RedisStore};
use crate::store::{History, Spliced, StoreError};

impl RedisStore {
    /// Appends `message`, keeps the last `keep`, and publishes `publish`
    /// with the position spliced in, in one step; the position.
    pub(in crate::store) async fn append_chat(
        &self,
        message: &str,
        publish: &Spliced,
        keep: usize,
    ) -> Result<u64, StoreError> {
        let mut call = scripts::LOBBY_APPEND.prepare_invoke();
        call.key(self.lobby_key("seq"))
            .key(self.lobby_key("history"))
            .arg(message)
            .arg(keep)
            .arg(self.events_channel())
            .arg(&publish.before)
            .arg(&publish.after);
        self.run(call).await
    }

    pub(in crate::store) async fn chat_history(&self) -> Result<History, StoreError> {
        let mut call = scripts::LOBBY_HISTORY.prepare_invoke();
        call.key(self.lobby_key("seq"))
            .key(self.lobby_key("history"));
        let (head, raw): (u64, Vec<String>) = self.run(call).await?;
        let entries = raw
            .iter()
            .map(|entry| serde_json::from_str(entry))
            .collect::<Result<_, _>>()
            .map_err(|err| StoreError::Corrupt(format!("a lobby message: {err}")))?;
        Ok(History { head, entries })
    }
}
