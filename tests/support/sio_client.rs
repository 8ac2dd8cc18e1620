//! A small Engine.IO v4 / Socket.IO v5 client for the tests: HTTP
//! long-polling over reqwest (the visitor's cookie jar), WebSocket over
//! tokio-tungstenite (the visitor's cookie), the upgrade between them, and
//! the heartbeat answered as a client does. It speaks raw packets, so a
//! test sees exactly what the server sent.

use std::{collections::VecDeque, time::Duration};

use futures_util::{SinkExt, StreamExt};
use reqwest::{
    cookie::{CookieStore, Jar},
    header, StatusCode, Url,
};
use serde_json::Value;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    tungstenite::{client::IntoClientRequest, Message},
    MaybeTlsStream, WebSocketStream,
};

/// The longest any wait of the client takes.
const WAIT: Duration = Duration::from_secs(30);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How an Engine.IO request was refused: its status and body.
#[derive(Debug)]
pub struct Refused {
    pub status: StatusCode,
    pub body: String,
}

/// One Engine.IO connection, polling or on a WebSocket.
pub struct SioClient {
    http: reqwest::Client,
    jar: Arc<Jar>,
    base: Url,
    /// The connection's id.
    pub sid: String,
    /// The open packet's JSON.
    pub open: Value,
    ws: Option<Ws>,
    /// Engine.IO packets received and not read yet.
    pending: VecDeque<String>,
    /// Whether the server ended the connection.
    pub closed: bool,
}

fn endpoint(base: &Url, query: &str) -> Url {
    let mut url = base.join("/socket.io/").expect("a valid path");
    url.set_query(Some(query));
    url
}

impl SioClient {
    /// A polling handshake with `http` (whose cookies are in `jar`).
    pub async fn polling(
        http: &reqwest::Client,
        jar: &Arc<Jar>,
        base: &Url,
    ) -> Result<Self, Refused> {
        Self::polling_with(http, jar, base, &[]).await
    }

