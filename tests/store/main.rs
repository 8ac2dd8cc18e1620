//! Acceptance suite for the session [`Store`]: every check runs against every
//! store implementation. A store joins the suite with one line in
//! `stores!` at the bottom: a name and an async constructor returning the
//! store and whatever must stay alive while it is used.

mod ended;
mod lobby;
mod presence;
#[allow(dead_code)]
#[path = "../support/redis_server.rs"]
mod redis_server;

use ended::*;
use lobby::*;
use presence::*;

use std::{
    any::Any,
    collections::BTreeSet,
    future::Future,
    time::{Duration, Instant},
};

use actix_session::storage::{SessionKey, SessionStore};
use actix_web::{
    cookie::{time, Cookie, Key},
    http::StatusCode,
    test::{self, TestRequest},
    web, App, HttpResponse,
};
use serde_json::{json, Value};
use session_bridge::{
    session::{keys, RoomKey, SessionCookie, SessionData, SessionId, SessionState, TypedSession},
    store::{Ended, MemoryStore, RedisStore, Store},
};

/// A lifetime that ends within the test.
const SHORT: Duration = Duration::from_millis(200);
/// A lifetime that outlasts the test.
const LONG: Duration = Duration::from_secs(3600);
/// The longest any wait in this suite may take.
const WAIT: Duration = Duration::from_secs(10);

/// Whatever a store needs kept alive (a private Redis server, say).
type Keep = Box<dyn Any>;

// ---------------------------------------------------------------------------
// Stores under test
// ---------------------------------------------------------------------------

async fn memory() -> (Store, Keep) {
    (Store::Memory(MemoryStore::new()), Box::new(()))
}

