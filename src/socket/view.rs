//! What one socket has shown, so that frames arriving late, twice or out of
//! order never show an older state: the count never goes down, lobby
//! messages never repeat or overlap the history, and each user's presence
//! strictly alternates between online and offline.
//!
//! Its memory is bounded by the users it shows online plus those it saw go
//! offline in the last [`FORGET_AFTER`] or so: a user shown offline for that
//! long is forgotten, and the floor below which announcements count as
//! stale rises to match, so a forgotten user's late announcement (at most
//! milliseconds late in practice: publishes from two instances crossing)
//! still loses.

use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};

use crate::events::Order;

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
    /// Per user: shown online?, and the newest version seen.
    users: HashMap<Arc<str>, (bool, u64)>,
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

    /// How many users it remembers.
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.users.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeted(online: &[&str], version: u64, head: u64) -> View {
        let mut view = View::default();
        view.show_count(0);
        let online: Vec<String> = online.iter().map(|&u| u.to_owned()).collect();
        view.show_roster(&online, version);
        view.show_history_up_to(head);
        view
    }

    fn presence(user: &str, online: bool, version: u64) -> Order {
        Order::Presence {
            user: user.into(),
            online,
            version,
        }
    }

    #[test]
    fn nothing_is_shown_before_the_greeting() {
        let mut view = View::default();
        assert!(!view.admits(&Order::Always));
        assert!(!view.admits(&Order::LobbySequence(1)));
    }

    #[test]
    fn counts_only_go_up_and_messages_never_repeat() {
        let mut view = greeted(&[], 0, 5);
        assert!(view.admits(&Order::SessionCount(2)));
        assert!(!view.admits(&Order::SessionCount(2)));
        assert!(!view.admits(&Order::SessionCount(1)));
        assert!(!view.admits(&Order::LobbySequence(5)), "in the history");
        assert!(view.admits(&Order::LobbySequence(6)));
        assert!(!view.admits(&Order::LobbySequence(6)));
    }

    #[test]
    fn presence_alternates_and_late_announcements_lose() {
        let mut view = greeted(&["alice"], 4, 0);
        assert!(!view.admits(&presence("alice", true, 3)), "in the roster");
        assert!(!view.admits(&presence("alice", true, 5)), "already online");
        // Offline at 7 arrives after online at 8: the late one is dropped.
        assert!(!view.admits(&presence("alice", true, 8)));
        assert!(!view.admits(&presence("alice", false, 7)));
        assert!(view.admits(&presence("alice", false, 9)));
        assert!(view.admits(&presence("alice", true, 10)));
        assert!(view.admits(&presence("bob", true, 11)));
        assert!(!view.admits(&presence("bob", true, 12)));
    }

    #[test]
    fn users_long_offline_are_forgotten_and_their_late_announcements_still_lose() {
        let start = Instant::now();
        let mut view = greeted(&[], 0, 0);
        let mut version = 0;
        for round in 0..5 {
            let now = start + FORGET_AFTER * round;
            for user in 0..1_000 {
                let name = format!("user-{round}-{user}");
                version += 1;
                assert!(view.admits_at(&presence(&name, true, version), now));
                version += 1;
                assert!(view.admits_at(&presence(&name, false, version), now));
            }
        }
        version += 1;
        assert!(view.admits_at(&presence("stays", true, version), start + FORGET_AFTER * 6));
        assert!(
            view.remembered() <= 2_001,
            "remembers {} users",
            view.remembered()
        );
        // A forgotten user's stale online announcement is still refused.
        assert!(!view.admits_at(&presence("user-0-0", true, 1), start + FORGET_AFTER * 6));
        // The user shown online is never forgotten.
        let later = start + FORGET_AFTER * 20;
        assert!(!view.admits_at(&presence("other", true, 1), later));
        assert!(view.admits_at(&presence("stays", false, version + 1), later));
    }

    #[test]
    fn a_batch_shows_net_changes_sorted_and_keeps_alternation() {
        let mut view = greeted(&["alice"], 4, 0);
        let (online, offline) = view.show_presence(&[
            presence("carol", true, 7),
            presence("bob", true, 5),
            presence("alice", false, 6),
            // Dave came and went within the batch: in neither list.
            presence("dave", true, 8),
            presence("dave", false, 9),
            // Stale: in the roster already.
            presence("alice", true, 3),
        ]);
        assert_eq!(online, vec![Arc::from("bob"), Arc::from("carol")]);
        assert_eq!(offline, vec![Arc::from("alice")]);
        // Late and repeated changes show nothing.
        let (online, offline) =
            view.show_presence(&[presence("bob", true, 10), presence("carol", false, 6)]);
        assert!(online.is_empty() && offline.is_empty());
        // Order inside a batch is by version, not arrival.
        let (online, offline) =
            view.show_presence(&[presence("bob", true, 12), presence("bob", false, 11)]);
        assert!(
            online.is_empty() && offline.is_empty(),
            "bob ends online, as shown"
        );
    }

    proptest::proptest! {
        /// Whatever the changes, their arrival order and how they fall into
        /// batches: each frame's lists are sorted, disjoint and not both
        /// empty; each user alternates online/offline across frames, online
        /// first; and each user ends as its newest change says.
        #[test]
        fn batches_keep_alternation_and_end_at_the_newest_state(
            changes in proptest::collection::vec((0..4_usize, proptest::bool::ANY), 1..60),
            arrival in proptest::collection::vec(proptest::num::usize::ANY, 60),
            cuts in proptest::collection::vec(proptest::bool::ANY, 60),
        ) {
            let users = ["ann", "bob", "cy", "dee"];
            let mut all: Vec<Order> = changes
                .iter()
                .enumerate()
                .map(|(i, (user, online))| presence(users[*user], *online, i as u64 + 1))
                .collect();
            // Any arrival order (a shuffle driven by `arrival`).
            for (i, pick) in arrival.iter().enumerate().take(all.len()) {
                let j = i + pick % (all.len() - i);
                all.swap(i, j);
            }
            let mut view = greeted(&[], 0, 0);
            let mut shown: HashMap<&str, bool> = HashMap::new();
            let mut batch = Vec::new();
            let now = Instant::now();
            for (i, change) in all.iter().enumerate() {
                batch.push(change.clone());
                if cuts[i] || i + 1 == all.len() {
                    let (online, offline) = view.show_presence_at(&batch, now);
                    batch.clear();
                    proptest::prop_assert!(online.windows(2).all(|w| w[0] < w[1]));
                    proptest::prop_assert!(offline.windows(2).all(|w| w[0] < w[1]));
                    proptest::prop_assert!(online.iter().all(|u| !offline.contains(u)));
                    for (list, state) in [(&online, true), (&offline, false)] {
                        for user in list.iter() {
                            let user = users.iter().find(|u| ***u == **user).copied().unwrap_or("?");
                            let before = shown.insert(user, state).unwrap_or(false);
                            proptest::prop_assert_ne!(before, state, "{} shown {} twice", user, state);
                        }
                    }
                }
            }
            for (index, user) in users.iter().enumerate() {
                // Versions follow `changes`' order: the newest is the last.
                let newest = changes
                    .iter()
                    .rev()
                    .find(|(of, _)| *of == index)
                    .is_some_and(|(_, online)| *online);
                proptest::prop_assert_eq!(shown.get(user).copied().unwrap_or(false), newest, "{}", user);
            }
        }
    }

    #[test]
    fn a_new_roster_yields_what_changed() {
        let mut view = greeted(&["alice", "bob"], 4, 0);
        let now = ["bob".to_owned(), "carol".to_owned()];
        assert_eq!(
            view.show_roster(&now, 9),
            vec![("alice".to_owned(), false), ("carol".to_owned(), true)]
        );
        assert!(!view.admits(&presence("carol", true, 8)));
    }
}
