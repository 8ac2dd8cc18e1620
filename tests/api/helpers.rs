//! Test harness: the real application on port 0, real HTTP clients with
//! cookie jars (one per visitor, like separate browsers) and real WebSocket
//! clients that send the visitor's cookie. Every wait is bounded.

use std::{future::Future, sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use reqwest::{
    cookie::{CookieStore, Jar},
    header, Response, StatusCode, Url,
};
use serde_json::Value;
use session_bridge::{
    config::Config,
    session::{SessionCookie, SessionId},
    startup::Application,
    store::Store,
};
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{
        self,
        client::IntoClientRequest,
        protocol::{frame::coding::CloseCode, CloseFrame},
        Message,
    },
    MaybeTlsStream, WebSocketStream,
};

/// The longest any single wait in a test may take.
pub const WAIT: Duration = Duration::from_secs(10);

/// A secret shared by test instances (at least 64 bytes).
pub const TEST_SECRET: &str =
    "test-secret-test-secret-test-secret-test-secret-test-secret-test-secret";

/// The default test configuration: the contract's defaults on port 0.
pub fn test_config() -> Config {
    let mut config = Config::from_lookup(|name| match name {
        "PORT" => Some("0".to_owned()),
        "SESSION_SECRET" => Some(TEST_SECRET.to_owned()),
        _ => None,
    })
    .expect("the test configuration is valid");
    config.port = 0;
    // Tests post as fast as they can; the chat rate's own test lowers it.
    config.chat_rate = 10_000;
    // Each presence change in a frame of its own, at once, so a test can
    // expect one frame per transition; the batching tests set their own.
    config.presence_batch = Duration::ZERO;
    config
}

/// A running application.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The bound port.
    pub port: u16,
    /// The app's own store, to act behind its back (no fan-out).
    pub store: Store,
    cookie: SessionCookie,
}

/// Starts the app with the default test configuration.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app with the test configuration changed by `change`.
pub async fn spawn_app_with(change: impl FnOnce(&mut Config)) -> TestApp {
    let _ = env_logger::builder().is_test(true).try_init();
    let mut config = test_config();
    change(&mut config);
    let cookie = SessionCookie::new(config.secret.key.clone(), config.cookie_secure);
    let app = Application::build(config)
        .await
        .expect("the application starts");
    let port = app.port();
    let store = app.sessions().store().clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        store,
        cookie,
    }
}

impl TestApp {
    /// A new visitor: its own cookie jar, like a separate browser.
    pub fn visitor(&self) -> Visitor {
        Visitor::new(&self.address)
    }

    /// The session key inside the visitor's cookie.
    pub fn session_id(&self, visitor: &Visitor) -> SessionId {
        let cookie = visitor.cookie_header().expect("the visitor has a cookie");
        let request = actix_web::test::TestRequest::default()
            .insert_header(("cookie", cookie.to_str().expect("ASCII cookies")))
            .to_http_request();
        self.cookie
            .session_id(&request)
            .expect("the cookie holds a session key")
    }

    /// `GET /healthz` as JSON, with its status.
    pub async fn health(&self) -> (StatusCode, Value) {
        let response = reqwest::get(format!("{}/healthz", self.address))
            .await
            .expect("GET /healthz");
        let status = response.status();
        (status, response.json().await.expect("health is JSON"))
    }

    /// Waits until `/healthz` reports `sockets` sockets and `sessions` sessions.
    pub async fn wait_for_counts(&self, sockets: u64, sessions: u64) {
        wait_until("the registry counts", || async {
            let (_, health) = self.health().await;
            health["sockets"] == sockets && health["sessions"] == sessions
        })
        .await;
    }
}

/// Polls `check` until it holds, failing the test after [`WAIT`].
pub async fn wait_until<F, Fut>(what: &str, check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_until_within(WAIT, what, check).await;
}

