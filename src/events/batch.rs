//! Presence changes, gathered per instance and handed to the lobby's sockets
//! in batches.
//!
//! Each arrival or departure is one change, and without batching one frame
//! to every socket: N users arriving cost N frames per socket, N(N-1)/2 in
//! all, which turns the reconnect storm after a deploy into a flood. So this
//! instance gathers the changes it sees (its own and those from Redis alike:
//! they merge into one batch) for `PRESENCE_BATCH_MS`, starting with the
//! first change after the last batch, and then hands the whole batch to
//! every socket at once; each socket turns it into one frame of net changes
//! against what it last showed.
//!
//! Batching here rather than in each socket: one timer and one push per
//! socket per batch, instead of a timer per socket and a push per socket per
//! change; and rather than at the announcing instance: a batch then merges
//! what every instance announced.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

/// One presence transition, decided by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    /// The user.
    pub user: Arc<str>,
    /// The new state.
    pub online: bool,
    /// Increases with every transition of every user.
    pub version: u64,
}

/// The changes of one batch, shared by every socket it goes to.
#[derive(Debug, Clone)]
pub struct PresenceBatch(Arc<[PresenceChange]>);

impl PresenceBatch {
    /// The changes, in the order they arrived.
    pub fn changes(&self) -> &[PresenceChange] {
        &self.0
    }

    /// What the batch weighs in a socket's queue: about the size of the
    /// frame it becomes.
    pub fn weight(&self) -> usize {
        48 + self
            .0
            .iter()
            .map(|change| change.user.len() + 3)
            .sum::<usize>()
    }
}

/// The batch being gathered.
#[derive(Debug, Default)]
pub(super) struct Batcher {
    every: Duration,
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    changes: Vec<PresenceChange>,
    since: Option<Instant>,
}

/// What to do after adding a change.
pub(super) enum Gathered {
    /// Hand this batch out now (`PRESENCE_BATCH_MS=0`).
    Now(PresenceBatch, Instant),
    /// The first change of a batch: hand it out after this long.
    Later(Duration),
    /// A batch is already waiting for its time.
    Waiting,
}

impl Batcher {
    /// Batches lasting `every` (zero: each change alone, at once).
    pub(super) fn new(every: Duration) -> Self {
        Self {
            every,
            pending: Mutex::default(),
        }
    }

    /// Adds a change to the batch.
    pub(super) fn add(&self, change: PresenceChange) -> Gathered {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let first = pending.changes.is_empty();
        pending.changes.push(change);
        let since = *pending.since.get_or_insert_with(Instant::now);
        if self.every.is_zero() {
            pending.since = None;
            let changes = std::mem::take(&mut pending.changes);
            return Gathered::Now(PresenceBatch(changes.into()), since);
        }
        if first {
            Gathered::Later(self.every)
        } else {
            Gathered::Waiting
        }
    }

    /// Takes the batch gathered so far, with when its first change came.
    pub(super) fn take(&self) -> Option<(PresenceBatch, Instant)> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let since = pending.since.take()?;
        let changes = std::mem::take(&mut pending.changes);
        Some((PresenceBatch(changes.into()), since))
    }
}
