//! `/socket.io/socket.io.js`, `/socket.io/socket.io.min.js` and their source
//! maps: the browser bundle of `socket.io-client`, vendored in
//! `vendor/socket.io-client/` (see its README: version, license, update) and
//! embedded in the binary, served as the Node server serves its copy, so a
//! page written for it (`<script src="/socket.io/socket.io.js">`) loads it
//! unchanged.
//!
//! What the Node server (socket.io 4.8.4, `Server::serve`) does, and so do
//! we: any method; `Cache-Control: public, max-age=0`; `Content-Type`
//! `application/javascript` (maps: `application/json`) with
//! `charset=utf-8`; `ETag` the version, quoted; a bare 304 (no headers, no
//! body) when `If-None-Match` is exactly that ETag or its weak form; and
//! the body compressed as `Accept-Encoding` asks (actix's `Compress`, as
//! Node streams it through zlib). Not served: the ESM and msgpack builds it
//! also has (the msgpack one speaks a parser we do not).

use std::sync::LazyLock;

use actix_web::{
    body,
    http::header::{self, HeaderValue},
    middleware::Compress,
    web, HttpRequest, HttpResponse,
};

/// The vendored version (`vendor/socket.io-client/VERSION`, written by
/// `scripts/update-socketio-client`): the ETag of every file, as Node's
/// server uses its own version.
pub const VERSION: &str = include_str!("../../vendor/socket.io-client/VERSION").trim_ascii();

/// `"<VERSION>"`: an ETag is quoted (RFC 9110, 8.8.3).
static ETAG: LazyLock<HeaderValue> = LazyLock::new(|| {
    HeaderValue::from_str(&format!("\"{VERSION}\""))
        // VERSION is checked at compile time below to be a plain version.
        .unwrap_or_else(|_| HeaderValue::from_static("\"unknown\""))
});

/// One served file: its route (named after it), its bytes, its type.
struct File {
    pattern: &'static str,
    bytes: &'static [u8],
    content_type: &'static str,
}

const JAVASCRIPT: &str = "application/javascript; charset=utf-8";
const SOURCE_MAP: &str = "application/json; charset=utf-8";

/// The files, embedded at compile time (so the binary, and the Docker
/// image, need nothing at run time).
static FILES: [File; 4] = [
    File {
        pattern: "/socket.io/socket.io.js",
        bytes: include_bytes!("../../vendor/socket.io-client/socket.io.js"),
        content_type: JAVASCRIPT,
    },
    File {
        pattern: "/socket.io/socket.io.min.js",
        bytes: include_bytes!("../../vendor/socket.io-client/socket.io.min.js"),
        content_type: JAVASCRIPT,
    },
    File {
        pattern: "/socket.io/socket.io.js.map",
        bytes: include_bytes!("../../vendor/socket.io-client/socket.io.js.map"),
        content_type: SOURCE_MAP,
    },
    File {
        pattern: "/socket.io/socket.io.min.js.map",
        bytes: include_bytes!("../../vendor/socket.io-client/socket.io.min.js.map"),
        content_type: SOURCE_MAP,
    },
];

// A VERSION that is not digits and dots (a stray edit) fails the build, not
// a request.
const _: () = assert!(is_plain_version(VERSION), "vendor/socket.io-client/VERSION");

/// Whether `version` is non-empty digits and dots (`4.8.4`).
const fn is_plain_version(version: &str) -> bool {
    let bytes = version.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            return false;
        }
        i += 1;
    }
    !bytes.is_empty()
}

/// Registers one route per file, each named after its pattern (for the
/// metrics middleware) and answering any method, as Node does. Register it
/// before any catch-all under `/socket.io/`: routes match in order.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for file in &FILES {
        cfg.service(
            web::resource(file.pattern)
                .name(file.pattern)
                .wrap(Compress::default())
                .route(
                    web::route()
                        .to(move |request: HttpRequest| async move { serve(file, &request) }),
                ),
        );
    }
}

/// The file, or a bare 304 when the client already holds this version.
fn serve(file: &'static File, request: &HttpRequest) -> HttpResponse {
    if holds_this_version(request) {
        // Node's `res.writeHead(304)`: no ETag, no Cache-Control, and no
        // Content-Length either (`body::None`, not an empty body).
        return HttpResponse::NotModified().body(body::None::new());
    }
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=0"))
        .insert_header((header::CONTENT_TYPE, file.content_type))
        .insert_header((header::ETAG, ETAG.clone()))
        .body(file.bytes)
}

/// Node's test, exactly: `If-None-Match` equal to the ETag or to `W/` and
/// the ETag; no lists, no `*`.
fn holds_this_version(request: &HttpRequest) -> bool {
    let Some(value) = request.headers().get(header::IF_NONE_MATCH) else {
        return false;
    };
    let value = value.as_bytes();
    let etag = ETAG.as_bytes();
    value == etag || value.strip_prefix(b"W/") == Some(etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_is_the_bundles_own() {
        // Both bundles open with `Socket.IO v<version>`: VERSION was
        // written with the files it names.
        for file in &FILES[..2] {
            let head = String::from_utf8_lossy(&file.bytes[..64]);
            assert!(
                head.contains(&format!("Socket.IO v{VERSION}\n")),
                "{}: {head}",
                file.pattern
            );
        }
    }

    #[test]
    fn each_bundle_points_at_its_map() {
        for (bundle, map) in [(&FILES[0], &FILES[2]), (&FILES[1], &FILES[3])] {
            let name = map.pattern.trim_start_matches("/socket.io/");
            let tail = String::from_utf8_lossy(&bundle.bytes[bundle.bytes.len() - 64..]);
            assert!(
                tail.contains(&format!("//# sourceMappingURL={name}")),
                "{tail}"
            );
        }
    }

    #[test]
    fn plain_versions() {
        assert!(is_plain_version("4.8.4"));
        assert!(!is_plain_version(""));
        assert!(!is_plain_version("4.8.4\n"));
        assert!(!is_plain_version("4.8.4\"x"));
    }
}
