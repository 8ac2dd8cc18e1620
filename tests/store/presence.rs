//! Presence on every store: transitions decided once, the grace, idempotent
//! socket adds and removes, and (Redis) silent instances.

use std::time::Duration;

use session_bridge::store::{SocketChange, Store, Transition};

const NO_GRACE: Duration = Duration::ZERO;
const LONG_GRACE: Duration = Duration::from_secs(3600);
const KEEP: Duration = Duration::from_secs(3600);

/// Adds socket 1 of `user` on `instance`.
async fn join(store: &Store, user: &str, instance: &str) -> Option<Transition> {
    join_socket(store, user, instance, 1).await
}

async fn join_socket(store: &Store, user: &str, instance: &str, socket: u64) -> Option<Transition> {
    store
        .presence_sync(
            user,
            instance,
            SocketChange {
                remove: &[],
                add: &[socket],
            },
            NO_GRACE,
            KEEP,
        )
        .await
        .expect("the store adds a socket")
}

/// Removes socket 1 of `user` on `instance`.
async fn leave(store: &Store, user: &str, instance: &str, grace: Duration) -> Option<Transition> {
    leave_socket(store, user, instance, 1, grace).await
}

async fn leave_socket(
    store: &Store,
    user: &str,
    instance: &str,
    socket: u64,
    grace: Duration,
) -> Option<Transition> {
    store
        .presence_sync(
            user,
            instance,
            SocketChange {
                remove: &[socket],
                add: &[],
            },
            grace,
            KEEP,
        )
        .await
        .expect("the store removes a socket")
}

async fn online(store: &Store) -> Vec<String> {
    store
        .presence_roster()
        .await
        .expect("the store reads presence")
        .online
}

pub async fn the_first_socket_brings_a_user_online_once(store: Store) {
    let came = join(&store, "bob", "a").await.expect("bob came online");
    assert_eq!((came.user.as_str(), came.online), ("bob", true));
    assert_eq!(
        join_socket(&store, "bob", "a", 2).await,
        None,
        "a second socket"
    );
    assert_eq!(join(&store, "bob", "b").await, None, "a socket elsewhere");
    let alice = join(&store, "alice", "b").await.expect("alice came online");
    assert!(alice.version > came.version, "versions increase");
    assert_eq!(online(&store).await, ["alice", "bob"]);
    let roster = store
        .presence_roster()
        .await
        .expect("the store reads presence");
    assert_eq!(roster.version, alice.version);
}

pub async fn without_grace_the_last_socket_takes_the_user_offline_at_once(store: Store) {
    join(&store, "bob", "a").await;
    join(&store, "bob", "b").await;
    assert_eq!(leave(&store, "bob", "a", NO_GRACE).await, None);
    let went = leave(&store, "bob", "b", NO_GRACE)
        .await
        .expect("bob went offline");
    assert_eq!((went.user.as_str(), went.online), ("bob", false));
    assert!(online(&store).await.is_empty());
    assert_eq!(join(&store, "bob", "a").await.map(|t| t.online), Some(true));
}

pub async fn with_a_grace_offline_comes_from_a_sweep_and_a_return_cancels_it(store: Store) {
    join(&store, "bob", "a").await;
    assert_eq!(leave(&store, "bob", "a", LONG_GRACE).await, None);
    assert_eq!(online(&store).await, ["bob"], "online during the grace");
    let sweep = store.presence_sweep(LONG_GRACE).await.expect("a sweep");
    assert!(sweep.is_empty(), "the grace has not passed");
    // Back within the grace: nothing to announce, now or later.
    assert_eq!(join(&store, "bob", "a").await, None);
    let sweep = store.presence_sweep(NO_GRACE).await.expect("a sweep");
    assert!(sweep.is_empty(), "bob is back");
    // Ended again, and the grace (zero for the sweep) has passed.
    assert_eq!(leave(&store, "bob", "a", LONG_GRACE).await, None);
    let sweep = store.presence_sweep(NO_GRACE).await.expect("a sweep");
    assert_eq!(sweep.len(), 1);
    assert_eq!((sweep[0].user.as_str(), sweep[0].online), ("bob", false));
    assert!(store
        .presence_sweep(NO_GRACE)
        .await
        .expect("a sweep")
        .is_empty());
    assert!(online(&store).await.is_empty());
}

pub async fn adding_a_socket_twice_and_removing_it_once_takes_the_user_offline(store: Store) {
    assert!(join(&store, "bob", "a").await.is_some());
    assert_eq!(
        join(&store, "bob", "a").await,
        None,
        "the same socket again"
    );
    let went = leave(&store, "bob", "a", NO_GRACE).await;
    assert_eq!(went.map(|t| t.online), Some(false), "its one socket left");
    assert!(online(&store).await.is_empty());
    assert_eq!(
        store
            .presence_sockets("bob", "a")
            .await
            .expect("a read")
            .len(),
        0
    );
}

pub async fn removing_a_socket_never_added_is_harmless(store: Store) {
    assert_eq!(leave(&store, "nobody", "a", NO_GRACE).await, None);
    assert!(online(&store).await.is_empty(), "nobody came online");
    join_socket(&store, "bob", "a", 1).await;
    assert_eq!(leave_socket(&store, "bob", "a", 9, NO_GRACE).await, None);
    assert_eq!(online(&store).await, ["bob"], "bob keeps his socket");
    // A stray remove during the grace does not restart it.
    leave(&store, "bob", "a", LONG_GRACE).await;
    leave_socket(&store, "bob", "a", 9, LONG_GRACE).await;
    assert_eq!(
        store.presence_sweep(NO_GRACE).await.expect("a sweep").len(),
        1
    );
}

/// Redis only: an instance whose liveness key lapses counts as having no
/// sockets, and its users go offline after the grace.
pub async fn a_silent_instances_users_go_offline(store: Store) {
    let first = store
        .instance_alive("a", Duration::from_millis(200))
        .await
        .expect("a heartbeat");
    assert!(first, "a first heartbeat finds no key");
    assert!(!store
        .instance_alive("a", Duration::from_millis(200))
        .await
        .expect("a heartbeat"));
    join(&store, "bob", "a").await;
    join(&store, "carol", "b").await;
    store
        .instance_alive("b", Duration::from_secs(3600))
        .await
        .expect("a heartbeat");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let offline = loop {
        let swept = store.presence_sweep(NO_GRACE).await.expect("a sweep");
        if !swept.is_empty() {
            break swept;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "bob never went offline"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(offline.len(), 1);
    assert_eq!(
        (offline[0].user.as_str(), offline[0].online),
        ("bob", false)
    );
    assert_eq!(online(&store).await, ["carol"], "b is alive");
}
