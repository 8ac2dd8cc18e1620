//! What one socket has shown, so that frames arriving late, twice or out of
//! order never show an older state: the count never goes down, lobby
//! messages never repeat or overlap the history, and each user's presence
//! strictly alternates between online and offline.
//!
//! The roster it greeted with is not copied: it is the [`Online`] read
//! shared by every socket that greeted with the same read, and the view
//! keeps per user only what differs from it or was announced since (its
//! exceptions). Sockets greeting together thus cost one roster, not one
//! entry per user online each. After each presence batch a view moves onto
//! the newest roster its instance read, if that is another one (a change of
//! representation only: it shows exactly what it showed), so that sockets
//! that greeted with rosters of their own, one after another, come to share
//! one.
//!
//! Its own memory is bounded by the users announced in the last
//! [`FORGET_AFTER`] or so and those it shows otherwise than its roster: a
//! user shown offline for that long is forgotten, and the floor below which
//! announcements count as stale rises to match, so a forgotten user's late
//! announcement (at most milliseconds late in practice: publishes from two
//! instances crossing) still loses. Users of the shared roster shown offline
//! since stay exceptions until they are half of it; the view then copies
//! what it shows into a roster of its own, and forgets them.

use std::{
    collections::{hash_map::Entry, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};

use crate::{events::Order, services::Online, store::Roster};

/// A socket's view. Until it has greeted (sent its opening frames), it shows
/// nothing else: a live frame then would come before the state it updates.
///
/// One slot per `Order` variant that carries a value (see `events::Order`):
/// a new counter or stream gets a field here and an arm in `admits_at`.
#[derive(Debug, Default)]
pub struct View {
    /// `Order::SessionCount`'s slot: the highest count shown; `None` until
    /// the `session` frame.
    count: Option<u64>,
    /// `Order::LobbySequence`'s slot: the last lobby position shown (or
    /// skipped as older than the history).
    seq: Option<u64>,
    /// Presence transitions up to this version are in the roster shown.
    floor: u64,
    /// The roster last shown (shared with every socket that read it).
    roster: Option<Arc<Online>>,
    /// Per user shown otherwise than the roster says, or whose newest
    /// version seen is above the floor: shown online?, and that version. Any
    /// other user is shown as the roster says, seen at or below the floor.
    exceptions: HashMap<Arc<str>, (bool, u64)>,
    /// The newest presence version seen.
    newest: u64,
    /// `newest` at the last sweep, and when that was.
    swept: Option<(Instant, u64)>,
}

/// How long a user shown offline is remembered.
pub const FORGET_AFTER: Duration = Duration::from_secs(10);

impl View {
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

    /// Records a roster about to be shown as `presence state` (its names at
    /// its version), and returns the changes from what was shown before,
    /// for a socket that already showed one.
    pub fn show_roster(&mut self, roster: &Arc<Online>) -> Vec<(String, bool)> {
        let had_roster = self.seq.is_some();
        let mut changes = self.changes_to(roster);
        self.floor = self.floor.max(roster.version());
        let floor = self.floor;
        // Each user is now shown as the new roster says; only the versions
        // seen above the floor are left to remember.
        self.exceptions.retain(|user, (shown, seen)| {
            *shown = roster.contains(user);
            *seen > floor
        });
        self.roster = Some(roster.clone());
        if had_roster {
            changes.sort();
            changes
        } else {
            Vec::new()
        }
    }

    /// The users whose shown state `roster` changes, and to what.
    fn changes_to(&self, roster: &Online) -> Vec<(String, bool)> {
        let mut changes: Vec<(String, bool)> = self
            .exceptions
            .iter()
            .filter(|(user, (shown, _))| *shown != roster.contains(user))
            .map(|(user, (shown, _))| (user.to_string(), !*shown))
            .collect();
        let old: &[String] = self.roster.as_deref().map_or(&[], Online::names);
        differences(old, roster.names(), |user, now| {
            if !self.exceptions.contains_key(user) {
                changes.push((user.to_owned(), now));
            }
        });
        changes
    }

    /// Takes `newer` as its roster, showing exactly what it showed: the
    /// exceptions become what differs from `newer` (and the versions above
    /// the floor). Only its memory changes: a socket that greeted with a
    /// roster of its own moves to the one the instance shares.
    fn rebase(&mut self, newer: &Arc<Online>) {
        let floor = self.floor;
        let mut exceptions: HashMap<Arc<str>, (bool, u64)> = self
            .exceptions
            .iter()
            .filter(|(user, (shown, seen))| *seen > floor || *shown != newer.contains(user))
            .map(|(user, state)| (user.clone(), *state))
            .collect();
        let old: &[String] = self.roster.as_deref().map_or(&[], Online::names);
        // Users in one roster only, shown as the old one says.
        differences(old, newer.names(), |user, in_newer| {
            if !self.exceptions.contains_key(user) {
                exceptions.insert(user.into(), (!in_newer, 0));
            }
        });
        exceptions.shrink_to_fit();
        self.exceptions = exceptions;
        self.roster = Some(newer.clone());
    }

    /// Records the lobby position the history ends at.
    pub fn show_history_up_to(&mut self, head: u64) {
        self.seq = Some(self.seq().max(head));
    }

    /// Whether a live frame with `order` should be shown now (and records it).
    pub fn admits(&mut self, order: &Order) -> bool {
        self.admits_at(order, Instant::now())
    }

    fn admits_at(&mut self, order: &Order, now: Instant) -> bool {
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
        match self.exceptions.entry(user.clone()) {
            Entry::Occupied(mut entry) => {
                let (shown, seen) = entry.get_mut();
                if version <= *seen {
                    return None;
                }
                *seen = version;
                Some(std::mem::replace(shown, online))
            }
            Entry::Vacant(entry) => {
                entry.insert((online, version));
                Some(self.roster.as_ref().is_some_and(|r| r.contains(user)))
            }
        }
    }

    /// Whether it shows `user` online.
    fn shown(&self, user: &str) -> bool {
        match self.exceptions.get(user) {
            Some((shown, _)) => *shown,
            None => self.roster.as_ref().is_some_and(|r| r.contains(user)),
        }
    }

    /// Records a batch's presence changes (its `Order::Presence` orders)
    /// and returns the users whose shown state it changed: (now online, now
    /// offline), each sorted. A user who went and came back within the batch
    /// is in neither.
    pub fn show_presence(&mut self, orders: &[Order]) -> (Vec<Arc<str>>, Vec<Arc<str>>) {
        self.show_presence_at(orders, Instant::now())
    }

    fn show_presence_at(
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
            match (was, self.shown(&user)) {
                (false, true) => online.push(user),
                (true, false) => offline.push(user),
                _ => {}
            }
        }
        online.sort_unstable();
        offline.sort_unstable();
        if let Some(newest) = self.roster.as_ref().and_then(|roster| roster.newest()) {
            if self
                .roster
                .as_ref()
                .is_some_and(|roster| !Arc::ptr_eq(roster, &newest))
            {
                self.rebase(&newest);
            }
        }
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
                let (floor, roster) = (self.floor, self.roster.as_deref());
                // Kept: what the roster does not say, and versions above
                // the floor; a user left out is shown as the roster says.
                self.exceptions.retain(|user, (shown, seen)| {
                    *seen > floor || *shown != roster.is_some_and(|r| r.contains(user))
                });
                self.own_roster_if_stale();
                self.exceptions.shrink_to_fit();
                self.swept = Some((now, self.newest));
            }
            None => self.swept = Some((now, self.newest)),
        }
    }

    /// Once half the shared roster's users are shown offline (exceptions
    /// kept for them alone), copies what it shows into a roster of its own,
    /// so that they can be forgotten.
    fn own_roster_if_stale(&mut self) {
        let Some(roster) = self.roster.clone() else {
            return;
        };
        let gone = self
            .exceptions
            .iter()
            .filter(|(user, (shown, _))| !*shown && roster.contains(user))
            .count();
        if gone == 0 || gone * 2 < roster.names().len() {
            return;
        }
        let mut online: Vec<String> = roster
            .names()
            .iter()
            .filter(|user| self.shown(user))
            .cloned()
            .collect();
        online.extend(
            self.exceptions
                .iter()
                .filter(|(user, (shown, _))| *shown && !roster.contains(user))
                .map(|(user, _)| user.to_string()),
        );
        online.sort_unstable();
        let version = roster.version();
        self.roster = Some(Online::new(Roster { online, version }));
        let floor = self.floor;
        self.exceptions.retain(|_, (_, seen)| *seen > floor);
    }

    /// How many users it remembers on its own (the shared roster aside).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.exceptions.len()
    }
}

/// Calls `each` with every name in exactly one of two sorted lists, and
/// whether it is in `new`.
fn differences(old: &[String], new: &[String], mut each: impl FnMut(&str, bool)) {
    let (mut old, mut new) = (old.iter().peekable(), new.iter().peekable());
    loop {
        let (user, in_new) = match (old.peek(), new.peek()) {
            (None, None) => break,
            (Some(was), Some(is)) if was == is => {
                old.next();
                new.next();
                continue;
            }
            (Some(was), Some(is)) if was < is => (old.next(), false),
            (Some(_), None) => (old.next(), false),
            (_, Some(_)) => (new.next(), true),
        };
        if let Some(user) = user {
            each(user, in_new);
        }
    }
}

#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;
