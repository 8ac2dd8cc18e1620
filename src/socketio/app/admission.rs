//! Who may use the app's `/socket.io/`: the Engine.IO handshake finds the
//! session exactly as `GET /ws` does (the origin rule, 409 for a renewed
//! key, 429 beyond `MAX_SOCKETS_PER_SESSION`, a session started under
//! `SOCKET_AUTH=session` with its `Set-Cookie` on the handshake's
//! response), and every later request of a connection that has a session
//! must carry a cookie of that same session (the `sid` alone is not
//! enough): otherwise 403 `{"code":4,"message":"Forbidden"}`.

use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use futures_util::{future::LocalBoxFuture, FutureExt};

use super::namespace::AppNamespace;
use crate::{
    config::SocketAuth,
    error::AppError,
    routes::{CurrentSession, KnownSession},
    session::RoomId,
    socketio::{
        conn::{Connections, Scope},
        endpoint::{refuse, Admitted, Endpoint, Finish},
        engine::{EngineConfig, EngineError, Transport},
        layer::Sio,
    },
    state::AppState,
};

/// What the app's endpoint advertises: engine.io's heartbeat defaults (so
/// clients and the Node peer behave alike) and `GET /ws`'s message limit.
pub const CONFIG: EngineConfig = EngineConfig {
    ping_interval: Duration::from_millis(25_000),
    ping_timeout: Duration::from_millis(20_000),
    max_payload: 64 * 1024,
};

/// How long a connection may stay without joining `/` (socket.io's
/// default).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(45);

/// The app's connections on this instance.
static APP: Connections<Sio<AppNamespace>> = Connections::new();

/// The app's endpoint, for one request.
pub struct AppEndpoint(pub web::Data<AppState>);

impl AppEndpoint {
    fn origin_permitted(&self, req: &HttpRequest) -> bool {
        self.0
            .origins
            .permits(req.head(), req.connection_info().scheme())
    }

    async fn admit(&self, req: &HttpRequest) -> Result<Admitted<Sio<AppNamespace>>, HttpResponse> {
        let state = &self.0;
        if state.shutdown.is_draining() {
            return Err(AppError::ShuttingDown.error_response());
        }
        if !self.origin_permitted(req) {
            return Err(refuse(EngineError::Forbidden));
        }
        let known = KnownSession::find(req, state)
            .await
            .map_err(|err| err.error_response())?;
        let without_session = match (&known, state.socket_auth) {
            (KnownSession::Live(_, data), SocketAuth::Login) => !data.authenticated,
            (KnownSession::Missing, SocketAuth::Login) => true,
            _ => false,
        };
        let layer = |session| {
            let namespace = AppNamespace::new(state, session);
            Sio::new(namespace, CONFIG.max_payload, CONNECT_TIMEOUT)
        };
        if without_session {
            // Opens, starting no session: its CONNECT is refused.
            return Ok(Admitted {
                layer: layer(None),
                binding: None,
                finish: None,
            });
        }
        let session = CurrentSession::from_known(known, state)
            .await
            .map_err(|err| err.error_response())?;
        let room = state.services.sessions.room(&session.id);
        // As on `GET /ws`: the check and the socket's join are not one step.
        if !session.created
            && state.services.events.registry().room_size(&room) >= state.max_sockets_per_session
        {
            return Err(AppError::TooManySockets.error_response());
        }
        let cookie = session
            .created
            .then(|| (self.0.clone(), session.id.clone()));
        Ok(Admitted {
            layer: layer(Some((session.id, session.data))),
            binding: Some(room),
            finish: cookie.map(|(state, id)| -> Finish {
                Box::new(move |response| {
                    let set = state.cookie.set(response, &id).map_err(AppError::from);
                    set.map_err(actix_web::Error::from)
                })
            }),
        })
    }
}

impl Endpoint for AppEndpoint {
    type Layer = Sio<AppNamespace>;

    fn table(&self) -> &'static Connections<Self::Layer> {
        &APP
    }

    fn scope(&self) -> Scope {
        // The app's state is one allocation for the app's life: several apps
        // in one process (the tests) never see each other's connections.
        std::ptr::from_ref::<AppState>(&self.0) as Scope
    }

    fn config(&self) -> EngineConfig {
        CONFIG
    }

    fn queue_bytes(&self) -> usize {
        self.0.sockets.queue_bytes
    }

    fn handshake(
        &self,
        req: &HttpRequest,
        _: Transport,
    ) -> LocalBoxFuture<'_, Result<Admitted<Self::Layer>, HttpResponse>> {
        let req = req.clone();
        async move { self.admit(&req).await }.boxed_local()
    }

    fn permits(
        &self,
        req: &HttpRequest,
        binding: Option<RoomId>,
    ) -> LocalBoxFuture<'_, Result<(), HttpResponse>> {
        let permitted = self.origin_permitted(req)
            && binding.is_none_or(|room| {
                self.0
                    .cookie
                    .session_id(req)
                    .is_some_and(|id| self.0.services.sessions.room(&id) == room)
            });
        async move {
            match permitted {
                true => Ok(()),
                false => Err(refuse(EngineError::Forbidden)),
            }
        }
        .boxed_local()
    }
}
