//! Sessions on every store: create, load, replace, increment, renew, touch
//! and delete, what each does to the lifetime, and that none of them brings
//! back a session that does not exist.

use std::{collections::BTreeSet, time::Instant};

use session_bridge::{
    session::{SessionData, SessionId},
    store::{Ended, Store},
};

use crate::{load, outlive_short, state, wait_until_expired, LONG, SHORT};

pub async fn create_then_load_round_trips(store: Store) {
    let saved = state(&[("count", "7"), ("name", "\"Ada\"")]);
    let id = store.create(saved.clone(), LONG).await.expect("create");
    let other = store.create(saved.clone(), LONG).await.expect("create");

    assert_ne!(id, other, "every session gets its own key");
    assert_eq!(load(&store, &id).await, Some(saved.clone()));
    assert_eq!(load(&store, &other).await, Some(saved));
}

pub async fn an_unknown_key_loads_nothing(store: Store) {
    assert_eq!(load(&store, &SessionId::generate()).await, None);
}

pub async fn replace_updates_a_live_session(store: Store) {
    let id = store
        .create(state(&[("count", "1")]), LONG)
        .await
        .expect("create");

    let replaced = store
        .replace(&id, state(&[("count", "5"), ("extra", "true")]), LONG)
        .await
        .expect("replace");

    assert!(replaced);
    assert_eq!(
        load(&store, &id).await,
        Some(state(&[("count", "5"), ("extra", "true")]))
    );
}

/// A session `{"count": "1"}` with the short lifetime: the subject of a
/// lifetime test, or its unwritten control.
async fn short_session(store: &Store) -> SessionId {
    store
        .create(state(&[("count", "1")]), SHORT)
        .await
        .expect("create")
}

