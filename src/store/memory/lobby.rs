//! The embedded store's lobby log. Its one process is the only deliverer, so
//! "append and have it delivered" is: append, then call the caller's
//! delivery, holding a FIFO lock from the one to the other, so delivery
//! follows the log's order.

use std::{collections::VecDeque, future::Future, sync::Mutex};

use serde_json::value::RawValue;

use super::MemoryStore;
use crate::{
    store::{History, LogEntry, StoreError},
    sync::lock,
};

/// The log, and the lock that keeps deliveries in its order.
#[derive(Default)]
pub(super) struct MemoryLog {
    kept: Mutex<Kept>,
    /// Held from an append to the end of its delivery (tokio's lock is
    /// FIFO, so deliveries follow the order of the appends).
    delivering: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Kept {
    head: u64,
    entries: VecDeque<LogEntry>,
}

impl MemoryStore {
    /// Appends `message`, keeps the last `keep`, then `deliver`s the
    /// message's position before any later append's; the position.
    pub(in crate::store) async fn append_chat<Fut: Future<Output = ()>>(
        &self,
        message: &str,
        keep: usize,
        deliver: impl FnOnce(u64) -> Fut,
    ) -> Result<u64, StoreError> {
        let message = RawValue::from_string(message.to_owned())
            .map_err(|err| StoreError::Corrupt(err.to_string()))?;
        let _in_order = self.log.delivering.lock().await;
        let seq = {
            let mut kept = lock(&self.log.kept);
            kept.head += 1;
            let seq = kept.head;
            kept.entries.push_back(LogEntry { seq, message });
            while kept.entries.len() > keep {
                kept.entries.pop_front();
            }
            seq
        };
        deliver(seq).await;
        Ok(seq)
    }

    pub(in crate::store) fn chat_history(&self) -> History {
        let kept = lock(&self.log.kept);
        History {
            head: kept.head,
            entries: kept.entries.iter().cloned().collect(),
        }
    }
}
