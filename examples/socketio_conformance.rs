//! The server the official Engine.IO v4 and Socket.IO v5 protocol suites
//! expect (`../shared/socketio-conformance`), built on the library's
//! Socket.IO layer and never part of the app: `/engine.io/` is a bare
//! Engine.IO endpoint echoing every message, and `/socket.io/` serves the
//! test namespaces `/` and `/custom` (the `auth` echo, `message-back`,
//! `message-with-ack`), with a 300 / 200 ms heartbeat, `maxPayload`
//! 1000000 and a 1 s `connectTimeout`. No cookies, origins or sessions.
//!
//! `cargo run --example socketio_conformance -- 127.0.0.1:3000`, or
//! `scripts/socketio-conformance` to build, start and run the suites.

use std::time::Duration;

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use futures_util::{future::LocalBoxFuture, FutureExt};
use serde_json::value::RawValue;
use session_bridge::{
    session::RoomId,
    socketio::{
        conn::{Connections, Data, Ending, Io, Layer, Scope},
        endpoint::{serve, Admitted, Endpoint},
        engine::{EngineConfig, Frame, Transport},
        layer::{Namespaces, Sio, SioIo},
        packet::Packet,
    },
};

const CONFIG: EngineConfig = EngineConfig {
    ping_interval: Duration::from_millis(300),
    ping_timeout: Duration::from_millis(200),
    max_payload: 1_000_000,
};
const QUEUE_BYTES: usize = 16 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Echoes every message, text as text, binary as binary.
struct Echo;

impl Layer for Echo {
    fn message(&mut self, data: Data, io: &mut Io<'_, Self>) {
        io.send(vec![match data {
            Data::Text(text) => Frame::message(&text),
            Data::Binary(data) => Frame::Binary(data),
        }]);
    }

    fn closed(&mut self, _: Ending) {}
}

static ECHOES: Connections<Echo> = Connections::new();

/// The test namespaces: `/` and `/custom` echo their CONNECT payload as
/// `auth`; on `/`, `message` comes back as `message-back` and
/// `message-with-ack` is acknowledged with its own arguments.
struct TestNamespaces;

impl Namespaces for TestNamespaces {
    fn admit(&mut self, nsp: &str, _: Option<&RawValue>) -> Result<(), String> {
        match nsp {
            "/" | "/custom" => Ok(()),
            _ => Err("Invalid namespace".to_owned()),
        }
    }

    fn joined(&mut self, nsp: &str, auth: Option<&RawValue>, io: &mut SioIo<'_, Self>) {
        let empty = RawValue::from_string("{}".to_owned()).ok();
        let auth = auth.or(empty.as_deref());
        let args: Vec<&RawValue> = auth.into_iter().collect();
        io.send(Packet::event(nsp, None, "auth", &args, Vec::new()).to_frames());
    }

    fn event(&mut self, packet: Packet, io: &mut SioIo<'_, Self>) {
        let (nsp, id) = (packet.nsp().to_owned(), packet.id());
        let name = packet.event_name().map(|name| name.into_owned());
        let args = packet.args().unwrap_or_default();
        let rest = args.get(1..).unwrap_or_default().to_vec();
        let reply = match (name.as_deref(), id) {
            (Some("message"), _) if nsp == "/" => Packet::event(
                &nsp,
                None,
                "message-back",
                &rest,
                packet.attachments().to_vec(),
            ),
            (Some("message-with-ack"), Some(id)) if nsp == "/" => {
                Packet::ack(&nsp, id, &rest, packet.attachments().to_vec())
            }
            _ => return,
        };
        io.send(reply.to_frames());
    }
}

static SOCKETS: Connections<Sio<TestNamespaces>> = Connections::new();

/// Admits every handshake: no cookies, no origins.
fn admit<L>(layer: L) -> LocalBoxFuture<'static, Result<Admitted<L>, HttpResponse>>
where
    L: 'static,
{
    async {
        Ok(Admitted {
            layer,
            binding: None,
            finish: None,
        })
    }
    .boxed_local()
}

/// An endpoint of the suites: no sessions, every request admitted; the
/// layer each connection gets is made by `layer`.
struct TestEndpoint<L: Layer + 'static> {
    table: &'static Connections<L>,
    layer: fn() -> L,
}

impl<L: Layer + 'static> Endpoint for TestEndpoint<L> {
    type Layer = L;

    fn table(&self) -> &'static Connections<L> {
        self.table
    }

    fn scope(&self) -> Scope {
        0
    }

    fn config(&self) -> EngineConfig {
        CONFIG
    }

    fn queue_bytes(&self) -> usize {
        QUEUE_BYTES
    }

    fn handshake(
        &self,
        _: &HttpRequest,
        _: Transport,
    ) -> LocalBoxFuture<'_, Result<Admitted<L>, HttpResponse>> {
        admit((self.layer)())
    }

    fn permits(
        &self,
        _: &HttpRequest,
        _: Option<RoomId>,
    ) -> LocalBoxFuture<'_, Result<(), HttpResponse>> {
        async { Ok(()) }.boxed_local()
    }
}

async fn engine_io(
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let endpoint = TestEndpoint {
        table: &ECHOES,
        layer: || Echo,
    };
    serve(req, payload, endpoint).await
}

async fn socket_io(
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    let endpoint = TestEndpoint {
        table: &SOCKETS,
        layer: || Sio::new(TestNamespaces, CONFIG.max_payload, CONNECT_TIMEOUT),
    };
    serve(req, payload, endpoint).await
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    HttpServer::new(|| {
        App::new()
            .route("/engine.io/", web::to(engine_io))
            .route("/socket.io/", web::to(socket_io))
    })
    .workers(2)
    .bind(addr)?
    .run()
    .await
}
