//! The two ways in: one keep-alive HTTP/1.1 connection (hyper's low-level
//! client, no pool; `POST /login` carries a JSON body), and a WebSocket
//! handshake carrying the session cookie.
//! Both go to 127.0.0.1 only.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::{
    body::Bytes,
    client::conn::http1::{self, SendRequest},
    header, Method, Request,
};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio_tungstenite::{
    client_async_with_config,
    tungstenite::{client::IntoClientRequest, http::HeaderValue, protocol::WebSocketConfig},
    WebSocketStream,
};

use crate::Result;

/// A socket to the server.
pub type Ws = WebSocketStream<TcpStream>;

/// One keep-alive HTTP/1.1 connection to the server.
pub struct Http {
    sender: SendRequest<Full<Bytes>>,
    host: HeaderValue,
    port: u16,
}

/// What a request answered.
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The whole body.
    pub body: Bytes,
    /// `session=...` from a `Set-Cookie`, ready for a `Cookie` header.
    pub cookie: Option<String>,
}

impl Reply {
    /// The body as the decimal count `POST /incr` answers.
    pub fn count(&self) -> Result<u64> {
        std::str::from_utf8(&self.body)
            .ok()
            .and_then(|text| text.trim().parse().ok())
            .ok_or_else(|| format!("not a count: {:?}", String::from_utf8_lossy(&self.body)).into())
    }
}

async fn tcp(port: u16) -> Result<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

impl Http {
    /// Opens a connection to 127.0.0.1:`port`.
    pub async fn connect(port: u16) -> Result<Self> {
        let io = TokioIo::new(tcp(port).await?);
        let (sender, connection) = http1::handshake(io).await?;
        tokio::spawn(async move {
            // Ends when the sender is dropped or the server closes.
            let _ = connection.await;
        });
        Ok(Self {
            sender,
            host: HeaderValue::from_str(&format!("127.0.0.1:{port}"))?,
            port,
        })
    }

    /// The server port this connection goes to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Sends one request (no body) and reads the whole answer.
    pub async fn request(
        &mut self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
    ) -> Result<Reply> {
        self.send(method, path, cookie, None).await
    }

    /// Sends one request, with `json` as an `application/json` body when
    /// given, and reads the whole answer.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        cookie: Option<&str>,
        json: Option<String>,
    ) -> Result<Reply> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, self.host.clone());
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        let body = match json {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Full::new(Bytes::from(json))
            }
            None => Full::new(Bytes::new()),
        };
        self.sender.ready().await?;
        let response = self.sender.send_request(request.body(body)?).await?;
        let status = response.status().as_u16();
        let cookie = session_cookie(response.headers().get_all(header::SET_COOKIE));
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Reply {
            status,
            body,
            cookie,
        })
    }

    /// `POST /incr` expecting 200 and a count.
    pub async fn incr(&mut self, cookie: Option<&str>) -> Result<(u64, Option<String>)> {
        let reply = self.request(Method::POST, "/incr", cookie).await?;
        if reply.status != 200 {
            return Err(format!("POST /incr answered {}", reply.status).into());
        }
        Ok((reply.count()?, reply.cookie))
    }

    /// `POST /login` as `name` (a new session when `cookie` is `None`),
    /// expecting 204; returns the renewed session's cookie.
    pub async fn login(&mut self, name: &str, cookie: Option<&str>) -> Result<String> {
        let body = serde_json::json!({ "name": name }).to_string();
        let reply = self
            .send(Method::POST, "/login", cookie, Some(body))
            .await?;
        if reply.status != 204 {
            return Err(format!(
                "POST /login answered {}: {}",
                reply.status,
                String::from_utf8_lossy(&reply.body)
            )
            .into());
        }
        reply
            .cookie
            .ok_or_else(|| "POST /login set no session cookie".into())
    }
}

/// `session=VALUE` out of the `Set-Cookie` headers, if one sets a non-empty session.
fn session_cookie<'a>(headers: impl IntoIterator<Item = &'a HeaderValue>) -> Option<String> {
    headers.into_iter().find_map(|value| {
        let pair = value.to_str().ok()?.split(';').next()?.trim();
        let (name, value) = pair.split_once('=')?;
        (name == "session" && !value.is_empty()).then(|| pair.to_owned())
    })
}

/// A freshly opened socket.
pub struct Opened {
    /// The socket.
    pub ws: Ws,
    /// The cookie the 101 response set (a handshake without a session).
    pub cookie: Option<String>,
}

/// Opens `/ws` on 127.0.0.1:`port` with `cookie`, within `timeout`.
pub async fn open_socket(port: u16, cookie: Option<&str>, timeout: Duration) -> Result<Opened> {
    let open = async {
        let mut request = format!("ws://127.0.0.1:{port}/ws").into_client_request()?;
        if let Some(cookie) = cookie {
            request
                .headers_mut()
                .insert(header::COOKIE, HeaderValue::from_str(cookie)?);
        }
        // tungstenite's default 128 KiB read buffer is zeroed on every read:
        // it would cost more than the frames themselves (and 128 KiB a socket).
        let config = WebSocketConfig::default()
            .read_buffer_size(4096)
            .write_buffer_size(0);
        let (ws, response) =
            client_async_with_config(request, tcp(port).await?, Some(config)).await?;
        let cookie = session_cookie(response.headers().get_all(header::SET_COOKIE));
        Ok::<_, crate::Error>(Opened { ws, cookie })
    };
    tokio::time::timeout(timeout, open)
        .await
        .map_err(|_| "the WebSocket handshake timed out")?
}
