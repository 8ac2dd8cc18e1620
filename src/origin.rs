//! The origin policy, shared by CORS, the guard on state-changing requests and
//! the WebSocket handshake, so the three can never disagree.
//!
//! Cookies ride along on cross-site requests, so without this check any page
//! on the web could `POST /logout` or open a socket as the visitor (CSRF and
//! cross-site WebSocket hijacking). Same-origin requests are always allowed;
//! other origins only when listed in `ALLOWED_ORIGINS`. `Origin: null` (sandboxed
//! frames, `file:` pages, some redirects) is never same-origin.

use std::{collections::HashSet, fmt, sync::Arc};

use actix_web::{dev::RequestHead, http::header};

/// A parsed web origin: scheme, host and port (default ports made explicit).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// Parses `scheme://host[:port]` (http or https, no path), case-insensitively.
    pub fn parse(value: &str) -> Result<Self, &'static str> {
        let (scheme, rest) = value
            .split_once("://")
            .ok_or("expected scheme://host[:port]")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return Err("the scheme must be http or https"),
        };
        Self::with_authority(scheme, rest, default_port)
    }

    /// Builds the origin a request was sent to, from its scheme and `Host` header.
    fn of_request(scheme: &str, host: &str) -> Option<Self> {
        let scheme = scheme.to_ascii_lowercase();
        let default_port = if scheme == "https" { 443 } else { 80 };
        Self::with_authority(scheme, host, default_port).ok()
    }

    fn with_authority(
        scheme: String,
        authority: &str,
        default_port: u16,
    ) -> Result<Self, &'static str> {
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err("expected only scheme://host[:port], without path or credentials");
        }
        // An IPv6 literal keeps its colons inside brackets.
        let (host, port) = match authority.rfind(':') {
            Some(at) if !authority[at..].contains(']') => {
                let port = authority[at + 1..]
                    .parse()
                    .map_err(|_| "the port must be a number from 0 to 65535")?;
                (&authority[..at], port)
            }
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return Err("the host is missing");
        }
        Ok(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// Which origins may send credentialed requests to this app.
#[derive(Clone, Debug, Default)]
pub struct OriginPolicy {
    allowed: Arc<HashSet<Origin>>,
}

impl OriginPolicy {
    /// A policy allowing same-origin requests and the listed origins.
    pub fn new(allowed: HashSet<Origin>) -> Self {
        Self {
            allowed: Arc::new(allowed),
        }
    }

    /// Whether `origin` is in `ALLOWED_ORIGINS` (used by CORS).
    pub fn is_listed(&self, origin: &header::HeaderValue) -> bool {
        origin
            .to_str()
            .ok()
            .and_then(|value| Origin::parse(value).ok())
            .is_some_and(|origin| self.allowed.contains(&origin))
    }

    /// Whether the request may act on the visitor's session: no `Origin`
    /// header (not a browser's cross-site request), same-origin, or listed.
    pub fn permits(&self, head: &RequestHead, scheme: &str) -> bool {
        let Some(origin) = head.headers().get(header::ORIGIN) else {
            return true;
        };
        if self.is_listed(origin) {
            return true;
        }
        let Some(origin) = origin.to_str().ok().and_then(|v| Origin::parse(v).ok()) else {
            return false; // includes `null`
        };
        head.headers()
            .get(header::HOST)
            .and_then(|host| host.to_str().ok())
            .and_then(|host| Origin::of_request(scheme, host))
            .is_some_and(|target| target == origin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn permits(policy: &OriginPolicy, origin: Option<&str>, host: &str) -> bool {
        let mut req = TestRequest::post().insert_header((header::HOST, host));
        if let Some(origin) = origin {
            req = req.insert_header((header::ORIGIN, origin));
        }
        policy.permits(req.to_http_request().head(), "http")
    }

    #[test]
    fn parses_and_normalises_origins() {
        let a = Origin::parse("HTTP://LocalHost").expect("valid");
        let b = Origin::parse("http://localhost:80").expect("valid");
        assert_eq!(a, b);
        assert!(Origin::parse("http://[::1]:4200").is_ok());
        for bad in [
            "localhost:4200",
            "ftp://x",
            "http://",
            "http://a/b",
            "http://a:x",
            "null",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn same_origin_and_listed_origins_are_permitted() {
        let listed = Origin::parse("http://localhost:4200").expect("valid");
        let policy = OriginPolicy::new(HashSet::from([listed]));
        assert!(permits(&policy, None, "localhost:3000"));
        assert!(permits(
            &policy,
            Some("http://localhost:3000"),
            "localhost:3000"
        ));
        assert!(permits(
            &policy,
            Some("http://localhost:4200"),
            "localhost:3000"
        ));
    }

    #[test]
    fn foreign_origins_wrong_ports_and_null_are_refused() {
        let policy = OriginPolicy::default();
        assert!(!permits(
            &policy,
            Some("http://evil.example"),
            "localhost:3000"
        ));
        assert!(!permits(
            &policy,
            Some("http://localhost:3001"),
            "localhost:3000"
        ));
        assert!(!permits(
            &policy,
            Some("https://localhost:3000"),
            "localhost:3000"
        ));
        assert!(!permits(&policy, Some("null"), "localhost:3000"));
    }
}
