//! `/socket.io/socket.io.js`, `.min.js` and their maps: the vendored
//! `socket.io-client` bundle, byte for byte, with the Node server's headers
//! (`Cache-Control: public, max-age=0`, the version as ETag), a bare 304 for
//! a client that holds it, and compression when asked for.

use reqwest::{header, Method, Response, StatusCode};

use crate::helpers::{spawn_app, TestApp};

/// Each served file: its path, its vendored file, its content type.
const FILES: [(&str, &str, &str); 4] = [
    (
        "/socket.io/socket.io.js",
        "socket.io.js",
        "application/javascript; charset=utf-8",
    ),
    (
        "/socket.io/socket.io.min.js",
        "socket.io.min.js",
        "application/javascript; charset=utf-8",
    ),
    (
        "/socket.io/socket.io.js.map",
        "socket.io.js.map",
        "application/json; charset=utf-8",
    ),
    (
        "/socket.io/socket.io.min.js.map",
        "socket.io.min.js.map",
        "application/json; charset=utf-8",
    ),
];

/// A file of `vendor/socket.io-client/`.
fn vendored(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/vendor/socket.io-client/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// `"<the vendored version>"`.
fn etag() -> String {
    let version = String::from_utf8(vendored("VERSION")).expect("a UTF-8 VERSION");
    format!("\"{}\"", version.trim())
}

/// `method path` with `headers`, by a client that asks for no compression
/// unless told to (reqwest without its gzip feature sends no
/// `Accept-Encoding`).
async fn request(app: &TestApp, method: Method, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", app.address));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.expect("a response")
}

/// A header's value as text, or "" when absent.
fn header_of(response: &Response, name: header::HeaderName) -> String {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("ASCII").to_owned())
        .unwrap_or_default()
}

#[actix_web::test]
async fn each_file_is_the_vendored_one_with_the_node_servers_headers() {
    let app = spawn_app().await;
    for (path, name, content_type) in FILES {
        let response = request(&app, Method::GET, path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header_of(&response, header::CONTENT_TYPE),
            content_type,
            "{path}"
        );
        assert_eq!(header_of(&response, header::ETAG), etag(), "{path}");
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "public, max-age=0",
            "{path}"
        );
        assert_eq!(header_of(&response, header::CONTENT_ENCODING), "", "{path}");
        assert!(
            response.headers().get(header::SET_COOKIE).is_none(),
            "{path}: a static file starts no session"
        );
        let body = response.bytes().await.expect("a body");
        assert!(
            body[..] == vendored(name)[..],
            "{path}: not the vendored bytes"
        );
    }
}

#[actix_web::test]
async fn a_client_holding_this_version_gets_a_bare_304() {
    let app = spawn_app().await;
    let strong = etag();
    let weak = format!("W/{strong}");
    for (path, _, _) in FILES {
        for held in [strong.as_str(), weak.as_str()] {
            let response = request(&app, Method::GET, path, &[("if-none-match", held)]).await;
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{path} {held}");
            for name in [
                header::ETAG,
                header::CACHE_CONTROL,
                header::CONTENT_TYPE,
                header::CONTENT_LENGTH,
            ] {
                assert!(
                    response.headers().get(&name).is_none(),
                    "{path} {held}: a bare 304 has no {name}"
                );
            }
            assert!(response.bytes().await.expect("a body").is_empty());
        }
    }
}

#[actix_web::test]
async fn another_version_or_a_list_gets_the_file() {
    // Node compares the header as a whole: `*` and lists are not matched.
    let app = spawn_app().await;
    let list = format!("\"0.0.1\", {}", etag());
    for held in ["\"0.0.1\"", "*", list.as_str(), "4.8.4"] {
        let response = request(
            &app,
            Method::GET,
            "/socket.io/socket.io.js",
            &[("if-none-match", held)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{held}");
    }
}

#[actix_web::test]
async fn a_query_string_and_any_method_are_served_as_node_does() {
    let app = spawn_app().await;
    let expected = vendored("socket.io.min.js");
    let path = "/socket.io/socket.io.min.js?v=4.8.4";
    for method in [Method::GET, Method::POST] {
        let response = request(&app, method.clone(), path, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{method}");
        let body = response.bytes().await.expect("a body");
        assert!(body[..] == expected[..], "{method}: not the vendored bytes");
    }
    let response = request(&app, Method::HEAD, path, &[]).await;
    assert_eq!(response.status(), StatusCode::OK, "HEAD");
    assert_eq!(header_of(&response, header::ETAG), etag(), "HEAD");
    assert!(response.bytes().await.expect("a body").is_empty(), "HEAD");
}

#[actix_web::test]
async fn the_bundle_is_compressed_when_the_client_asks() {
    let app = spawn_app().await;
    let original = vendored("socket.io.min.js").len();
    for (asked, magic) in [("gzip", &[0x1f_u8, 0x8b][..]), ("br", &[][..])] {
        let response = request(
            &app,
            Method::GET,
            "/socket.io/socket.io.min.js",
            &[("accept-encoding", asked)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{asked}");
        assert_eq!(header_of(&response, header::CONTENT_ENCODING), asked);
        assert_eq!(header_of(&response, header::ETAG), etag(), "{asked}");
        let body = response.bytes().await.expect("a body");
        assert!(body.starts_with(magic), "{asked}: not {asked}");
        assert!(
            body.len() < original / 2,
            "{asked}: {} bytes of {original}",
            body.len()
        );
    }
}

#[actix_web::test]
async fn each_file_is_measured_under_its_own_route() {
    let app = spawn_app().await;
    request(&app, Method::GET, "/socket.io/socket.io.js", &[]).await;
    let metrics = request(&app, Method::GET, "/metrics", &[])
        .await
        .text()
        .await
        .expect("a body");
    assert!(
        metrics.contains("http_route=\"/socket.io/socket.io.js\""),
        "{metrics}"
    );
}
