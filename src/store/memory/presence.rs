//! The embedded store's presence: which sockets each user has open (by
//! instance too, like Redis, although the app runs one instance on it), who
//! is online, and who has had no socket since when. The store runs each
//! operation under one lock, so each transition is decided once.

use std::{
    collections::{BTreeSet, HashMap, HashSet},
    time::{Duration, Instant},
};

use crate::{
    session::SocketId,
    store::{Roster, SocketChange, Transition},
};

/// The presence self.
#[derive(Default)]
pub(super) struct MemoryPresence {
    sockets: HashMap<String, HashSet<(String, SocketId)>>,
    online: BTreeSet<String>,
    since: HashMap<String, Instant>,
    version: u64,
}

impl MemoryPresence {
    pub(super) fn sockets(&self, user: &str, instance: &str) -> Vec<SocketId> {
        self.sockets
            .get(user)
            .into_iter()
            .flatten()
            .filter(|(at, _)| at == instance)
            .map(|(_, socket)| *socket)
            .collect()
    }

    pub(super) fn users(&self, instance: &str) -> Vec<String> {
        self.sockets
            .iter()
            .filter(|(_, sockets)| sockets.iter().any(|(at, _)| at == instance))
            .map(|(user, _)| user.clone())
            .collect()
    }

    pub(super) fn sync(
        &mut self,
        user: &str,
        instance: &str,
        change: SocketChange<'_>,
        grace: Duration,
    ) -> Option<Transition> {
        let sockets = self.sockets.entry(user.to_owned()).or_default();
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
            self.since.remove(user);
            return self
                .online
                .insert(user.to_owned())
                .then(|| self.transition(user, true));
        }
        self.sockets.remove(user);
        if !self.online.contains(user) {
            return None;
        }
        if grace.is_zero() {
            self.online.remove(user);
            self.since.remove(user);
            return Some(self.transition(user, false));
        }
        // A repeated or stray leave does not restart the grace.
        self.since
            .entry(user.to_owned())
            .or_insert_with(Instant::now);
        None
    }

    pub(super) fn sweep(&mut self, grace: Duration) -> Vec<Transition> {
        let now = Instant::now();
        let due: Vec<String> = self
            .since
            .iter()
            .filter(|(_, since)| now.duration_since(**since) >= grace)
            .map(|(user, _)| user.clone())
            .collect();
        let mut offline = Vec::new();
        for user in due {
            self.since.remove(&user);
            if !self.sockets.contains_key(&user) && self.online.remove(&user) {
                offline.push(self.transition(&user, false));
            }
        }
        offline
    }

    pub(super) fn roster(&self) -> Roster {
        Roster {
            online: self.online.iter().cloned().collect(),
            version: self.version,
        }
    }

    fn transition(&mut self, user: &str, online: bool) -> Transition {
        self.version += 1;
        Transition {
            user: user.to_owned(),
            online,
            version: self.version,
        }
    }
}
