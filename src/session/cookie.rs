//! The session cookie, configured once for actix-session's middleware and for
//! our own code alike.
//!
//! actix-session keeps the session key private to its middleware. Sockets and
//! the atomic routes need it, so this module decodes the cookie exactly as the
//! middleware does (a private, encrypted cookie read through a `CookieJar`)
//! and writes it the same way, from one configuration so the two never drift.

use std::time::Duration;

use actix_session::{
    config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy},
    storage::{SessionKey, SessionStore},
    SessionMiddleware,
};
use actix_web::{
    cookie::{time, Cookie, CookieJar, Key, SameSite},
    HttpRequest, HttpResponse,
};

use super::SessionId;

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "session";

/// The session cookie could not be written into a response (a server-side
/// fault: nothing a client sends causes it).
#[derive(Debug, thiserror::Error)]
#[error("cannot write the session cookie: {0:#}")]
pub struct CookieError(anyhow::Error);

/// How the session cookie is named, encrypted and flagged.
#[derive(Clone)]
pub struct SessionCookie {
    key: Key,
    secure: bool,
}

impl SessionCookie {
    /// A cookie encrypted with `key`, `Secure` when `secure`.
    pub fn new(key: Key, secure: bool) -> Self {
        Self { key, secure }
    }

    /// actix-session's middleware over `store` (any session store: the app's
    /// `Store` is one), with this cookie. The cookie lives as long as the
    /// browser session; the store expires idle sessions after `ttl`, and only
    /// writes extend it.
    pub fn middleware<S: SessionStore>(&self, store: S, ttl: Duration) -> SessionMiddleware<S> {
        let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX);
        SessionMiddleware::builder(store, self.key.clone())
            .cookie_name(COOKIE_NAME.to_owned())
            .cookie_secure(self.secure)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_owned())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(
                BrowserSession::default()
                    .state_ttl(ttl)
                    .state_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges),
            )
            .build()
    }

    /// The session key the request's cookie carries, if the cookie is present,
    /// decrypts with our key and holds a well-formed key. Whether that
    /// session exists is for the store to say.
    pub fn session_id(&self, req: &HttpRequest) -> Option<SessionId> {
        let cookie = req.cookie(COOKIE_NAME)?;
        let mut jar = CookieJar::new();
        jar.add_original(cookie);
        let value = jar.private(&self.key).get(COOKIE_NAME)?;
        let key = SessionKey::try_from(value.value().to_owned()).ok()?;
        Some(SessionId::from(&key))
    }

    /// Adds the `Set-Cookie` that hands the session `id` to the browser.
    pub fn set(&self, response: &mut HttpResponse, id: &SessionId) -> Result<(), CookieError> {
        let mut jar = CookieJar::new();
        jar.private_mut(&self.key)
            .add(self.build(id.as_str().to_owned()));
        let cookie = jar.delta().next().ok_or_else(|| {
            CookieError(anyhow::anyhow!("the cookie jar lost the session cookie"))
        })?;
        response
            .add_cookie(cookie)
            .map_err(|err| CookieError(err.into()))
    }

    /// Adds the `Set-Cookie` that removes the session cookie.
    pub fn clear(&self, response: &mut HttpResponse) -> Result<(), CookieError> {
        response
            .add_removal_cookie(&self.build(String::new()))
            .map_err(|err| CookieError(err.into()))
    }

    fn build(&self, value: String) -> Cookie<'static> {
        Cookie::build(COOKIE_NAME, value)
            .path("/")
            .secure(self.secure)
            .http_only(true)
            .same_site(SameSite::Lax)
            .finish()
    }
}