/// Keys of sessions that do not exist: never created, deleted, expired.
async fn missing_sessions(store: &Store) -> [(&'static str, SessionId); 3] {
    let deleted = store
        .create(state(&[("count", "1")]), LONG)
        .await
        .expect("create");
    store.delete(&deleted).await.expect("delete");
    let expired = store
        .create(state(&[("count", "1")]), SHORT)
        .await
        .expect("create");
    wait_until_expired(store, &expired).await;
    [
        ("an unknown key", SessionId::generate()),
        ("a deleted session", deleted),
        ("an expired session", expired),
    ]
}

pub async fn replace_never_creates_a_session(store: Store) {
    for (what, id) in missing_sessions(&store).await {
        let replaced = store
            .replace(&id, state(&[("count", "2")]), LONG)
            .await
            .expect("replace");
        assert!(!replaced, "{what} is not replaced");
        assert_eq!(load(&store, &id).await, None, "{what} is not brought back");
    }
}

pub async fn increment_adds_one_and_starts_a_missing_field_at_one(store: Store) {
    let id = store
        .create(state(&[("count", "41"), ("name", "\"Ada\"")]), LONG)
        .await
        .expect("create");

    assert_eq!(
        store.increment(&id, "count", LONG).await.expect("incr"),
        Some(42)
    );
    assert_eq!(
        store.increment(&id, "other", LONG).await.expect("incr"),
        Some(1)
    );
    let saved = load(&store, &id).await.expect("the session");
    assert_eq!(
        SessionData::from_state(&saved).count,
        42,
        "the app reads the incremented count"
    );
    assert_eq!(saved.get("name").map(String::as_str), Some("\"Ada\""));
    assert_eq!(saved.get("other").map(String::as_str), Some("1"));
}

pub async fn increment_never_creates_a_session(store: Store) {
    for (what, id) in missing_sessions(&store).await {
        let count = store.increment(&id, "count", LONG).await.expect("incr");
        assert_eq!(count, None, "{what} is not incremented");
        assert_eq!(load(&store, &id).await, None, "{what} is not brought back");
    }
}

pub async fn increment_of_a_field_that_is_not_a_number_fails_and_changes_nothing(store: Store) {
    let saved = state(&[("count", "\"seven\"")]);
    let id = store.create(saved.clone(), LONG).await.expect("create");

    let result = store.increment(&id, "count", LONG).await;

    assert!(result.is_err(), "got {result:?}");
    assert_eq!(load(&store, &id).await, Some(saved));
}

/// 50 writers × 20 increments, spread over several threads (each with its
/// own runtime), so the store sees truly simultaneous calls.
pub async fn concurrent_increments_lose_nothing(store: Store) {
    const THREADS: usize = 5;
    const TASKS_PER_THREAD: usize = 10;
    const INCREMENTS_PER_TASK: usize = 20;
    const TOTAL: u64 = (THREADS * TASKS_PER_THREAD * INCREMENTS_PER_TASK) as u64;
    let id = store
        .create(state(&[("count", "0")]), LONG)
        .await
        .expect("create");

    let (writers_store, writers_id) = (store.clone(), id.clone());
    let answers = tokio::task::spawn_blocking(move || {
        std::thread::scope(|scope| {
            let threads: Vec<_> = (0..THREADS)
                .map(|_| {
                    let (store, id) = (writers_store.clone(), writers_id.clone());
                    scope.spawn(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .expect("a runtime");
                        runtime.block_on(async {
                            let tasks = (0..TASKS_PER_THREAD).map(|_| async {
                                let mut answers = Vec::new();
                                for _ in 0..INCREMENTS_PER_TASK {
                                    let count = store
                                        .increment(&id, "count", LONG)
                                        .await
                                        .expect("incr")
                                        .expect("the session exists");
                                    answers.push(count);
                                }
                                answers
                            });
                            futures_util::future::join_all(tasks).await
                        })
                    })
                })
                .collect();
            threads
                .into_iter()
                .flat_map(|thread| thread.join().expect("a writer thread"))
                .flatten()
                .collect::<Vec<u64>>()
        })
    })
    .await
    .expect("the writers finish");

    let distinct: BTreeSet<u64> = answers.iter().copied().collect();
    assert_eq!(answers.len() as u64, TOTAL);
    assert_eq!(
        distinct,
        (1..=TOTAL).collect::<BTreeSet<_>>(),
        "every increment got its own count"
    );
    let saved = load(&store, &id).await.expect("the session");
    assert_eq!(SessionData::from_state(&saved).count, TOTAL);
}

pub async fn renew_moves_the_session_to_a_new_key_with_changes_merged(store: Store) {
    let old = store
        .create(state(&[("count", "3"), ("name", "null")]), LONG)
        .await
        .expect("create");

    let new = store
        .renew(
            &old,
            state(&[("name", "\"Ada\""), ("authenticated", "true")]),
            LONG,
            LONG,
        )
        .await
        .expect("renew")
        .expect("a live session renews");

    assert_ne!(new, old);
    assert_eq!(
        load(&store, &new).await,
        Some(state(&[
            ("count", "3"),
            ("name", "\"Ada\""),
            ("authenticated", "true")
        ]))
    );
    assert_eq!(
        load(&store, &old).await,
        None,
        "the old key no longer loads"
    );
    assert_eq!(
        store.ended(&store.room(&old)).await.expect("a read"),
        Some(Ended::Renewed),
        "the old key is remembered as renewed in the same step"
    );
    assert_eq!(
        store.increment(&old, "count", LONG).await.expect("incr"),
        None,
        "the old key cannot be written"
    );
    assert!(!store
        .replace(&old, state(&[("count", "9")]), LONG)
        .await
        .expect("replace"));
    assert_eq!(load(&store, &old).await, None);
}

pub async fn renew_of_a_missing_session_is_none(store: Store) {
    for (what, id) in missing_sessions(&store).await {
        let renewed = store
            .renew(&id, state(&[("name", "\"Ada\"")]), LONG, LONG)
            .await
            .expect("renew");
        assert_eq!(renewed, None, "{what} is not renewed");
        assert_eq!(load(&store, &id).await, None, "{what} is not brought back");
    }
}

