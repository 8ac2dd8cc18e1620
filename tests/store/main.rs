//! Acceptance suite for the [`Store`]: every check runs against every
//! backend. A backend joins the suite with one line in `stores!` at the
//! bottom: a name and an async constructor returning the store and whatever
//! must stay alive while it is used. A new store operation adds its checks
//! to the file of its part and to the list.
//!
//! - `sessions`: the session operations and lifetimes;
//! - `actix`: the store as actix-session's `SessionStore`, and its middleware;
//! - `ended`: ending a user's sessions, and the remembered ends;
//! - `lobby`: the lobby's log and its delivery;
//! - `presence`: sockets, transitions and the sweep.

mod actix;
mod ended;
mod lobby;
mod presence;
#[allow(dead_code)]
#[path = "../support/redis_server.rs"]
mod redis_server;
mod sessions;

use actix::*;
use ended::*;
use lobby::*;
use presence::*;
use sessions::*;

use std::{
    any::Any,
    future::Future,
    time::{Duration, Instant},
};

use actix_web::cookie::Key;
use session_bridge::{
    session::{RoomKey, SessionId, SessionState},
    store::{MemoryStore, RedisStore, Store},
};

/// A lifetime that ends within the test.
const SHORT: Duration = Duration::from_millis(200);
/// A lifetime that outlasts the test.
const LONG: Duration = Duration::from_secs(3600);
/// The longest any wait in this suite may take.
const WAIT: Duration = Duration::from_secs(10);
/// The key prefix of the Redis store under test.
const PREFIX: &str = "store-test:";

/// Whatever a store needs kept alive (a private Redis server, say).
type Keep = Box<dyn Any>;

// ---------------------------------------------------------------------------
// Stores under test
// ---------------------------------------------------------------------------

async fn memory() -> (Store, Keep) {
    (Store::Memory(MemoryStore::new()), Box::new(()))
}

async fn redis() -> (Store, Keep) {
    let (store, server) = redis_with_server().await;
    (Store::Redis(store), Box::new(server))
}

/// A Redis store and its private server, for the checks that also talk to
/// Redis directly.
async fn redis_with_server() -> (RedisStore, redis_server::RedisServer) {
    let server = redis_server::RedisServer::start();
    let client = ::redis::Client::open(server.url()).expect("a Redis URL");
    let rooms = RoomKey::new(&Key::generate());
    let store = RedisStore::new(client, PREFIX, rooms).expect("a Redis store");
    (store, server)
}

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

fn state(pairs: &[(&str, &str)]) -> SessionState {
    pairs
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

async fn load(store: &Store, id: &SessionId) -> Option<SessionState> {
    store.load(id).await.expect("the store loads")
}

/// Polls (with loads, which must not extend the lifetime) until the session
/// has expired, failing the test after [`WAIT`].
async fn wait_until_expired(store: &Store, id: &SessionId) {
    wait_until("the session to expire", || async {
        load(store, id).await.is_none()
    })
    .await;
}

async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sleeps until a lifetime of [`SHORT`] that began before `start` has
/// certainly ended (what happens then is for the caller to check).
async fn outlive_short(start: Instant) {
    let end = start + SHORT + Duration::from_millis(100);
    tokio::time::sleep(end.saturating_duration_since(Instant::now())).await;
}

// ---------------------------------------------------------------------------
// The suite: every check × every store
// ---------------------------------------------------------------------------

macro_rules! stores {
    ($($store:ident),* $(,)? ; $checks:tt) => {
        $( stores!(@one $store $checks); )*
    };
    (@one $store:ident [$($check:ident),* $(,)?]) => {
        mod $store {
            $(
                #[actix_web::test]
                async fn $check() {
                    let (store, _keep) = super::$store().await;
                    super::$check(store).await;
                }
            )*
        }
    };
}

stores! {
    // One line per store implementation.
    memory,
    redis;
    [
        create_then_load_round_trips,
        an_unknown_key_loads_nothing,
        replace_updates_a_live_session,
        replace_never_creates_a_session,
        increment_adds_one_and_starts_a_missing_field_at_one,
        increment_never_creates_a_session,
        increment_of_a_field_that_is_not_a_number_fails_and_changes_nothing,
        concurrent_increments_lose_nothing,
        renew_moves_the_session_to_a_new_key_with_changes_merged,
        renew_of_a_missing_session_is_none,
        delete_removes_the_session_and_tolerates_a_missing_one,
        a_session_expires_after_its_lifetime_and_loads_do_not_extend_it,
        increment_restarts_the_lifetime,
        replace_restarts_the_lifetime,
        touch_restarts_the_lifetime,
        touch_never_creates_a_session,
        renew_restarts_the_lifetime,
        the_session_store_trait_saves_loads_updates_and_deletes,
        the_session_store_trait_never_resurrects_a_session,
        the_session_store_trait_update_ttl_restarts_the_lifetime,
        the_session_middleware_shares_sessions_with_the_store,
        appends_get_increasing_positions_and_the_last_n_are_kept,
        with_nothing_to_keep_the_history_is_empty_but_positions_go_on,
        concurrent_appends_get_distinct_positions_in_history_order,
        the_first_socket_brings_a_user_online_once,
        without_grace_the_last_socket_takes_the_user_offline_at_once,
        with_a_grace_offline_comes_from_a_sweep_and_a_return_cancels_it,
        adding_a_socket_twice_and_removing_it_once_takes_the_user_offline,
        removing_a_socket_never_added_is_harmless,
        ending_a_user_deletes_every_session_logged_in_under_its_name,
        ending_a_user_can_spare_one_session_for_last,
        remembered_ends_last_their_own_lifetime,
    ]
}

// ---------------------------------------------------------------------------
// What only one backend has, or does its own way
// ---------------------------------------------------------------------------

/// Instances and their liveness exist only where there can be several.
#[actix_web::test]
async fn redis_drops_the_users_of_a_silent_instance() {
    let (store, _keep) = redis().await;
    a_silent_instances_users_go_offline(store).await;
}

/// With Redis an append is delivered through the events channel.
#[actix_web::test]
async fn redis_publishes_each_append_with_its_position_spliced_in() {
    let (store, server) = redis_with_server().await;
    redis_appends_publish(store, &server.url()).await;
}

/// The embedded store hands each append to the caller's delivery.
#[actix_web::test]
async fn the_memory_store_delivers_each_append_in_log_order() {
    memory_appends_deliver(MemoryStore::new()).await;
}

/// The embedded store frees the memory of expired sessions by itself.
#[actix_web::test]
async fn the_memory_sweeper_frees_expired_sessions() {
    let memory = MemoryStore::new();
    let store = Store::Memory(memory.clone());
    store
        .create(state(&[("count", "1")]), SHORT)
        .await
        .expect("create");
    let kept = store
        .create(state(&[("count", "2")]), LONG)
        .await
        .expect("create");
    assert_eq!(memory.len(), 2);

    memory.spawn_sweeper(Duration::from_millis(50));

    // Only `len` is asked: nothing loads the expired session (which would
    // remove it lazily), so only the sweep can free it.
    wait_until("the sweep", || async { memory.len() == 1 }).await;
    assert_eq!(load(&store, &kept).await, Some(state(&[("count", "2")])));
}
