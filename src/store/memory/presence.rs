//! The embedded store's presence: which sockets each user has open (by
//! instance too, like Redis, although the app runs one instance on it), who
//! is online, and who has had no socket since when. Each operation is one
//! step under one lock, so each transition is decided once.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    sync::MutexGuard,
    time::{Duration, Instant},
};

use super::MemoryStore;
use crate::{
    session::SocketId,
    store::{Roster, SocketChange, Transition},
    sync::lock,
};

/// The presence book.
#[derive(Default)]
pub(super) struct MemoryPresence {
    sockets: HashMap<String, HashSet<(String, SocketId)>>,
    online: BTreeSet<String>,
    since: HashMap<String, Instant>,
    version: u64,
}

impl MemoryPresence {
    fn transition(&mut self, user: &str, online: bool) -> Transition {
        self.version += 1;
        Transition {
            user: user.to_owned(),
            online,
            version: self.version,
        }
    }
}

impl MemoryStore {
    fn presence(&self) -> MutexGuard<'_, MemoryPresence> {
        lock(&self.presence)
    }

    pub(in crate::store) fn presence_sockets(&self, user: &str, instance: &str) -> Vec<SocketId> {
        self.presence()
            .sockets
            .get(user)
            .into_iter()
            .flatten()
            .filter(|(at, _)| at == instance)
            .map(|(_, socket)| *socket)
            .collect()
    }

    pub(in crate::store) fn presence_users(&self, instance: &str) -> Vec<String> {
        self.presence()
            .sockets
            .iter()
            .filter(|(_, sockets)| sockets.iter().any(|(at, _)| at == instance))
            .map(|(user, _)| user.clone())
            .collect()
    }

    pub(in crate::store) fn presence_sync(
        &self,
        user: &str,
        instance: &str,
        change: SocketChange<'_>,
        grace: Duration,
    ) -> Option<Transition> {
        let mut book = self.presence();
        let sockets = book.sockets.entry(user.to_owned()).or_default();
        for socket in change.remove {
            sockets.remove(&(instance.to_owned(), *socket));
        }
        sockets.extend(
            change
                .add
                .iter()
                .map(|socket| (instance.to_owned(), *socket)),
        );
        if !sockets.is_empty() {
            book.since.remove(user);
            return book
                .online
                .insert(user.to_owned())
                .then(|| book.transition(user, true));
        }
        book.sockets.remove(user);
        if !book.online.contains(user) {
            return None;
        }
        if grace.is_zero() {
            book.online.remove(user);
            book.since.remove(user);
            return Some(book.transition(user, false));
        }
        // A repeated or stray leave does not restart the grace.
        book.since
            .entry(user.to_owned())
            .or_insert_with(Instant::now);
        None
    }

    pub(in crate::store) fn presence_sweep(&self, grace: Duration) -> Vec<Transition> {
        let mut book = self.presence();
        let now = Instant::now();
        let due: Vec<String> = book
            .since
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= grace)
            .map(|(user, _)| user.clone())
            .collect();
        let mut offline = Vec::new();
        for user in due {
            book.since.remove(&user);
            if !book.sockets.contains_key(&user) && book.online.remove(&user) {
                offline.push(book.transition(&user, false));
            }
        }
        offline
    }

    pub(in crate::store) fn presence_roster(&self) -> Roster {
        let book = self.presence();
        Roster {
            online: book.online.iter().cloned().collect(),
            version: book.version,
        }
    }
}