/// Polls `check` until it holds, failing the test after `bound` (for waits
/// the contract makes longer than [`WAIT`], such as expiry or heartbeats).
pub async fn wait_until_within<F, Fut>(bound: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + bound;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out after {bound:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Bounds a wait as a whole: one that reads many frames (each bounded on
/// its own) or makes many requests.
pub async fn within<T>(bound: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(bound, future)
        .await
        .unwrap_or_else(|_| panic!("timed out after {bound:?} waiting for {what}"))
}

/// One browser: an HTTP client with a cookie jar, and sockets that share it.
pub struct Visitor {
    pub base: Url,
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
}

impl Visitor {
    /// A visitor of the app at `address`, with an empty cookie jar.
    pub fn new(address: &str) -> Self {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .timeout(WAIT)
            .build()
            .expect("an HTTP client");
        Self {
            base: Url::parse(address).expect("a valid address"),
            http,
            jar,
        }
    }

    /// A visitor of another instance that carries this visitor's cookies
    /// (as a browser would, behind a load balancer).
    pub fn at(&self, address: &str) -> Self {
        let other = Self::new(address);
        if let Some(cookie) = self.cookie_header() {
            let cookies = cookie.to_str().expect("ASCII cookies").to_owned();
            for pair in cookies.split("; ") {
                other.jar.add_cookie_str(pair, &other.base);
            }
        }
        other
    }

    fn url(&self, path: &str) -> Url {
        self.base.join(path).expect("a valid path")
    }

    /// The `Cookie` header this visitor sends, if it has cookies.
    pub fn cookie_header(&self) -> Option<header::HeaderValue> {
        self.jar.cookies(&self.base)
    }

    /// `GET /`.
    pub async fn get_index(&self) -> Response {
        self.http.get(self.url("/")).send().await.expect("GET /")
    }

    /// `POST /incr`.
    pub async fn post_incr(&self) -> Response {
        self.http
            .post(self.url("/incr"))
            .send()
            .await
            .expect("POST /incr")
    }

    /// `POST /incr`, expecting 200, returning the new count.
    pub async fn incr(&self) -> u64 {
        let response = self.post_incr().await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = response.text().await.expect("a body");
        body.parse().expect("the body is a number")
    }

    /// `POST /login` with a JSON body.
    pub async fn post_login(&self, body: &Value) -> Response {
        self.http
            .post(self.url("/login"))
            .json(body)
            .send()
            .await
            .expect("POST /login")
    }

    /// Logs in as `name`, expecting 204.
    pub async fn login(&self, name: &str) {
        let response = self.post_login(&serde_json::json!({ "name": name })).await;
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
    }

    /// `POST /logout/everywhere`.
    pub async fn post_logout_everywhere(&self) -> Response {
        self.http
            .post(self.url("/logout/everywhere"))
            .send()
            .await
            .expect("POST /logout/everywhere")
    }

    /// `POST /logout`.
    pub async fn post_logout(&self) -> Response {
        self.http
            .post(self.url("/logout"))
            .send()
            .await
            .expect("POST /logout")
    }

    /// Opens a socket with this visitor's cookie, expecting the upgrade; a
    /// cookie set by the handshake goes into the jar.
    pub async fn connect(&self) -> Socket {
        match self.try_connect(&[]).await {
            Ok(socket) => socket,
            Err(status) => panic!("the handshake was refused with {status}"),
        }
    }

    /// Opens a socket with extra headers; on refusal, the HTTP status.
    pub async fn try_connect(&self, headers: &[(&str, &str)]) -> Result<Socket, StatusCode> {
        let mut url = self.url("/ws");
        url.set_scheme("ws").expect("ws scheme");
        let mut request = url.as_str().into_client_request().expect("a ws request");
        if let Some(cookie) = self.cookie_header() {
            request.headers_mut().insert(header::COOKIE, cookie);
        }
        for (name, value) in headers {
            request.headers_mut().insert(
                header::HeaderName::from_bytes(name.as_bytes()).expect("a header name"),
                header::HeaderValue::from_str(value).expect("a header value"),
            );
        }
        let connect = tokio_tungstenite::connect_async(request);
        match tokio::time::timeout(WAIT, connect)
            .await
            .expect("the handshake answers")
        {
            Ok((stream, response)) => {
                let mut set_cookies = response.headers().get_all(header::SET_COOKIE).iter();
                self.jar.set_cookies(&mut set_cookies, &self.base);
                Ok(Socket { stream })
            }
            Err(tungstenite::Error::Http(response)) => Err(response.status()),
            Err(err) => panic!("the handshake failed: {err}"),
        }
    }

    /// Opens a socket and reads its opening frames; returns the `session`
    /// frame's data.
    pub async fn connect_and_greet(&self) -> (Socket, Value) {
        let (socket, greeting) = self.connect_to_lobby().await;
        (socket, greeting.session)
    }

    /// Opens a socket and reads its opening frames, checking their order:
    /// `session`, `presence state`, `chat history`.
    pub async fn connect_to_lobby(&self) -> (Socket, Greeting) {
        let mut socket = self.connect().await;
        let greeting = socket.greeting().await;
        (socket, greeting)
    }
}

/// What a socket receives on open, in this order.
#[derive(Debug, Clone)]
pub struct Greeting {
    /// The `session` frame's data.
    pub session: Value,
    /// The `presence state` frame's data: the names online.
    pub presence: Vec<String>,
    /// The `chat history` frame's data: the recent messages, oldest first.
    pub history: Vec<Value>,
}

/// One WebSocket client.
pub struct Socket {
    pub stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a socket ended.
#[derive(Debug)]
pub enum Ended {
    /// The server sent a close frame.
    Closed(CloseFrame),
    /// The connection ended without a close frame.
    Dropped,
}

impl Socket {
    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        tokio::time::timeout(WAIT, self.stream.send(Message::text(text)))
            .await
            .expect("the frame is sent within the wait")
            .expect("send a frame");
    }

    /// Sends `{"event":"incr"}`.
    pub async fn send_incr(&mut self) {
        self.send_text(r#"{"event":"incr"}"#).await;
    }

    /// The next text frame as JSON; fails on close or after [`WAIT`]
    /// (pings in between do not extend the wait).
    pub async fn next_event(&mut self) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("a frame within the wait");
            match next {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(&text).expect("frames are JSON")
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// The next frame, which must be `event`; returns its `data`. Live
    /// `presence` frames arrive whenever users come and go, so they are
    /// skipped unless `event` is `presence`.
    pub async fn expect_event(&mut self, event: &str) -> Value {
        loop {
            let frame = self.next_event().await;
            if frame["event"] == "presence" && event != "presence" {
                continue;
            }
            assert_eq!(frame["event"], event, "unexpected frame {frame}");
            return frame["data"].clone();
        }
    }

    /// Reads the opening frames: `session`, `presence state`, `chat history`,
    /// exactly in this order.
    pub async fn greeting(&mut self) -> Greeting {
        let session = self.next_event().await;
        assert_eq!(session["event"], "session", "first frame {session}");
        let presence = self.next_event().await;
        assert_eq!(
            presence["event"], "presence state",
            "second frame {presence}"
        );
        let history = self.next_event().await;
        assert_eq!(history["event"], "chat history", "third frame {history}");
        Greeting {
            session: session["data"].clone(),
            presence: serde_json::from_value(presence["data"].clone())
                .expect("presence state is a list of names"),
            history: serde_json::from_value(history["data"].clone())
                .expect("chat history is a list"),
        }
    }

    /// Sends `{"event":"chat","data":{"text":text}}`.
    pub async fn send_chat(&mut self, text: &str) {
        let frame = serde_json::json!({"event": "chat", "data": {"text": text}});
        self.send_text(&frame.to_string()).await;
    }

    /// Reads `current count` frames until `count` arrives, checking that
    /// they only ever increase.
    pub async fn wait_for_count(&mut self, count: u64) {
        let mut last = 0;
        loop {
            let shown = self
                .expect_event("current count")
                .await
                .as_u64()
                .expect("a count");
            assert!(shown > last, "counts went from {last} to {shown}");
            last = shown;
            if shown >= count {
                assert_eq!(shown, count);
                return;
            }
        }
    }

    /// Reads until the connection ends, skipping other frames; bounded.
    pub async fn ended(&mut self) -> Ended {
        let deadline = tokio::time::Instant::now() + WAIT * 2;
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next())
                .await
                .expect("the socket ends within the wait");
            match next {
                Some(Ok(Message::Close(Some(frame)))) => return Ended::Closed(frame),
                Some(Ok(Message::Close(None))) | None | Some(Err(_)) => return Ended::Dropped,
                Some(Ok(_)) => continue,
            }
        }
    }

    /// Waits for a close frame with `code`; returns its reason.
    pub async fn expect_close(&mut self, code: u16) -> String {
        match self.ended().await {
            Ended::Closed(frame) => {
                assert_eq!(
                    frame.code,
                    CloseCode::from(code),
                    "close reason {:?}",
                    frame.reason
                );
                frame.reason.to_string()
            }
            Ended::Dropped => panic!("expected close {code}, the connection dropped"),
        }
    }

    /// Closes from the client side, politely.
    pub async fn close(mut self) {
        let _ = self.stream.close(None).await;
        while let Ok(Some(_)) = tokio::time::timeout(WAIT, self.stream.next()).await {}
    }
}

/// Starts an instance on the Redis at `redis_url`; instances started with
/// the same URL share sessions and events (same secret, same prefix).
pub async fn spawn_redis_app(redis_url: &str) -> TestApp {
    spawn_redis_app_with(redis_url, |_| {}).await
}

/// Like [`spawn_redis_app`], with the configuration changed by `change`.
pub async fn spawn_redis_app_with(redis_url: &str, change: impl FnOnce(&mut Config)) -> TestApp {
    let url = redis_url.to_owned();
    spawn_app_with(move |config| {
        config.store = session_bridge::config::StoreConfig::Redis(url);
        config.redis_prefix = "test:".to_owned();
        change(config);
    })
    .await
}

/// Increments through `visitor` until `socket`, on another instance, shows a
/// count at least as high: that instance's subscriber is back. Bounded by
/// [`WAIT`].
pub async fn wait_for_fanout(visitor: &Visitor, socket: &mut Socket) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "fan-out did not recover"
        );
        let response = visitor.post_incr().await;
        if response.status() != StatusCode::OK {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let count: u64 = response
            .text()
            .await
            .expect("a body")
            .parse()
            .expect("a count");
        let shown = tokio::time::timeout(Duration::from_millis(500), async {
            loop {
                let data = socket.expect_event("current count").await;
                if data.as_u64().is_some_and(|shown| shown >= count) {
                    return;
                }
            }
        })
        .await;
        if shown.is_ok() {
            return;
        }
    }
}
