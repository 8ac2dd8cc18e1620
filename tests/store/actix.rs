//! The store as actix-session's `SessionStore`, on every store: the trait's
//! own calls, and the stock middleware (configured by `SessionCookie`)
//! sharing its sessions with the store's calls.

use std::time::{Duration, Instant};

use actix_session::storage::{SessionKey, SessionStore};
use actix_web::{
    cookie::{time, Cookie, Key},
    http::StatusCode,
    test::{self, TestRequest},
    web, App, HttpResponse,
};
use serde_json::{json, Value};
use session_bridge::{
    session::{keys, SessionCookie, SessionData, SessionId, TypedSession},
    store::Store,
};

use crate::{load, outlive_short, state, LONG, SHORT};

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

pub async fn the_session_store_trait_saves_loads_updates_and_deletes(store: Store) {
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

pub async fn the_session_store_trait_never_resurrects_a_session(store: Store) {
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

pub async fn the_session_store_trait_update_ttl_restarts_the_lifetime(store: Store) {
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
pub async fn the_session_middleware_shares_sessions_with_the_store(store: Store) {
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
