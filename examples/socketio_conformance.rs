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
use session_bridge::{
    session::RoomId,
    socketio::{
        conn::{Connections, Data, Ending, Io, Layer, Scope},
        endpoint::{serve, Admitted, Endpoint},
        engine::{EngineConfig, Frame, Transport},
    },
};

const CONFIG: EngineConfig = EngineConfig {
    ping_interval: Duration::from_millis(300),
    ping_timeout: Duration::from_millis(200),
    max_payload: 1_000_000,
};
const QUEUE_BYTES: usize = 16 * 1024 * 1024;

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

struct EchoEndpoint;

impl Endpoint for EchoEndpoint {
    type Layer = Echo;

    fn table(&self) -> &'static Connections<Echo> {
        &ECHOES
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
    ) -> LocalBoxFuture<'_, Result<Admitted<Echo>, HttpResponse>> {
        async {
            Ok(Admitted {
                layer: Echo,
                binding: None,
                finish: None,
            })
        }
        .boxed_local()
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
    serve(req, payload, EchoEndpoint).await
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:3000".to_owned());
    HttpServer::new(|| App::new().route("/engine.io/", web::to(engine_io)))
        .workers(2)
        .bind(addr)?
        .run()
        .await
}
