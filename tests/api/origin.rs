//! The origin policy: foreign origins may not change a session (CSRF) nor
//! open a socket (cross-site WebSocket hijacking); same-origin and the origins
//! in `ALLOWED_ORIGINS` may, the latter with CORS headers.

use reqwest::{header, Method, Response, StatusCode};
use session_bridge::origin::Origin;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, Visitor};

const LISTED: &str = "http://localhost:4200";
const FOREIGN: &str = "http://evil.example";

/// An app that lists [`LISTED`] in `ALLOWED_ORIGINS`.
async fn spawn_app_allowing_listed() -> TestApp {
    spawn_app_with(|config| {
        config
            .allowed_origins
            .insert(Origin::parse(LISTED).expect("a valid origin"));
    })
    .await
}

/// The origins that must be refused by an app on `app.port`.
fn refused_origins(app: &TestApp) -> Vec<String> {
    vec![
        FOREIGN.to_owned(),
        format!("http://127.0.0.1:{}", wrong_port(app)),
        format!("https://127.0.0.1:{}", app.port),
        "null".to_owned(),
    ]
}

fn wrong_port(app: &TestApp) -> u16 {
    if app.port == u16::MAX {
        app.port - 1
    } else {
        app.port + 1
    }
}

fn same_origin(app: &TestApp) -> String {
    format!("http://127.0.0.1:{}", app.port)
}

/// `POST path` with an optional `Origin` header and, for `/login`, a valid body.
async fn post_from(visitor: &Visitor, path: &str, origin: Option<&str>) -> Response {
    let mut request = visitor
        .http
        .post(visitor.base.join(path).expect("a valid path"));
    if path == "/login" {
        request = request.json(&serde_json::json!({ "name": "Mallory" }));
    }
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.send().await.expect("the request is answered")
}

/// Checks a 403 with a JSON `{"error": "..."}` body that sets no cookie.
async fn assert_refused(response: Response, what: &str) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "{what}: a refused request sets no cookie"
    );
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    assert!(body["error"].is_string(), "{what}: body {body}");
}

fn header_value<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("an ASCII header"))
}

#[actix_web::test]
async fn a_foreign_increment_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let cookie = visitor.cookie_header();

    for origin in refused_origins(&app) {
        let response = post_from(&visitor, "/incr", Some(&origin)).await;
        assert_refused(response, &format!("POST /incr from {origin}")).await;
    }

    assert_eq!(visitor.cookie_header(), cookie);
    assert_eq!(visitor.incr().await, 2, "no refused increment counted");
}

#[actix_web::test]
async fn a_foreign_increment_without_a_session_creates_none() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    let response = post_from(&visitor, "/incr", Some(FOREIGN)).await;

    assert_refused(response, "POST /incr from a foreign origin").await;
    assert!(visitor.cookie_header().is_none());
}

#[actix_web::test]
async fn a_foreign_login_or_logout_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);
    let cookie = visitor.cookie_header();
    let (mut socket, _) = visitor.connect_and_greet().await;

    for path in ["/login", "/logout"] {
        for origin in refused_origins(&app) {
            let response = post_from(&visitor, path, Some(&origin)).await;
            assert_refused(response, &format!("POST {path} from {origin}")).await;
        }
    }

    assert_eq!(
        visitor.cookie_header(),
        cookie,
        "the key was neither renewed nor cleared"
    );
    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        serde_json::json!({"count": 1, "name": null, "authenticated": false}),
        "the session still exists, not logged in"
    );
    // The socket opened before was closed neither for a renewal nor a logout.
    assert_eq!(visitor.incr().await, 2);
    socket.wait_for_count(2).await;
}

