//! Ending sessions on every store: by user (log out everywhere), and the
//! remembered ends with their own lifetimes.

use std::time::{Duration, Instant};

use actix_web::cookie::Key;
use session_bridge::{
    session::{DisplayName, RoomKey, SessionData, SessionId},
    store::{Ended, Store},
};

const LONG: Duration = Duration::from_secs(3600);

fn as_user(name: &str) -> SessionData {
    SessionData {
        count: 0,
        name: Some(name.to_owned()),
        authenticated: true,
    }
}

async fn create(store: &Store, data: &SessionData) -> SessionId {
    store
        .create(data.to_state(), LONG)
        .await
        .expect("the store creates")
}

async fn exists(store: &Store, id: &SessionId) -> bool {
    store.load(id).await.expect("the store loads").is_some()
}

pub async fn ending_a_user_deletes_every_session_logged_in_under_its_name(store: Store) {
    let first = create(&store, &as_user("alice")).await;
    let anonymous = create(&store, &SessionData::default()).await;
    let second = store
        .renew(
            &anonymous,
            SessionData::login_changes(&DisplayName::parse("alice").expect("a name")),
            LONG,
            LONG,
        )
        .await
        .expect("the store renews")
        .expect("a live session");
    let bob = create(&store, &as_user("bob")).await;
    // A session that logged in as alice and then as carol is carol's.
    let moved = create(&store, &as_user("alice")).await;
    let carol = store
        .renew(
            &moved,
            SessionData::login_changes(&DisplayName::parse("carol").expect("a name")),
            LONG,
            LONG,
        )
        .await
        .expect("the store renews")
        .expect("a live session");
    // A deleted session leaves the index.
    let deleted = create(&store, &as_user("alice")).await;
    store.delete(&deleted).await.expect("the store deletes");

    let ended = store
        .end_user("alice", LONG, None)
        .await
        .expect("the store ends a user");

    assert_eq!(ended, 2);
    assert!(!exists(&store, &first).await && !exists(&store, &second).await);
    for id in [&first, &second] {
        assert_eq!(
            store.ended(&store.room(id)).await.expect("a read"),
            Some(Ended::LoggedOut),
            "remembered as logged out in the same step"
        );
    }
    assert!(exists(&store, &bob).await && exists(&store, &carol).await);
    assert_eq!(store.ended(&store.room(&bob)).await.expect("a read"), None);
    assert_eq!(store.end_user("alice", LONG, None).await.expect("again"), 0);
}

pub async fn ending_a_user_can_spare_one_session_for_last(store: Store) {
    let mut ids = Vec::new();
    for _ in 0..5 {
        ids.push(create(&store, &as_user("dan")).await);
    }
    let own = ids[0].clone();
    let ended = store
        .end_user("dan", LONG, Some(&own))
        .await
        .expect("the store ends a user");
    assert_eq!(ended, 4);
    assert!(exists(&store, &own).await, "spared");
    for id in &ids[1..] {
        assert!(!exists(&store, id).await);
    }
    assert_eq!(
        store.end_user("dan", LONG, None).await.expect("the rest"),
        1
    );
    assert!(!exists(&store, &own).await);
}

pub async fn remembered_ends_last_their_own_lifetime(store: Store) {
    let rooms = RoomKey::new(&Key::generate());
    let (out, renewed, never) = (
        rooms.room(&SessionId::generate()),
        rooms.room(&SessionId::generate()),
        rooms.room(&SessionId::generate()),
    );
    let short = Duration::from_millis(300);
    store
        .remember_ended(&out, Ended::LoggedOut, LONG)
        .await
        .expect("the store remembers");
    store
        .remember_ended(&renewed, Ended::Renewed, short)
        .await
        .expect("the store remembers");
    assert_eq!(
        store.ended(&out).await.expect("a read"),
        Some(Ended::LoggedOut)
    );
    assert_eq!(
        store.ended(&renewed).await.expect("a read"),
        Some(Ended::Renewed)
    );
    assert_eq!(store.ended(&never).await.expect("a read"), None);

    let deadline = Instant::now() + Duration::from_secs(10);
    while store.ended(&renewed).await.expect("a read").is_some() {
        assert!(Instant::now() < deadline, "the renewal was never forgotten");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        store.ended(&out).await.expect("a read"),
        Some(Ended::LoggedOut)
    );
}