pub async fn delete_removes_the_session_and_tolerates_a_missing_one(store: Store) {
    let id = store
        .create(state(&[("count", "1")]), LONG)
        .await
        .expect("create");
    let kept = store
        .create(state(&[("count", "2")]), LONG)
        .await
        .expect("create");

    store.delete(&id).await.expect("delete");
    store.delete(&id).await.expect("a second delete is fine");
    store
        .delete(&SessionId::generate())
        .await
        .expect("deleting an unknown key is fine");

    assert_eq!(load(&store, &id).await, None);
    assert_eq!(
        load(&store, &kept).await,
        Some(state(&[("count", "2")])),
        "other sessions are untouched"
    );
}

pub async fn a_session_expires_after_its_lifetime_and_loads_do_not_extend_it(store: Store) {
    let id = store
        .create(state(&[("count", "1")]), SHORT)
        .await
        .expect("create");
    assert!(load(&store, &id).await.is_some(), "alive at first");

    // Loaded every 10 ms: were loads to restart the lifetime, this would
    // never end.
    wait_until_expired(&store, &id).await;
}

pub async fn increment_restarts_the_lifetime(store: Store) {
    let start = Instant::now();
    let (id, control) = (short_session(&store).await, short_session(&store).await);

    assert_eq!(
        store.increment(&id, "count", LONG).await.expect("incr"),
        Some(2)
    );
    outlive_short(start).await;

    assert_eq!(load(&store, &control).await, None, "unwritten, it expired");
    assert_eq!(load(&store, &id).await, Some(state(&[("count", "2")])));

    // The lifetime is set by the write, so a short one ends it again.
    store.increment(&id, "count", SHORT).await.expect("incr");
    wait_until_expired(&store, &id).await;
}

pub async fn replace_restarts_the_lifetime(store: Store) {
    let start = Instant::now();
    let (id, control) = (short_session(&store).await, short_session(&store).await);

    assert!(store
        .replace(&id, state(&[("count", "5")]), LONG)
        .await
        .expect("replace"));
    outlive_short(start).await;

    assert_eq!(load(&store, &control).await, None, "unwritten, it expired");
    assert_eq!(load(&store, &id).await, Some(state(&[("count", "5")])));

    assert!(store
        .replace(&id, state(&[("count", "6")]), SHORT)
        .await
        .expect("replace"));
    wait_until_expired(&store, &id).await;
}

pub async fn touch_restarts_the_lifetime(store: Store) {
    let start = Instant::now();
    let (id, control) = (short_session(&store).await, short_session(&store).await);

    store.touch(&id, LONG).await.expect("touch");
    outlive_short(start).await;

    assert_eq!(load(&store, &control).await, None, "untouched, it expired");
    assert_eq!(load(&store, &id).await, Some(state(&[("count", "1")])));

    store.touch(&id, SHORT).await.expect("touch");
    wait_until_expired(&store, &id).await;
}

pub async fn touch_never_creates_a_session(store: Store) {
    for (what, id) in missing_sessions(&store).await {
        store.touch(&id, LONG).await.expect("touch");
        assert_eq!(load(&store, &id).await, None, "{what} is not brought back");
    }
}

pub async fn renew_restarts_the_lifetime(store: Store) {
    let start = Instant::now();
    let old = store
        .create(state(&[("count", "1")]), SHORT)
        .await
        .expect("create");

    let new = store
        .renew(&old, state(&[("authenticated", "true")]), LONG, LONG)
        .await
        .expect("renew")
        .expect("a live session renews");
    outlive_short(start).await;

    assert_eq!(
        load(&store, &new).await,
        Some(state(&[("count", "1"), ("authenticated", "true")]))
    );
}