async fn redis() -> (Store, Keep) {
    let server = redis_server::RedisServer::start();
    let client = ::redis::Client::open(server.url()).expect("a Redis URL");
    let rooms = RoomKey::new(&Key::generate());
    let store = RedisStore::new(client, "store-test:", rooms).expect("a Redis store");
    (Store::Redis(store), Box::new(server))
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

fn a_key() -> SessionKey {
    SessionKey::try_from(SessionId::generate().as_str().to_owned()).expect("a valid key")
}

/// `SessionKey` is not `Clone`.
fn copy(key: &SessionKey) -> SessionKey {
    SessionKey::try_from(key.as_ref().to_owned()).expect("a valid key")
}

fn time_ttl(ttl: Duration) -> time::Duration {
    time::Duration::try_from(ttl).expect("a small ttl")
}

// ---------------------------------------------------------------------------
// Checks: each takes a fresh, empty store
// ---------------------------------------------------------------------------

async fn create_then_load_round_trips(store: Store) {
    let saved = state(&[("count", "7"), ("name", "\"Ada\"")]);
    let id = store.create(saved.clone(), LONG).await.expect("create");
    let other = store.create(saved.clone(), LONG).await.expect("create");

    assert_ne!(id, other, "every session gets its own key");
    assert_eq!(load(&store, &id).await, Some(saved.clone()));
    assert_eq!(load(&store, &other).await, Some(saved));
}

async fn an_unknown_key_loads_nothing(store: Store) {
    assert_eq!(load(&store, &SessionId::generate()).await, None);
}

async fn replace_updates_a_live_session(store: Store) {
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

async fn replace_never_creates_a_session(store: Store) {
    for (what, id) in missing_sessions(&store).await {
        let replaced = store
            .replace(&id, state(&[("count", "2")]), LONG)
            .await
            .expect("replace");
        assert!(!replaced, "{what} is not replaced");
        assert_eq!(load(&store, &id).await, None, "{what} is not brought back");
    }
}

async fn increment_adds_one_and_starts_a_missing_field_at_one(store: Store) {
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

async fn increment_never_creates_a_session(store: Store) {
    for (what, id) in missing_sessions(&store).await {
        let count = store.increment(&id, "count", LONG).await.expect("incr");
        assert_eq!(count, None, "{what} is not incremented");
        assert_eq!(load(&store, &id).await, None, "{what} is not brought back");
    }
}

async fn increment_of_a_field_that_is_not_a_number_fails_and_changes_nothing(store: Store) {
    let saved = state(&[("count", "\"seven\"")]);
    let id = store.create(saved.clone(), LONG).await.expect("create");

    let result = store.increment(&id, "count", LONG).await;

    assert!(result.is_err(), "got {result:?}");
    assert_eq!(load(&store, &id).await, Some(saved));
}

/// 50 writers × 20 increments, spread over several threads (each with its
/// own runtime), so the store sees truly simultaneous calls.
async fn concurrent_increments_lose_nothing(store: Store) {
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

async fn renew_moves_the_session_to_a_new_key_with_changes_merged(store: Store) {
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

async fn renew_of_a_missing_session_is_none(store: Store) {
    for (what, id) in missing_sessions(&store).await {
        let renewed = store
            .renew(&id, state(&[("name", "\"Ada\"")]), LONG, LONG)
            .await
            .expect("renew");
        assert_eq!(renewed, None, "{what} is not renewed");
        assert_eq!(load(&store, &id).await, None, "{what} is not brought back");
    }
}

async fn delete_removes_the_session_and_tolerates_a_missing_one(store: Store) {
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

async fn a_session_expires_after_its_lifetime_and_loads_do_not_extend_it(store: Store) {
    let id = store
        .create(state(&[("count", "1")]), SHORT)
        .await
        .expect("create");
    assert!(load(&store, &id).await.is_some(), "alive at first");

    // Loaded every 10 ms: were loads to restart the lifetime, this would
    // never end.
    wait_until_expired(&store, &id).await;
}

async fn increment_restarts_the_lifetime(store: Store) {
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

async fn replace_restarts_the_lifetime(store: Store) {
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

async fn touch_restarts_the_lifetime(store: Store) {
    let start = Instant::now();
    let (id, control) = (short_session(&store).await, short_session(&store).await);

    store.touch(&id, LONG).await.expect("touch");
    outlive_short(start).await;

    assert_eq!(load(&store, &control).await, None, "untouched, it expired");
    assert_eq!(load(&store, &id).await, Some(state(&[("count", "1")])));

    store.touch(&id, SHORT).await.expect("touch");
    wait_until_expired(&store, &id).await;
}

async fn touch_never_creates_a_session(store: Store) {
    for (what, id) in missing_sessions(&store).await {
        store.touch(&id, LONG).await.expect("touch");
        assert_eq!(load(&store, &id).await, None, "{what} is not brought back");
    }
}

async fn renew_restarts_the_lifetime(store: Store) {
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

async fn the_session_store_trait_saves_loads_updates_and_deletes(store: Store) {
    let saved = state(&[("count", "1")]);
    let key = SessionStore::save(&store, saved.clone(), &time_ttl(LONG))
        .await
        .expect("save");
    assert_eq!(
        SessionStore::load(&store, &key).await.expect("load"),
        Some(saved)
    );
    assert_eq!(
        store.load(&SessionId::from(&key)).await.expect("load"),
        Some(state(&[("count", "1")])),
        "the trait and the store see one session"
    );

    let key_text: String = key.as_ref().to_owned();
    let updated = SessionStore::update(&store, key, state(&[("count", "2")]), &time_ttl(LONG))
        .await
        .expect("update a live session");
    assert_eq!(updated.as_ref(), key_text, "an update keeps the key");
    assert_eq!(
        SessionStore::load(&store, &updated).await.expect("load"),
        Some(state(&[("count", "2")]))
    );

    SessionStore::delete(&store, &updated)
        .await
        .expect("delete");
    assert_eq!(
        SessionStore::load(&store, &updated).await.expect("load"),
        None
    );
    assert_eq!(
        SessionStore::load(&store, &a_key()).await.expect("load"),
        None
    );
}

async fn the_session_store_trait_never_resurrects_a_session(store: Store) {
    let unknown = a_key();
    let result = SessionStore::update(
        &store,
        copy(&unknown),
        state(&[("count", "1")]),
        &time_ttl(LONG),
    )
    .await;
    assert!(result.is_err(), "updating an unknown key fails");
    assert_eq!(
        SessionStore::load(&store, &unknown).await.expect("load"),
        None
    );

    let key = SessionStore::save(&store, state(&[("count", "1")]), &time_ttl(LONG))
        .await
        .expect("save");
    SessionStore::delete(&store, &key).await.expect("delete");
    let result = SessionStore::update(
        &store,
        copy(&key),
        state(&[("count", "2")]),
        &time_ttl(LONG),
    )
    .await;
    assert!(result.is_err(), "updating a deleted session fails");
    assert_eq!(SessionStore::load(&store, &key).await.expect("load"), None);

    SessionStore::update_ttl(&store, &key, &time_ttl(LONG))
        .await
        .expect("update_ttl of a missing session is harmless");
    assert_eq!(SessionStore::load(&store, &key).await.expect("load"), None);
}

async fn the_session_store_trait_update_ttl_restarts_the_lifetime(store: Store) {
    let start = Instant::now();
    let key = SessionStore::save(&store, state(&[("count", "1")]), &time_ttl(SHORT))
        .await
        .expect("save");

    SessionStore::update_ttl(&store, &key, &time_ttl(LONG))
        .await
        .expect("update_ttl");
    outlive_short(start).await;

    assert_eq!(
        SessionStore::load(&store, &key).await.expect("load"),
        Some(state(&[("count", "1")]))
    );
}

/// actix-session's middleware, configured by `SessionCookie`, and a handler
/// using `TypedSession` share their sessions with the store's own calls.
async fn the_session_middleware_shares_sessions_with_the_store(store: Store) {
    let cookie = SessionCookie::new(Key::generate(), false);
    let app = test::init_service(
        App::new()
            .wrap(cookie.middleware(store.clone(), LONG))
            .route("/show", web::get().to(show))
            .route("/start", web::post().to(start)),
    )
    .await;

    // A session created through the store, handed out by `SessionCookie::set`.
    let ada = SessionData {
        count: 7,
        name: Some("Ada".to_owned()),
        authenticated: true,
    };
    let id = store.create(ada.to_state(), LONG).await.expect("create");
    let ada_cookie = cookie_for(&cookie, &id);

    let shown = get_show(&app, Some(ada_cookie.clone())).await;
    assert_eq!(
        shown,
        json!({"count": 7, "name": "Ada", "authenticated": true})
    );

    // The store's own writes are what the middleware reads next.
    assert_eq!(
        store.increment(&id, keys::COUNT, LONG).await.expect("incr"),
        Some(8)
    );
    assert_eq!(get_show(&app, Some(ada_cookie.clone())).await["count"], 8);

    // A new visitor gets a session through the middleware; our cookie code
    // finds its key and the store holds it.
    let response = test::call_service(&app, TestRequest::post().uri("/start").to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    let new_cookie = response
        .response()
        .cookies()
        .find(|cookie| cookie.name() == session_bridge::session::COOKIE_NAME)
        .expect("the middleware sets the session cookie")
        .into_owned();
    let request = TestRequest::default()
        .cookie(new_cookie.clone())
        .to_http_request();
    let new_id = cookie
        .session_id(&request)
        .expect("SessionCookie reads the middleware's cookie");
    assert_ne!(new_id, id);
    let saved = load(&store, &new_id).await.expect("the store has it");
    assert_eq!(SessionData::from_state(&saved), SessionData::default());
    assert_eq!(
        store
            .increment(&new_id, keys::COUNT, LONG)
            .await
            .expect("incr"),
        Some(1)
    );
    assert_eq!(get_show(&app, Some(new_cookie)).await["count"], 1);

    // A session deleted in the store is no session to the middleware, and a
    // request through it does not bring it back.
    store.delete(&id).await.expect("delete");
    assert_eq!(
        get_show(&app, Some(ada_cookie.clone())).await,
        json!({"count": 0, "name": null, "authenticated": false})
    );
    let response = test::call_service(
        &app,
        TestRequest::post()
            .uri("/start")
            .cookie(ada_cookie)
            .to_request(),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        load(&store, &id).await,
        None,
        "the deleted key stays deleted"
    );
}

async fn show(session: TypedSession) -> HttpResponse {
    HttpResponse::Ok().json(session.data().expect("readable session data"))
}

async fn start(session: TypedSession) -> HttpResponse {
    session.ensure().expect("a session starts");
    HttpResponse::Ok().json(session.data().expect("readable session data"))
}

async fn get_show<S, B>(app: &S, cookie: Option<Cookie<'static>>) -> Value
where
    S: actix_web::dev::Service<
        actix_http::Request,
        Response = actix_web::dev::ServiceResponse<B>,
        Error = actix_web::Error,
    >,
    B: actix_web::body::MessageBody,
{
    let mut request = TestRequest::get().uri("/show");
    if let Some(cookie) = cookie {
        request = request.cookie(cookie);
    }
    let response = test::call_service(app, request.to_request()).await;
    assert_eq!(response.status(), StatusCode::OK);
    test::read_body_json(response).await
}

/// The session cookie `SessionCookie::set` writes for `id`.
fn cookie_for(cookie: &SessionCookie, id: &SessionId) -> Cookie<'static> {
    let mut response = HttpResponse::Ok().finish();
    cookie.set(&mut response, id).expect("the cookie is set");
    let set_cookie = response
        .headers()
        .get(actix_web::http::header::SET_COOKIE)
        .expect("a Set-Cookie header")
        .to_str()
        .expect("ASCII")
        .to_owned();
    Cookie::parse(set_cookie).expect("a valid Set-Cookie")
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

/// Instances and their liveness exist only where there can be several.
#[actix_web::test]
async fn redis_drops_the_users_of_a_silent_instance() {
    let (store, _keep) = redis().await;
    a_silent_instances_users_go_offline(store).await;
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
