//! The view as it was before the shared roster (a per-socket map with an
//! entry for every user it shows, the roster copied in): the reference model
//! the property tests drive beside [`View`](super::View), which must show
//! the same frames. Kept as it was, apart from its name and visibility.

#![allow(dead_code)]

use std::{collections::HashMap, sync::Arc, time::Instant};

use super::FORGET_AFTER;
use crate::events::Order;

/// The old view: one entry per user shown.
#[derive(Debug, Default)]
pub struct Reference {
    /// `Order::SessionCount`'s slot: the highest count shown; `None` until
    /// the `session` frame.
    count: Option<u64>,
    /// `Order::LobbySequence`'s slot: the last lobby position shown (or
    /// skipped as older than the history).
    seq: Option<u64>,
    /// Presence transitions up to this version are in the roster shown.
    floor: u64,
    /// Per user: shown online?, and the newest version seen.
    users: HashMap<Arc<str>, (bool, u64)>,
    /// The newest presence version seen.
    newest: u64,
    /// `newest` at the last sweep, and when that was.
    swept: Option<(Instant, u64)>,
}

impl Reference {
    /// Whether the opening frames have been shown.
    pub fn greeted(&self) -> bool {
        self.count.is_some() && self.seq.is_some()
    }

    /// The last lobby position shown.
    pub fn seq(&self) -> u64 {
        self.seq.unwrap_or(0)
    }

    /// Records the count about to be shown; `false` when it is not newer.
    pub fn show_count(&mut self, count: u64) -> bool {
        if self.count.is_some_and(|shown| count <= shown) {
            return false;
        }
        self.count = Some(count);
        true
    }

    /// Records a roster about to be shown as `presence state` (`online` at
    /// `version`), and returns the changes from what was shown before, for
    /// a socket that already showed one.
    pub fn show_roster(&mut self, online: &[String], version: u64) -> Vec<(String, bool)> {
        let mut changes = Vec::new();
        let had_roster = self.seq.is_some();
        for (user, (shown, _)) in &mut self.users {
            // The roster is sorted (by code point, as `str`'s order is).
            let now = online
                .binary_search_by(|name| name.as_str().cmp(user))
                .is_ok();
            if *shown != now {
                *shown = now;
                changes.push((user.to_string(), now));
            }
        }
        for user in online {
            if !self.users.contains_key(user.as_str()) {
                self.users.insert(user.as_str().into(), (true, version));
                changes.push((user.clone(), true));
            }
        }
        self.floor = self.floor.max(version);
        if had_roster {
            changes.sort();
            changes
        } else {
            Vec::new()
        }
    }

    /// Records the lobby position the history ends at.
    pub fn show_history_up_to(&mut self, head: u64) {
        self.seq = Some(self.seq().max(head));
    }

    /// Whether a live frame with `order` should be shown now (and records it).
    pub fn admits(&mut self, order: &Order) -> bool {
        self.admits_at(order, Instant::now())
    }

    pub fn admits_at(&mut self, order: &Order, now: Instant) -> bool {
        if !self.greeted() {
            return false;
        }
        match order {
            Order::Always => true,
            Order::SessionCount(count) => self.show_count(*count),
            Order::LobbySequence(seq) => {
                let fresh = *seq > self.seq();
                if fresh {
                    self.seq = Some(*seq);
                }
                fresh
            }
            Order::Presence {
                user,
                online,
                version,
            } => self
                .apply(user, *online, *version, now)
                .is_some_and(|was| was != *online),
        }
    }

    /// Records a change unless it is stale (not newer than what the socket
    /// knows of the user, or at or below the floor); returns what the socket
    /// showed for the user before it.
    fn apply(&mut self, user: &Arc<str>, online: bool, version: u64, now: Instant) -> Option<bool> {
        self.newest = self.newest.max(version);
        self.forget_old(now);
        if version <= self.floor {
            return None;
        }
        let (shown, seen) = self.users.entry(user.clone()).or_insert((false, 0));
        if version <= *seen {
            return None;
        }
        *seen = version;
        Some(std::mem::replace(shown, online))
    }

    /// Records a batch's presence changes (its `Order::Presence` orders)
    /// and returns the users whose shown state it changed: (now online, now
    /// offline), each sorted. A user who went and came back within the batch
    /// is in neither.
    pub fn show_presence(&mut self, orders: &[Order]) -> (Vec<Arc<str>>, Vec<Arc<str>>) {
        self.show_presence_at(orders, Instant::now())
    }

    pub fn show_presence_at(
        &mut self,
        orders: &[Order],
        now: Instant,
    ) -> (Vec<Arc<str>>, Vec<Arc<str>>) {
        if !self.greeted() {
            return (Vec::new(), Vec::new());
        }
        let mut changes: Vec<(&Arc<str>, bool, u64)> = orders
            .iter()
            .filter_map(|order| match order {
                Order::Presence {
                    user,
                    online,
                    version,
                } => Some((user, *online, *version)),
                // Only presence batches (`Order::batches`).
                Order::Always | Order::SessionCount(_) | Order::LobbySequence(_) => None,
            })
            .collect();
        changes.sort_unstable_by_key(|(_, _, version)| *version);
        let mut before: HashMap<Arc<str>, bool> = HashMap::new();
        for (user, online, version) in changes {
            if let Some(was) = self.apply(user, online, version, now) {
                before.entry(user.clone()).or_insert(was);
            }
        }
        let (mut online, mut offline) = (Vec::new(), Vec::new());
        for (user, was) in before {
            match self.users.get(&user).map(|(shown, _)| *shown) {
                Some(true) if !was => online.push(user),
                Some(false) | None if was => offline.push(user),
                _ => {}
            }
        }
        online.sort_unstable();
        offline.sort_unstable();
        (online, offline)
    }

    /// Every [`FORGET_AFTER`]: forgets the users shown offline whose last
    /// announcement is at least that old (no newer than what was newest at
    /// the previous sweep), raising the floor to that version.
    fn forget_old(&mut self, now: Instant) {
        match self.swept {
            Some((at, _)) if now.saturating_duration_since(at) < FORGET_AFTER => {}
            Some((_, mark)) => {
                self.floor = self.floor.max(mark);
                let floor = self.floor;
                self.users
                    .retain(|_, (online, seen)| *online || *seen > floor);
                self.users.shrink_to_fit();
                self.swept = Some((now, self.newest));
            }
            None => self.swept = Some((now, self.newest)),
        }
    }

    /// Whether it shows `user` online.
    pub fn shows(&self, user: &str) -> bool {
        self.users.get(user).is_some_and(|(shown, _)| *shown)
    }

    /// How many users it remembers.
    pub fn remembered(&self) -> usize {
        self.users.len()
    }
}