#[actix_web::test]
async fn same_origin_writes_are_allowed() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let origin = same_origin(&app);

    let response = post_from(&visitor, "/incr", Some(&origin)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "1");

    let response = post_from(&visitor, "/login", Some(&origin)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let (_, greeting) = visitor.connect_and_greet().await;
    assert_eq!(
        greeting,
        serde_json::json!({"count": 1, "name": "Mallory", "authenticated": true})
    );

    let response = post_from(&visitor, "/logout", Some(&origin)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(visitor.incr().await, 1, "the session was logged out");
}

#[actix_web::test]
async fn writes_without_an_origin_are_allowed() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    let response = post_from(&visitor, "/incr", None).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.expect("a body"), "1");

    let response = post_from(&visitor, "/login", None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);

    let response = post_from(&visitor, "/logout", None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

#[actix_web::test]
async fn a_listed_origin_may_write_with_credentialed_cors_headers() {
    let app = spawn_app_allowing_listed().await;
    let visitor = app.visitor();

    let response = post_from(&visitor, "/incr", Some(LISTED)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header_value(&response, "access-control-allow-origin"),
        Some(LISTED)
    );
    assert_eq!(
        header_value(&response, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(response.text().await.expect("a body"), "1");

    let response = post_from(&visitor, "/login", Some(LISTED)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header_value(&response, "access-control-allow-origin"),
        Some(LISTED)
    );
    assert_eq!(
        header_value(&response, "access-control-allow-credentials"),
        Some("true")
    );

    let response = post_from(&visitor, "/logout", Some(LISTED)).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        header_value(&response, "access-control-allow-origin"),
        Some(LISTED)
    );
    assert_eq!(
        header_value(&response, "access-control-allow-credentials"),
        Some("true")
    );
}

#[actix_web::test]
async fn a_cors_preflight_from_a_listed_origin_succeeds() {
    let app = spawn_app_allowing_listed().await;
    let visitor = app.visitor();

    for path in ["/incr", "/login", "/logout"] {
        let response = visitor
            .http
            .request(Method::OPTIONS, visitor.base.join(path).expect("a path"))
            .header(header::ORIGIN, LISTED)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .send()
            .await
            .expect("the preflight is answered");

        assert!(
            response.status().is_success(),
            "preflight of {path}: {}",
            response.status()
        );
        assert_eq!(
            header_value(&response, "access-control-allow-origin"),
            Some(LISTED),
            "preflight of {path}"
        );
        assert_eq!(
            header_value(&response, "access-control-allow-credentials"),
            Some("true"),
            "preflight of {path}"
        );
        let methods = header_value(&response, "access-control-allow-methods")
            .expect("allowed methods")
            .to_ascii_uppercase();
        assert!(methods.contains("POST"), "preflight of {path}: {methods}");
    }
}

#[actix_web::test]
async fn a_foreign_origin_gets_no_cors_headers() {
    let app = spawn_app_allowing_listed().await;
    let visitor = app.visitor();

    let response = post_from(&visitor, "/incr", Some(FOREIGN)).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(header_value(&response, "access-control-allow-origin"), None);

    let response = visitor
        .http
        .get(visitor.base.join("/healthz").expect("a path"))
        .header(header::ORIGIN, FOREIGN)
        .send()
        .await
        .expect("GET /healthz");
    assert_eq!(header_value(&response, "access-control-allow-origin"), None);

    let response = visitor
        .http
        .request(Method::OPTIONS, visitor.base.join("/incr").expect("a path"))
        .header(header::ORIGIN, FOREIGN)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .send()
        .await
        .expect("the preflight is answered");
    assert_eq!(header_value(&response, "access-control-allow-origin"), None);
}

#[actix_web::test]
async fn an_unlisted_origin_is_still_refused_when_others_are_listed() {
    let app = spawn_app_allowing_listed().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);

    for origin in refused_origins(&app)
        .into_iter()
        .chain(["http://localhost:4201".to_owned()])
    {
        let response = post_from(&visitor, "/incr", Some(&origin)).await;
        assert_refused(response, &format!("POST /incr from {origin}")).await;
    }

    assert_eq!(visitor.incr().await, 2);
}

#[actix_web::test]
async fn a_foreign_websocket_handshake_is_refused_without_an_upgrade() {
    let app = spawn_app_allowing_listed().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);

    for origin in refused_origins(&app) {
        let result = visitor.try_connect(&[("Origin", &origin)]).await;
        assert_eq!(
            result.err(),
            Some(StatusCode::FORBIDDEN),
            "handshake from {origin}"
        );
    }
    app.wait_for_counts(0, 0).await;
}

#[actix_web::test]
async fn a_foreign_websocket_handshake_without_a_session_creates_none() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    let result = visitor.try_connect(&[("Origin", FOREIGN)]).await;

    assert_eq!(result.err(), Some(StatusCode::FORBIDDEN));
    assert!(visitor.cookie_header().is_none());
}

#[actix_web::test]
async fn listed_and_same_origin_websocket_handshakes_are_upgraded() {
    let app = spawn_app_allowing_listed().await;
    let visitor = app.visitor();
    assert_eq!(visitor.incr().await, 1);

    for origin in [LISTED.to_owned(), same_origin(&app)] {
        let mut socket = match visitor.try_connect(&[("Origin", &origin)]).await {
            Ok(socket) => socket,
            Err(status) => panic!("handshake from {origin} refused with {status}"),
        };
        let greeting = socket.expect_event("session").await;
        assert_eq!(greeting["count"], 1, "handshake from {origin}");
    }
}

#[actix_web::test]
async fn a_websocket_handshake_without_an_origin_is_upgraded() {
    let app = spawn_app().await;
    let visitor = app.visitor();

    let (_, greeting) = visitor.connect_and_greet().await;

    assert_eq!(greeting["count"], 0);
}

#[actix_web::test]
async fn same_origin_is_judged_against_the_host_header() {
    let app = spawn_app().await;
    let visitor = app.visitor();
    let host = format!("localhost:{}", app.port);
    let post = |origin: String| {
        visitor
            .http
            .post(visitor.base.join("/incr").expect("a path"))
            .header(header::HOST, host.as_str())
            .header(header::ORIGIN, origin)
            .send()
    };

    let response = post(format!("http://localhost:{}", app.port))
        .await
        .expect("POST /incr");
    assert_eq!(response.status(), StatusCode::OK, "Origin names the Host");

    let response = post(same_origin(&app)).await.expect("POST /incr");
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "Origin names another host than the Host header"
    );
}
