//! The view's cases, and property tests against the old view (`reference`).

use super::{reference::Reference, *};

/// A roster read: `online` (sorted) at `version`.
fn roster(online: &[String], version: u64) -> Arc<Online> {
    Online::new(Roster {
        online: online.to_vec(),
        version,
    })
}

fn greeted(online: &[&str], version: u64, head: u64) -> View {
    let mut view = View::default();
    view.show_count(0);
    let online: Vec<String> = online.iter().map(|&u| u.to_owned()).collect();
    view.show_roster(&roster(&online, version));
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
        view.show_roster(&roster(&now, 9)),
        vec![("alice".to_owned(), false), ("carol".to_owned(), true)]
    );
    assert!(!view.admits(&presence("carol", true, 8)));
}

#[test]
fn sockets_greeting_with_one_read_share_its_roster() {
    let read = roster(&["alice".to_owned(), "bob".to_owned()], 4);
    let mut views: Vec<View> = (0..3).map(|_| View::default()).collect();
    for view in &mut views {
        view.show_count(0);
        assert!(view.show_roster(&read).is_empty());
        view.show_history_up_to(0);
        assert_eq!(view.remembered(), 0, "nothing of its own");
    }
    assert_eq!(Arc::strong_count(&read), 4);
    assert!(views[0].admits(&presence("alice", false, 5)));
    assert_eq!(views[0].remembered(), 1);
    assert!(!views[0].admits(&presence("alice", false, 6)));
    assert!(views[1].admits(&presence("alice", false, 6)));
}

#[test]
fn users_of_the_shared_roster_gone_offline_are_forgotten_too() {
    let start = Instant::now();
    let names: Vec<String> = (0..100).map(|user| format!("user-{user:03}")).collect();
    let mut view = greeted(&[], 0, 0);
    view.show_roster(&roster(&names, 1));
    for (at, name) in names.iter().enumerate().take(60) {
        assert!(view.admits_at(&presence(name, false, 2 + at as u64), start));
    }
    view.admits_at(&presence("other", true, 100), start + FORGET_AFTER);
    view.admits_at(&presence("other", false, 101), start + FORGET_AFTER * 2);
    assert!(view.remembered() <= 2, "remembers {}", view.remembered());
    assert!(!view.admits_at(&presence("user-000", false, 102), start + FORGET_AFTER * 2));
    assert!(view.admits_at(&presence("user-099", false, 103), start + FORGET_AFTER * 2));
    assert!(view.admits_at(&presence("user-000", true, 104), start + FORGET_AFTER * 2));
}

/// One step of a socket's life as the property test drives it.
#[derive(Debug, Clone)]
enum Step {
    /// The opening frames' count and lobby position (greeting needs both).
    Greet(u64, u64),
    /// A roster read (a set of users, by bit) at a version: a greeting's
    /// or a resync's.
    Roster(u8, u64),
    /// One live presence change: user, online, version.
    Push(usize, bool, u64),
    /// A batch of them.
    Batch(Vec<(usize, bool, u64)>),
    /// Time passes (milliseconds).
    Wait(u64),
    /// The view moves onto another roster read (the reference has no such
    /// thing: it must show the same).
    Rebase(u8, u64),
}

/// Sorted by code point, as rosters are.
const USERS: [&str; 6] = ["ann", "bob", "cy", "dee", "zed", "éva"];

fn step() -> impl proptest::strategy::Strategy<Value = Step> {
    use proptest::prelude::*;
    let change = (0..USERS.len(), any::<bool>(), 0..40_u64);
    prop_oneof![
        1 => (0..3_u64, 0..3_u64).prop_map(|(count, head)| Step::Greet(count, head)),
        2 => (any::<u8>(), 0..40_u64).prop_map(|(users, version)| Step::Roster(users, version)),
        4 => change.clone().prop_map(|(user, online, version)| Step::Push(user, online, version)),
        4 => proptest::collection::vec(change, 0..8).prop_map(Step::Batch),
        2 => (0..12_000_u64).prop_map(Step::Wait),
        2 => (any::<u8>(), 0..40_u64).prop_map(|(users, version)| Step::Rebase(users, version)),
    ]
}

/// The same step taken by the view and by the reference: what each shows.
fn both(view: &mut View, old: &mut Reference, step: &Step, now: Instant) -> (String, String) {
    let order =
        |(user, online, version): &(usize, bool, u64)| presence(USERS[*user], *online, *version);
    match step {
        Step::Greet(count, head) => {
            let shown = (view.show_count(*count), old.show_count(*count));
            view.show_history_up_to(*head);
            old.show_history_up_to(*head);
            (format!("{}", shown.0), format!("{}", shown.1))
        }
        Step::Roster(users, version) => {
            let new = view.show_roster(&roster(&named(*users), *version));
            let online = named(*users);
            (
                format!("{new:?}"),
                format!("{:?}", old.show_roster(&online, *version)),
            )
        }
        Step::Push(user, online, version) => {
            let order = order(&(*user, *online, *version));
            let new = view.admits_at(&order, now);
            (format!("{new}"), format!("{}", old.admits_at(&order, now)))
        }
        Step::Batch(changes) => {
            let orders: Vec<Order> = changes.iter().map(order).collect();
            let new = view.show_presence_at(&orders, now);
            (
                format!("{new:?}"),
                format!("{:?}", old.show_presence_at(&orders, now)),
            )
        }
        Step::Rebase(users, version) => {
            view.rebase(&roster(&named(*users), *version));
            (String::new(), String::new())
        }
        Step::Wait(_) => (String::new(), String::new()),
    }
}

/// The users of a bit set, sorted.
fn named(users: u8) -> Vec<String> {
    (0..USERS.len())
        .filter(|user| users & (1 << user) != 0)
        .map(|user| USERS[user].to_owned())
        .collect()
}

proptest::proptest! {
    #![proptest_config(proptest::test_runner::Config::with_cases(2_000))]

    /// Whatever the rosters (greeting and resyncs), the live changes, their
    /// versions (stale, repeated, out of order), how they fall into batches
    /// and how much time passes (forgetting): the view with a shared roster
    /// shows exactly what the old view, with its own copy, showed.
    #[test]
    fn the_shared_roster_shows_what_the_copied_one_did(
        steps in proptest::collection::vec(step(), 1..80),
    ) {
        let (mut view, mut old) = (View::default(), Reference::default());
        let mut now = Instant::now();
        for (at, step) in steps.iter().enumerate() {
            if let Step::Wait(millis) = step {
                now += Duration::from_millis(*millis);
            }
            let (new, was) = both(&mut view, &mut old, step, now);
            proptest::prop_assert_eq!(new, was, "step {}: {:?}", at, step);
            proptest::prop_assert_eq!(view.greeted(), old.greeted());
            proptest::prop_assert_eq!(view.seq(), old.seq());
            for user in USERS {
                proptest::prop_assert_eq!(view.shown(user), old.shows(user), "{} after step {}", user, at);
            }
        }
    }
}
