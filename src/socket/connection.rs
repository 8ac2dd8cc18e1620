//! One actor per WebSocket: parses frames, answers errors, keeps the peer
//! alive with pings, reloads its session on a timer, and is in the registry
//! from `started` to `stopped`, whatever ended it.
//!
//! Store calls made from here are bounded by [`STORE_TIMEOUT`] and spawned
//! (`ctx.spawn`), so a slow store never freezes the heartbeat. The one
//! exception is the first load, awaited with `ctx.wait` so that no frame can
//! overtake the `session` frame.

use std::{
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, Instant},
};

use actix::{
    fut::wrap_future, Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, Handler,
    StreamHandler,
};
use actix_http::ws::Item;
use actix_web_actors::ws::{self, CloseCode, CloseReason, ProtocolError};

use super::{
    protocol::{ClientEvent, Close, FrameError, ServerEvent},
    rate_limit::{Throttle, TokenBucket},
    registry::{Join, Leave, Push, Registry, SocketId},
};
use crate::session::{RoomId, SessionData, SessionId, Sessions};

/// How often the server pings.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How long a silent peer is kept.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest message accepted, per frame and reassembled.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// The longest a socket waits for the store.
pub const STORE_TIMEOUT: Duration = Duration::from_secs(5);
/// Frames a socket may send in a burst, and per second after it.
pub const FRAME_BUDGET: u32 = 100;

static NEXT_SOCKET_ID: AtomicU64 = AtomicU64::new(1);

/// The actor behind one WebSocket.
pub struct Connection {
    id: SocketId,
    session: SessionId,
    room: RoomId,
    sessions: Sessions,
    registry: Addr<Registry>,
    reload_every: Duration,
    opened: Instant,
    last_heard: Instant,
    /// The highest count this socket has shown; `None` until the `session` frame.
    shown: Option<u64>,
    budget: TokenBucket,
    rate_notice: Throttle,
    /// A fragmented text message being reassembled.
    partial: Option<Vec<u8>>,
    /// The close code, for the log line (`None`: the peer vanished).
    close_code: Option<u16>,
}

impl Connection {
    /// A socket of session `session`, announced to `registry`.
    pub fn new(
        session: SessionId,
        sessions: Sessions,
        registry: Addr<Registry>,
        reload_every: Duration,
    ) -> Self {
        let now = Instant::now();
        Self {
            id: NEXT_SOCKET_ID.fetch_add(1, Ordering::Relaxed),
            room: sessions.room(&session),
            session,
            sessions,
            registry,
            reload_every,
            opened: now,
            last_heard: now,
            shown: None,
            budget: TokenBucket::new(FRAME_BUDGET, FRAME_BUDGET),
            rate_notice: Throttle::new(Duration::from_secs(1)),
            partial: None,
            close_code: None,
        }
    }

    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, reason: CloseReason) {
        self.close_code = Some(reason.code.into());
        ctx.close(Some(reason));
        ctx.stop();
    }

    /// Shows `data` as the socket's first frame, or a newer count after it.
    fn show(&mut self, ctx: &mut ws::WebsocketContext<Self>, data: &SessionData) {
        match self.shown {
            None => {
                self.shown = Some(data.count);
                ctx.text(ServerEvent::Session(data).to_text());
            }
            Some(shown) if data.count > shown => {
                self.shown = Some(data.count);
                ctx.text(ServerEvent::CurrentCount(data.count).to_text());
            }
            Some(_) => {}
        }
    }

    /// Reloads the session: gone closes the socket (4001); a store error does
    /// not, and the next interval tries again.
    fn reload(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let (sessions, id) = (self.sessions.clone(), self.session.clone());
        let load = async move { tokio::time::timeout(STORE_TIMEOUT, sessions.load(&id)).await };
        ctx.spawn(
            wrap_future(load).map(|loaded, act: &mut Self, ctx| match loaded {
                Ok(Ok(Some(data))) => act.show(ctx, &data),
                Ok(Ok(None)) => act.close(ctx, Close::SessionExpired.into()),
                Ok(Err(err)) => log::warn!("socket {} could not reload its session: {err}", act.id),
                Err(_) => log::warn!("socket {} could not reload its session: timed out", act.id),
            }),
        );
    }

    fn incr(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let (sessions, id) = (self.sessions.clone(), self.session.clone());
        let incr =
            async move { tokio::time::timeout(STORE_TIMEOUT, sessions.increment(&id)).await };
        ctx.spawn(
            wrap_future(incr).map(|result, act: &mut Self, ctx| match result {
                // The new count comes back through the registry, like every socket's.
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => act.close(ctx, Close::SessionExpired.into()),
                Ok(Err(err)) => {
                    log::warn!("socket {} could not increment: {err}", act.id);
                    ctx.text(ServerEvent::error(FrameError::Unavailable).to_text());
                }
                Err(_) => {
                    log::warn!("socket {} could not increment: timed out", act.id);
                    ctx.text(ServerEvent::error(FrameError::Unavailable).to_text());
                }
            }),
        );
    }

    fn on_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        let now = Instant::now();
        if !self.budget.take(now) {
            if self.rate_notice.allow(now) {
                ctx.text(ServerEvent::error(FrameError::RateLimited).to_text());
            }
            return;
        }
        match ClientEvent::parse(text) {
            Ok(ClientEvent::Incr) => self.incr(ctx),
            Err(error) => ctx.text(ServerEvent::error(error).to_text()),
        }
    }

    /// Collects the fragments of a message, capping the whole at the limit.
    fn on_fragment(&mut self, item: Item, ctx: &mut ws::WebsocketContext<Self>) {
        let (bytes, last) = match item {
            Item::FirstBinary(_) => return self.close(ctx, binary_refused()),
            Item::FirstText(bytes) => {
                self.partial = Some(Vec::new());
                (bytes, false)
            }
            Item::Continue(bytes) => (bytes, false),
            Item::Last(bytes) => (bytes, true),
        };
        let Some(partial) = self.partial.as_mut() else {
            return self.close(
                ctx,
                CloseReason::from((CloseCode::Protocol, "unexpected continuation")),
            );
        };
        if partial.len() + bytes.len() > MAX_MESSAGE_BYTES {
            return self.close(ctx, too_big());
        }
        partial.extend_from_slice(&bytes);
        if last {
            let message = self.partial.take().unwrap_or_default();
            match String::from_utf8(message) {
                Ok(text) => self.on_text(&text, ctx),
                Err(_) => self.close(
                    ctx,
                    CloseReason::from((CloseCode::Invalid, "text must be UTF-8")),
                ),
            }
        }
    }
}

