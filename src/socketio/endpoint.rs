//! An Engine.IO endpoint over actix-web: every request under its path goes
//! to [`serve`], which checks the query, then opens a connection (a
//! handshake), or hands the request to the connection's owner (a poll, a
//! post, the upgrade's WebSocket). What differs between endpoints (the
//! app's `/socket.io/`, the conformance binary's echo) is an [`Endpoint`]:
//! its settings, what rides on each connection, and who may use one.

use std::time::Duration;

use actix_web::{
    http::{header, Method, StatusCode},
    web, HttpRequest, HttpResponse,
};
use actix_web_actors::ws::WsResponseBuilder;
use bytes::BytesMut;
use futures_util::{future::LocalBoxFuture, StreamExt};
use tokio::sync::oneshot;

use super::{
    conn::{
        pipe::Pipe,
        poll::{orphaned, BeginPost, Poll, Post},
        Conn, Connections, Found, Layer, Reply, Scope,
    },
    engine::{verify, DecodeError, EngineConfig, EngineError, Frame, Query, Transport, Verified},
};
use crate::{
    net::{HeldConnection, TcpControl},
    session::RoomId,
};

/// Applied to a handshake's response.
pub type Finish = Box<dyn FnOnce(&mut HttpResponse) -> Result<(), actix_web::Error>>;

/// A connection the endpoint admitted at its handshake.
pub struct Admitted<L> {
    /// What rides on it.
    pub layer: L,
    /// The session whose cookie every later request must carry.
    pub binding: Option<RoomId>,
    /// Applied to the handshake's response (the `Set-Cookie` of a session
    /// started by it).
    pub finish: Option<Finish>,
}

/// What one endpoint is.
pub trait Endpoint: 'static {
    /// What rides on its connections.
    type Layer: Layer;
    /// Its connections on this instance.
    fn table(&self) -> &'static Connections<Self::Layer>;
    /// Which app it belongs to (see [`Scope`]).
    fn scope(&self) -> Scope;
    /// What it advertises and enforces.
    fn config(&self) -> EngineConfig;
    /// The most bytes that may wait for one polling connection.
    fn queue_bytes(&self) -> usize;
    /// Admits a handshake, or answers it.
    fn handshake(
        &self,
        req: &HttpRequest,
        transport: Transport,
    ) -> LocalBoxFuture<'_, Result<Admitted<Self::Layer>, HttpResponse>>;
    /// Whether a later request may use a connection bound to `binding`.
    fn permits(
        &self,
        req: &HttpRequest,
        binding: Option<RoomId>,
    ) -> LocalBoxFuture<'_, Result<(), HttpResponse>>;
}

/// engine.io's error answer.
pub fn refuse(error: EngineError) -> HttpResponse {
    HttpResponse::build(StatusCode::from_u16(error.status()).unwrap_or(StatusCode::BAD_REQUEST))
        .content_type("application/json")
        .body(error.body())
}

