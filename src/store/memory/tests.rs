//! The embedded store's own behaviour, beyond the acceptance suite every
//! store passes (`tests/store`): its eviction order and its user index.

use super::*;
use crate::session::SessionData;

const LONG: Duration = Duration::from_secs(3600);

fn logged_in(name: &str) -> SessionState {
    SessionData {
        count: 0,
        name: Some(name.to_owned()),
        authenticated: true,
    }
    .to_state()
}

#[test]
fn pinned_sessions_go_last_and_reads_count_as_uses() {
    let store = MemoryStore::with_capacity(3);
    let pinned = store.create(SessionState::new(), LONG);
    store.pin(&pinned);
    let read = store.create(logged_in("bob"), LONG);
    let unread = store.create(logged_in("carol"), LONG);
    // Reading `read` makes `unread` the least recently used.
    assert!(store.load(&read).is_some());
    store.create(logged_in("dave"), LONG);
    assert!(store.load(&unread).is_none(), "evicted");
    // A pinned anonymous session outlasts unpinned logged-in ones.
    store.create(logged_in("erin"), LONG);
    store.create(logged_in("fay"), LONG);
    assert!(store.load(&read).is_none(), "not pinned goes");
    assert!(store.load(&pinned).is_some(), "pinned stays");
    // Unpinned, it goes first again (anonymous).
    store.unpin(&pinned);
    store.create(logged_in("gus"), LONG);
    assert!(store.load(&pinned).is_none());
    assert_eq!(store.len(), 3);
}

#[test]
fn beyond_its_capacity_it_evicts_the_least_recently_used_anonymous_first() {
    let store = MemoryStore::with_capacity(3);
    let alice = store.create(logged_in("alice"), LONG);
    let old = store.create(SessionState::new(), LONG);
    let young = store.create(SessionState::new(), LONG);
    // Writing `old` makes `young` the least recently used.
    store.touch(&old, LONG);
    store.create(SessionState::new(), LONG);
    assert!(store.load(&young).is_none(), "evicted");
    assert!(store.load(&old).is_some());
    store.create(SessionState::new(), LONG);
    store.create(SessionState::new(), LONG);
    assert!(store.load(&old).is_none(), "anonymous ones go first");
    assert!(store.load(&alice).is_some(), "the logged-in one stays");
    assert_eq!(store.len(), 3);
}

#[test]
fn a_user_index_follows_logins_and_deletes() {
    let store = MemoryStore::new();
    let first = store.create(logged_in("bob"), LONG);
    let anonymous = store.create(SessionState::new(), LONG);
    let second = store
        .renew(&anonymous, logged_in("bob"), LONG, LONG)
        .expect("renewed");
    let other = store.create(logged_in("carol"), LONG);
    store.delete(&first);
    assert_eq!(store.end_user("bob", LONG, None), 1);
    assert!(store.load(&second).is_none());
    assert!(store.load(&other).is_some());
    assert_eq!(store.end_user("bob", LONG, None), 0);
}