fn binary_refused() -> CloseReason {
    CloseReason::from((CloseCode::Unsupported, "binary frames are not accepted"))
}

fn too_big() -> CloseReason {
    CloseReason::from((CloseCode::Size, "message larger than 64 KiB"))
}

impl Actor for Connection {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        log::info!("socket opened: room={} socket={}", self.room, self.id);
        self.registry.do_send(Join {
            room: self.room,
            id: self.id,
            socket: ctx.address().recipient(),
        });
        ctx.run_interval(HEARTBEAT_INTERVAL, |act, ctx| {
            if act.last_heard.elapsed() > CLIENT_TIMEOUT {
                log::info!(
                    "socket {} silent for {CLIENT_TIMEOUT:?}: dropping it",
                    act.id
                );
                ctx.stop();
            } else {
                ctx.ping(b"");
            }
        });
        ctx.run_interval(self.reload_every, Self::reload);

        // Joined first, loaded second: an increment made in between is in
        // the load or arrives as a push, and pushes queue until this is done.
        let (sessions, id) = (self.sessions.clone(), self.session.clone());
        let load = async move { tokio::time::timeout(STORE_TIMEOUT, sessions.load(&id)).await };
        ctx.wait(
            wrap_future(load).map(|loaded, act: &mut Self, ctx| match loaded {
                Ok(Ok(Some(data))) => act.show(ctx, &data),
                Ok(Ok(None)) => act.close(ctx, Close::SessionExpired.into()),
                // Not gone, just unreachable: the next reload sends the `session` frame.
                Ok(Err(err)) => log::warn!("socket {} could not load its session: {err}", act.id),
                Err(_) => log::warn!("socket {} could not load its session: timed out", act.id),
            }),
        );
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.registry.do_send(Leave {
            room: self.room,
            id: self.id,
        });
        let code = self
            .close_code
            .map_or_else(|| "none".to_owned(), |code| code.to_string());
        log::info!(
            "socket closed: room={} socket={} code={code} duration={:.1?}",
            self.room,
            self.id,
            self.opened.elapsed()
        );
    }
}

impl Handler<Push> for Connection {
    type Result = ();

    fn handle(&mut self, push: Push, ctx: &mut Self::Context) {
        match push {
            Push::Count { count, frame } => {
                if self.shown.is_some_and(|shown| count > shown) {
                    self.shown = Some(count);
                    ctx.text(frame);
                }
            }
            Push::Close(close) => self.close(ctx, close.into()),
            Push::Reload => self.reload(ctx),
        }
    }
}

impl StreamHandler<Result<ws::Message, ProtocolError>> for Connection {
    fn handle(&mut self, msg: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match msg {
            Ok(ws::Message::Text(text)) => {
                if self.partial.is_some() {
                    return self.close(
                        ctx,
                        CloseReason::from((CloseCode::Protocol, "expected a continuation")),
                    );
                }
                self.on_text(&text, ctx)
            }
            Ok(ws::Message::Continuation(item)) => self.on_fragment(item, ctx),
            Ok(ws::Message::Binary(_)) => self.close(ctx, binary_refused()),
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_) | ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) => {
                self.close_code = reason.as_ref().map(|reason| reason.code.into());
                ctx.close(reason);
                ctx.stop();
            }
            Err(ProtocolError::Overflow) => self.close(ctx, too_big()),
            // The connection broke (the peer vanished): nobody to send a close frame to.
            Err(ProtocolError::Io(err)) => {
                log::debug!("socket {} connection lost: {err}", self.id);
                ctx.stop();
            }
            Err(err) => {
                log::debug!("socket {} protocol error: {err}", self.id);
                self.close(
                    ctx,
                    CloseReason::from((CloseCode::Protocol, "protocol error")),
                );
            }
        }
    }
}