fn text(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=UTF-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// The request's TCP connection, to abort a WebSocket that cannot close.
fn tcp(req: &HttpRequest) -> Option<TcpControl> {
    req.conn_data::<HeldConnection>()
        .map(HeldConnection::control)
}

fn is_upgrade(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"))
}

/// Serves one request of endpoint `endpoint`.
pub async fn serve<E: Endpoint>(
    req: HttpRequest,
    payload: web::Payload,
    endpoint: E,
) -> Result<HttpResponse, actix_web::Error> {
    let query = web::Query::<Query>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let is_get = req.method() == Method::GET;
    let verified = match verify(&query, is_get, is_upgrade(&req)) {
        Ok(verified) => verified,
        Err(error) => return Ok(refuse(error)),
    };
    match verified {
        Verified::Handshake(transport) => handshake(req, payload, &endpoint, transport).await,
        Verified::Existing(transport, sid) => {
            let Some(found) = endpoint.table().find(&sid, endpoint.scope()) else {
                return Ok(refuse(EngineError::UnknownSid));
            };
            if let Err(response) = endpoint.permits(&req, found.binding).await {
                return Ok(response);
            }
            existing(req, payload, (transport, endpoint.config()), found).await
        }
    }
}

async fn handshake<E: Endpoint>(
    req: HttpRequest,
    payload: web::Payload,
    endpoint: &E,
    transport: Transport,
) -> Result<HttpResponse, actix_web::Error> {
    let admitted = match endpoint.handshake(&req, transport).await {
        Ok(admitted) => admitted,
        Err(response) => return Ok(response),
    };
    let config = endpoint.config();
    let place = (endpoint.table(), endpoint.scope(), admitted.binding);
    let (sid, addr) = Conn::start(
        admitted.layer,
        (config, transport, endpoint.queue_bytes()),
        place,
    );
    let mut response = match transport {
        Transport::Polling => match config.open(&sid, transport) {
            Frame::Text(open) => text(open.to_string()),
            Frame::Binary(_) => refuse(EngineError::BadRequest),
        },
        Transport::WebSocket => WsResponseBuilder::new(Pipe::new(addr, tcp(&req)), &req, payload)
            .frame_size(config.max_payload)
            .start()?,
    };
    if let Some(finish) = admitted.finish {
        finish(&mut response)?;
    }
    Ok(response)
}

async fn existing<L: Layer>(
    req: HttpRequest,
    payload: web::Payload,
    (transport, config): (Transport, EngineConfig),
    found: Found<actix::Addr<Conn<L>>>,
) -> Result<HttpResponse, actix_web::Error> {
    let (addr, max) = (found.addr, config.max_payload);
    match (transport, req.method()) {
        (Transport::WebSocket, _) if is_upgrade(&req) => {
            Ok(
                WsResponseBuilder::new(Pipe::new(addr, tcp(&req)), &req, payload)
                    .frame_size(max)
                    .start()?,
            )
        }
        (Transport::Polling, &Method::GET) => {
            let (tx, rx) = oneshot::channel();
            addr.do_send(Poll(tx));
            // The heartbeat answers a held poll first; this only bounds a
            // poll whose owner vanished.
            let hold = config.ping_interval + config.ping_timeout + Duration::from_secs(1);
            let reply = tokio::time::timeout(hold, rx).await;
            Ok(
                match reply.ok().and_then(Result::ok).unwrap_or_else(orphaned) {
                    Reply::Body(body) => text(body),
                    Reply::Refused(error) => refuse(error),
                },
            )
        }
        (Transport::Polling, &Method::POST) => post(req, payload, addr, max).await,
        _ => Ok(refuse(EngineError::BadRequest)),
    }
}

async fn post<L: Layer>(
    req: HttpRequest,
    mut payload: web::Payload,
    addr: actix::Addr<Conn<L>>,
    max: usize,
) -> Result<HttpResponse, actix_web::Error> {
    match addr.send(BeginPost).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Ok(refuse(error)),
        Err(_) => return Ok(refuse(EngineError::UnknownSid)),
    }
    let binary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/octet-stream"));
    let body = if binary {
        Err(DecodeError::NotUtf8)
    } else {
        read_bounded(&mut payload, max).await
    };
    match addr.send(Post(body)).await {
        Ok(Ok(())) => Ok(HttpResponse::Ok().content_type("text/html").body("ok")),
        Ok(Err(status)) => Ok(HttpResponse::build(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        )
        .finish()),
        Err(_) => Ok(refuse(EngineError::UnknownSid)),
    }
}

/// Reads a body of at most `max` bytes; beyond it stops reading.
async fn read_bounded(payload: &mut web::Payload, max: usize) -> Result<bytes::Bytes, DecodeError> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| DecodeError::Empty)?;
        if body.len() + chunk.len() > max {
            return Err(DecodeError::TooLarge {
                len: body.len() + chunk.len(),
                max,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