    /// A polling handshake with extra headers.
    pub async fn polling_with(
        http: &reqwest::Client,
        jar: &Arc<Jar>,
        base: &Url,
        headers: &[(&str, &str)],
    ) -> Result<Self, Refused> {
        let mut request = http.get(endpoint(base, "EIO=4&transport=polling"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.expect("the handshake answers");
        let status = response.status();
        let body = response.text().await.expect("a body");
        if status != StatusCode::OK {
            return Err(Refused { status, body });
        }
        let json = body.strip_prefix('0').expect("an open packet");
        let open: Value = serde_json::from_str(json).expect("the open packet is JSON");
        Ok(Self {
            http: http.clone(),
            jar: jar.clone(),
            base: base.clone(),
            sid: open["sid"].as_str().expect("a sid").to_owned(),
            open,
            ws: None,
            pending: VecDeque::new(),
            closed: false,
        })
    }

    /// A WebSocket handshake (no polling first).
    pub async fn websocket(http: &reqwest::Client, jar: &Arc<Jar>, base: &Url) -> Self {
        let mut ws = open_ws(jar, base, "EIO=4&transport=websocket").await;
        let first = next_ws_text(&mut ws).await.expect("an open packet");
        let open: Value = serde_json::from_str(first.strip_prefix('0').expect("an open packet"))
            .expect("the open packet is JSON");
        Self {
            http: http.clone(),
            jar: jar.clone(),
            base: base.clone(),
            sid: open["sid"].as_str().expect("a sid").to_owned(),
            open,
            ws: Some(ws),
            pending: VecDeque::new(),
            closed: false,
        }
    }

    fn query(&self) -> String {
        format!("EIO=4&transport=polling&sid={}", self.sid)
    }

    /// One polling GET: its status and body.
    pub async fn get(&self) -> (StatusCode, String) {
        let response = self
            .http
            .get(endpoint(&self.base, &self.query()))
            .timeout(WAIT)
            .send()
            .await
            .expect("the poll answers");
        let status = response.status();
        (status, response.text().await.expect("a body"))
    }

    /// One polling POST of `body`: its status and body.
    pub async fn post(&self, body: &str) -> (StatusCode, String) {
        let response = self
            .http
            .post(endpoint(&self.base, &self.query()))
            .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8")
            .body(body.to_owned())
            .send()
            .await
            .expect("the post answers");
        let status = response.status();
        (status, response.text().await.expect("a body"))
    }

    /// Sends one Engine.IO packet on the current transport.
    pub async fn send_engine(&mut self, packet: &str) {
        match self.ws.as_mut() {
            Some(ws) => ws
                .send(Message::text(packet))
                .await
                .expect("a WebSocket frame is sent"),
            None => {
                let (status, body) = self.post(packet).await;
                assert_eq!(
                    (status, body.as_str()),
                    (StatusCode::OK, "ok"),
                    "POST {packet}"
                );
            }
        }
    }

    /// Sends an Engine.IO message carrying a Socket.IO packet, written as
    /// on the wire (`40`, `42["incr"]`, …).
    pub async fn send(&mut self, message: &str) {
        assert!(message.starts_with('4'), "not a message: {message}");
        self.send_engine(message).await;
    }

    /// The next Engine.IO packet (pings answered, not returned); `None`
    /// once the server ended the connection.
    pub async fn next_engine(&mut self) -> Option<String> {
        loop {
            if let Some(packet) = self.pending.pop_front() {
                if packet == "2" {
                    self.send_engine("3").await;
                    continue;
                }
                if packet == "1" {
                    self.closed = true;
                    return None;
                }
                return Some(packet);
            }
            if self.closed {
                return None;
            }
            match self.ws.as_mut() {
                Some(ws) => match next_ws_text(ws).await {
                    Some(text) => self.pending.push_back(text),
                    None => self.closed = true,
                },
                None => {
                    let (status, body) = self.get().await;
                    if status != StatusCode::OK {
                        self.closed = true;
                        continue;
                    }
                    self.pending.extend(body.split('\x1e').map(str::to_owned));
                }
            }
        }
    }

    /// The next Socket.IO packet, without the Engine.IO `4` (`0{"sid":…}`,
    /// `2["session",…]`, `31[1]`; Engine.IO `6` skipped); `None` once ended.
    pub async fn next_packet(&mut self) -> Option<String> {
        loop {
            let packet = tokio::time::timeout(WAIT, self.next_engine())
                .await
                .expect("a packet within the wait")?;
            match packet.strip_prefix('4') {
                Some(packet) => return Some(packet.to_owned()),
                None if packet == "6" => continue,
                None => panic!("unexpected Engine.IO packet {packet}"),
            }
        }
    }

    /// The next packet, which must be an event: its name and argument.
    /// Live `presence` events are skipped unless `name` is `presence`.
    pub async fn expect_event(&mut self, name: &str) -> Value {
        loop {
            let packet = self.next_packet().await.expect("an event, not the end");
            let json = packet
                .strip_prefix('2')
                .unwrap_or_else(|| panic!("not an event: {packet}"));
            let array: Vec<Value> = serde_json::from_str(json).expect("an event array");
            if array[0] == "presence" && name != "presence" {
                continue;
            }
            assert_eq!(array[0], name, "unexpected event {packet}");
            return array.get(1).cloned().unwrap_or(Value::Null);
        }
    }

    /// Reads `current count` events until `count` arrives.
    pub async fn wait_for_count(&mut self, count: u64) {
        while self.expect_event("current count").await != count {}
    }

    /// Skips packets until `packet` arrives (`None`: the connection ended
    /// first).
    pub async fn skip_to(&mut self, packet: &str) -> Option<()> {
        while self.next_packet().await? != packet {}
        Some(())
    }

    /// Joins `/`: the CONNECT reply, then the opening events in order;
    /// returns the `session` event's data.
    pub async fn join(&mut self) -> Value {
        self.send("40").await;
        let reply = self.next_packet().await.expect("a CONNECT reply");
        assert!(reply.starts_with("0{\"sid\":"), "CONNECT reply {reply}");
        let session = self.expect_event("session").await;
        self.expect_event("presence state").await;
        self.expect_event("chat history").await;
        session
    }

    /// Upgrades a polling connection to a WebSocket (probe, `3probe`, `5`).
    pub async fn upgrade(&mut self) {
        let query = format!("EIO=4&transport=websocket&sid={}", self.sid);
        let mut ws = open_ws(&self.jar, &self.base, &query).await;
        ws.send(Message::text("2probe")).await.expect("probe sent");
        assert_eq!(next_ws_text(&mut ws).await.as_deref(), Some("3probe"));
        ws.send(Message::text("5")).await.expect("upgrade sent");
        self.ws = Some(ws);
    }

    /// Waits for the end of the connection, skipping what comes before.
    pub async fn expect_end(&mut self) {
        tokio::time::timeout(WAIT, async { while self.next_engine().await.is_some() {} })
            .await
            .expect("the connection ends within the wait");
    }
}

/// Opens a WebSocket to `/socket.io/?query` with the jar's cookie.
pub async fn open_ws(jar: &Arc<Jar>, base: &Url, query: &str) -> Ws {
    try_open_ws(jar, base, query)
        .await
        .expect("the upgrade is accepted")
}

/// Opens a WebSocket, or the refusal's status.
pub async fn try_open_ws(jar: &Arc<Jar>, base: &Url, query: &str) -> Result<Ws, StatusCode> {
    let mut url = endpoint(base, query);
    url.set_scheme("ws").expect("ws scheme");
    let mut request = url.as_str().into_client_request().expect("a ws request");
    if let Some(cookie) = jar.cookies(base) {
        request.headers_mut().insert(header::COOKIE, cookie);
    }
    match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .expect("the handshake answers")
    {
        Ok((ws, response)) => {
            let mut set_cookies = response.headers().get_all(header::SET_COOKIE).iter();
            jar.set_cookies(&mut set_cookies, base);
            Ok(ws)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(response.status()),
        Err(err) => panic!("the WebSocket handshake failed: {err}"),
    }
}

/// The next text frame; `None` when the socket closes.
async fn next_ws_text(ws: &mut Ws) -> Option<String> {
    loop {
        match tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a frame within the wait")
        {
            Some(Ok(Message::Text(text))) => return Some(text.to_string()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Binary(_))) => panic!("a binary frame"),
            _ => return None,
        }
    }
}
