//! The embedded store's lobby log: the last position given and the kept
//! messages. Its delivery, in the log's order, is the store's business (see
//! `MemoryStore::append_chat`).

use std::collections::VecDeque;

use serde_json::value::RawValue;

use crate::store::{History, LogEntry, StoreError};

/// The log.
#[derive(Default)]
pub(super) struct MemoryLog {
    head: u64,
    entries: VecDeque<LogEntry>,
}

impl MemoryLog {
    /// Appends `message` (JSON), keeping the last `keep`; its position.
    pub(super) fn append(&mut self, message: &str, keep: usize) -> Result<u64, StoreError> {
        let message = RawValue::from_string(message.to_owned())
            .map_err(|err| StoreError::Corrupt(err.to_string()))?;
        self.head += 1;
        self.entries.push_back(LogEntry {
            seq: self.head,
            message,
        });
        while self.entries.len() > keep {
            self.entries.pop_front();
        }
        Ok(self.head)
    }

    /// The last position and the kept messages.
    pub(super) fn history(&self) -> History {
        History {
            head: self.head,
            entries: self.entries.iter().cloned().collect(),
        }
    }
}
