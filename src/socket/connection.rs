//! One actor per WebSocket: parses frames, answers errors, pings the peer,
//! reloads its session on a timer, and is in the registry from `started` to
//! `stopped`, whatever ended it.
//!
//! Whether the peer is alive is judged outside the actor, by the registry's
//! watchdog, from when the peer last echoed a ping (each ping carries fresh
//! random bytes, so a client that does not read cannot answer): an actor
//! whose client stopped reading is frozen behind actix-http's full write
//! buffer and could not judge anything. Pushes are counted in and out of the
//! socket's [`Outbox`], which bounds what waits for it.
//!
//! Store calls made from here are bounded by [`STORE_TIMEOUT`]. Most are
//! spawned (`ctx.spawn`), so a slow store never freezes the heartbeat. Three
//! are awaited with `ctx.wait`, which holds every other event back: the
//! opening read (no frame may overtake the opening frames), a resync (live
//! lobby frames must follow the missed ones) and a chat post (a socket's
//! messages keep their order).

use std::{
    io,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use actix::{
    fut::wrap_future, Actor, ActorContext, ActorFutureExt, AsyncContext, Handler, StreamHandler,
};
use actix_http::ws::Item;
use actix_web_actors::ws::{self, CloseCode, CloseReason, ProtocolError};

use super::{
    rate_limit::{Throttle, TokenBucket},
    view::View,
    SocketServices,
};
use crate::{
    events::{Ending, Outbox, Push, SocketEntry, SocketId},
    net::TcpControl,
    protocol::{ChatText, ClientEvent, Close, FrameError, ServerEvent},
    services::LobbyView,
    session::{RoomId, SessionData, SessionId},
    store::{Roster, StoreError},
    telemetry,
};

/// How often the server pings.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// How long a peer that echoes no ping is kept.
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
    /// The session's login name when it is logged in; fixed for the socket's
    /// life (a login renews the key, which closes the socket).
    user: Option<String>,
    services: SocketServices,
    opened: Instant,
    /// Its queue budget and ending, shared with the registry.
    outbox: Arc<Outbox>,
    /// The payloads of the last two pings: a pong echoing either proves the
    /// peer reads (a pong may cross the next ping).
    pings: [[u8; 8]; 2],
    view: View,
    /// Whether presence counts this socket (so it is uncounted once).
    counted: bool,
    budget: TokenBucket,
    rate_notice: Throttle,
    /// A fragmented text message being reassembled.
    partial: Option<Vec<u8>>,
    /// The close code, for the log line (`None`: the peer vanished).
    close_code: Option<u16>,
}

/// What a socket reads when it opens or resyncs.
struct Snapshot {
    data: SessionData,
    roster: Roster,
    lobby: LobbyView,
}

/// Why a snapshot could not be read.
enum Unread {
    /// The session no longer exists: close like this.
    Gone(Close),
    /// The store failed or was too slow; try again later.
    Store(String),
}

impl From<StoreError> for Unread {
    fn from(err: StoreError) -> Self {
        Self::Store(err.to_string())
    }
}

impl Connection {
    /// A socket of session `session`, whose data the handshake read, on the
    /// connection that `tcp` controls.
    pub fn new(
        session: SessionId,
        data: &SessionData,
        services: SocketServices,
        tcp: Option<TcpControl>,
    ) -> Self {
        let now = Instant::now();
        Self {
            outbox: Arc::new(Outbox::new(services.queue_bytes, tcp)),
            pings: [rand::random(); 2],
            id: NEXT_SOCKET_ID.fetch_add(1, Ordering::Relaxed),
            room: services.sessions.room(&session),
            user: data.user().map(str::to_owned),
            session,
            services,
            opened: now,
            view: View::default(),
            counted: false,
            budget: TokenBucket::new(FRAME_BUDGET, FRAME_BUDGET),
            rate_notice: Throttle::new(Duration::from_secs(1)),
            partial: None,
            close_code: None,
        }
    }

    fn close_label(&self) -> &'static str {
        close_label(self.close_code, self.outbox.ending())
    }

    fn close(&mut self, ctx: &mut ws::WebsocketContext<Self>, reason: CloseReason) {
        self.close_code = Some(reason.code.into());
        ctx.close(Some(reason));
        ctx.stop();
    }

    /// Reads the session, presence and the lobby, counting this socket's user
    /// in presence first (so the roster includes it). Independent reads go
    /// out together (one round trip on Redis's multiplexed connection). Frozen
    /// meanwhile (`ctx.wait`): pushes queue and are then filtered against
    /// what it shows.
    fn snapshot(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let services = self.services.clone();
        let (id, user, counted) = (self.session.clone(), self.user.clone(), self.counted);
        let read = async move {
            let mut counted = counted;
            let read = async {
                let join = async {
                    match (&user, counted) {
                        (Some(user), false) => services.presence.join(user).await.map(|()| true),
                        _ => Ok(counted),
                    }
                };
                let (data, joined, lobby) = tokio::join!(
                    services.sessions.for_socket(&id),
                    join,
                    services.lobby.read()
                );
                counted = joined?;
                let data = data?.map_err(Unread::Gone)?;
                let roster = services.presence.roster().await?;
                Ok(Snapshot {
                    data,
                    roster,
                    lobby: lobby?,
                })
            };
            let result = match tokio::time::timeout(STORE_TIMEOUT, read).await {
                Ok(result) => result,
                Err(_) => Err(Unread::Store("timed out".to_owned())),
            };
            (counted, result)
        };
        ctx.wait(
            wrap_future(read).map(|(counted, result), act: &mut Self, ctx| {
                act.counted = counted;
                match result {
                    Ok(snapshot) => act.show(ctx, &snapshot),
                    Err(Unread::Gone(close)) => act.close(ctx, close.into()),
                    // Not gone, just unreachable: the next reload tries again.
                    Err(Unread::Store(err)) => {
                        log::warn!("socket {} could not read its state: {err}", act.id)
                    }
                }
            }),
        );
    }

    /// Shows a snapshot: the opening frames the first time, what changed
    /// since after a resync.
    fn show(&mut self, ctx: &mut ws::WebsocketContext<Self>, snapshot: &Snapshot) {
        let Snapshot {
            data,
            roster,
            lobby,
        } = snapshot;
        if !self.view.greeted() {
            self.view.show_count(data.count);
            ctx.text(ServerEvent::Session(data).to_text());
            self.view.show_roster(&roster.online, roster.version);
            ctx.text(ServerEvent::PresenceState(&roster.online).to_text());
            let history: Vec<_> = lobby.messages.iter().map(|(_, message)| message).collect();
            ctx.text(ServerEvent::ChatHistory(&history).to_text());
            self.view.show_history_up_to(lobby.head);
            return;
        }
        if self.view.show_count(data.count) {
            ctx.text(ServerEvent::CurrentCount(data.count).to_text());
        }
        let (mut online, mut offline) = (Vec::new(), Vec::new());
        for (name, is_online) in self.view.show_roster(&roster.online, roster.version) {
            if is_online { &mut online } else { &mut offline }.push(Arc::from(name));
        }
        show_presence(ctx, &online, &offline);
        for (seq, message) in &lobby.messages {
            if *seq > self.view.seq() {
                ctx.text(ServerEvent::Chat(message).to_text());
            }
        }
        self.view.show_history_up_to(lobby.head);
    }

    /// Reloads the session: gone closes the socket (4000 when it was logged
    /// out, else 4001); a store error does not, and the next interval tries
    /// again. A socket that could not greet
    /// yet greets instead.
    fn reload(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if !self.view.greeted() {
            return self.snapshot(ctx);
        }
        let (sessions, id) = (self.services.sessions.clone(), self.session.clone());
        let load =
            async move { tokio::time::timeout(STORE_TIMEOUT, sessions.for_socket(&id)).await };
        ctx.spawn(
            wrap_future(load).map(|loaded, act: &mut Self, ctx| match loaded {
                Ok(Ok(Ok(data))) => {
                    if act.view.show_count(data.count) {
                        ctx.text(ServerEvent::CurrentCount(data.count).to_text());
                    }
                }
                Ok(Ok(Err(close))) => act.close(ctx, close.into()),
                Ok(Err(err)) => log::warn!("socket {} could not reload its session: {err}", act.id),
                Err(_) => log::warn!("socket {} could not reload its session: timed out", act.id),
            }),
        );
    }

    fn incr(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let (sessions, id) = (self.services.sessions.clone(), self.session.clone());
        let incr =
            async move { tokio::time::timeout(STORE_TIMEOUT, sessions.increment(&id)).await };
        ctx.spawn(
            wrap_future(incr).map(|result, act: &mut Self, ctx| match result {
                // The new count comes back through the registry, like every socket's.
                Ok(Ok(Some(_))) => {}
                Ok(Ok(None)) => act.close(ctx, Close::SessionExpired.into()),
                Ok(Err(err)) => act.unavailable(ctx, "increment", &err.to_string()),
                Err(_) => act.unavailable(ctx, "increment", "timed out"),
            }),
        );
    }

    /// Posts to the lobby. One post at a time (`ctx.wait`), so a socket's
    /// messages keep the order it sent them in.
    fn chat(&mut self, ctx: &mut ws::WebsocketContext<Self>, text: Result<ChatText, FrameError>) {
        let Some(name) = self.user.clone() else {
            return ctx.text(ServerEvent::error(FrameError::LoginRequired).to_text());
        };
        let text = match text {
            Ok(text) => text,
            Err(error) => return ctx.text(ServerEvent::error(error).to_text()),
        };
        let now = Instant::now();
        if !self.services.chat_limit.allow(self.room, now) {
            if self.rate_notice.allow(now) {
                ctx.text(ServerEvent::error(FrameError::RateLimited).to_text());
            }
            return;
        }
        let lobby = self.services.lobby.clone();
        let post =
            async move { tokio::time::timeout(STORE_TIMEOUT, lobby.post(&name, &text)).await };
        ctx.wait(
            wrap_future(post).map(|result, act: &mut Self, ctx| match result {
                // The message comes back through the lobby, like every socket's.
                Ok(Ok(())) => {}
                Ok(Err(err)) => act.unavailable(ctx, "post", &err.to_string()),
                Err(_) => act.unavailable(ctx, "post", "timed out"),
            }),
        );
    }

    fn unavailable(&mut self, ctx: &mut ws::WebsocketContext<Self>, what: &str, err: &str) {
        log::warn!("socket {} could not {what}: {err}", self.id);
        ctx.text(ServerEvent::error(FrameError::Unavailable).to_text());
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
            Ok(ClientEvent::Chat(text)) => self.chat(ctx, text),
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
                Err(_) => self.close(ctx, not_utf8()),
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

/// Sends one `presence` frame, unless nothing changed.
fn show_presence(
    ctx: &mut ws::WebsocketContext<Connection>,
    online: &[Arc<str>],
    offline: &[Arc<str>],
) {
    if !online.is_empty() || !offline.is_empty() {
        ctx.text(ServerEvent::Presence { online, offline }.to_text());
    }
}

fn not_utf8() -> CloseReason {
    CloseReason::from((CloseCode::Invalid, "text must be UTF-8"))
}

/// actix-web-actors reports a text frame that is not UTF-8 as an I/O error
/// of kind `Other` carrying the `Utf8Error`'s text (its `ws.rs`), not as a
/// protocol error of its own; a broken connection's errors never mention
/// UTF-8. `tests/api/hostile.rs` pins this down.
fn is_invalid_utf8(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Other && err.to_string().contains("utf-8")
}

/// The `code` label of a socket that ended: a close code of the contract,
/// `heartbeat`, `error`, or `other` for a code a client made up (labels come
/// from a fixed set).
fn close_label(code: Option<u16>, ending: Option<Ending>) -> &'static str {
    match (code, ending) {
        (Some(1000), _) => "1000",
        (Some(1001), _) => "1001",
        (Some(1003), _) => "1003",
        (Some(1007), _) => "1007",
        (Some(1009), _) => "1009",
        (Some(4000), _) => "4000",
        (Some(4001), _) => "4001",
        (Some(4002), _) => "4002",
        (Some(_), _) => "other",
        (None, Some(Ending::Dead)) => "heartbeat",
        (None, Some(Ending::Closed(close))) => close_label(Some(close.code()), None),
        (None, None) => "error",
    }
}

impl Actor for Connection {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        log::info!("socket opened: room={} socket={}", self.room, self.id);
        metrics::gauge!(telemetry::SOCKETS, "transport" => "ws").increment(1.0);
        // Every socket pins once and unpins once (in `stopped`): the store
        // counts them, so the last one to close unpins the session.
        self.services.sessions.pin(&self.session);
        self.services.registry.join(
            self.id,
            SocketEntry {
                room: self.room,
                user: self.user.clone(),
                recipient: ctx.address().recipient(),
                outbox: self.outbox.clone(),
            },
        );
        ctx.run_interval(HEARTBEAT_INTERVAL, |act, ctx| {
            let payload: [u8; 8] = rand::random();
            act.pings = [act.pings[1], payload];
            ctx.ping(&payload);
        });
        ctx.run_interval(self.services.reload_interval, Self::reload);
        // Joined first, read second: an event emitted in between is in the
        // snapshot or arrives as a push, and pushes queue until it is shown.
        self.snapshot(ctx);
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.services.registry.leave(self.id);
        self.outbox.stopped();
        self.services.registry.watch(&self.outbox);
        metrics::gauge!(telemetry::SOCKETS, "transport" => "ws").decrement(1.0);
        metrics::counter!(telemetry::SOCKET_CLOSES, "code" => self.close_label()).increment(1);
        self.services.sessions.unpin(&self.session);
        if let (true, Some(user)) = (self.counted, self.user.clone()) {
            let presence = self.services.presence.clone();
            actix_web::rt::spawn(async move {
                if let Err(err) = presence.leave(&user).await {
                    log::warn!("could not count a socket out of presence: {err}");
                }
            });
        }
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
        match &push {
            Push::Frame { frame, .. } => self.outbox.took(frame.len()),
            Push::Batch(batch) => self.outbox.took(batch.weight()),
            Push::Close(_) | Push::Resync => {}
        }
        // Once the socket is ending, nothing else it was sent matters.
        match self.outbox.ending() {
            Some(Ending::Closed(close)) => return self.close(ctx, close.into()),
            Some(Ending::Dead) => return ctx.stop(),
            None => {}
        }
        match push {
            Push::Frame { order, frame } => {
                if self.view.admits(&order) {
                    ctx.text(frame);
                }
            }
            Push::Batch(batch) => {
                let (online, offline) = self.view.show_presence(batch.orders());
                show_presence(ctx, &online, &offline);
            }
            Push::Close(close) => self.close(ctx, close.into()),
            Push::Resync => self.snapshot(ctx),
        }
    }
}

impl StreamHandler<Result<ws::Message, ProtocolError>> for Connection {
    fn handle(&mut self, msg: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
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
            Ok(ws::Message::Pong(payload)) => {
                if self.pings.iter().any(|ping| payload[..] == ping[..]) {
                    self.outbox.alive();
                }
            }
            Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) => {
                self.close_code = reason.as_ref().map(|reason| reason.code.into());
                ctx.close(reason);
                ctx.stop();
            }
            Err(ProtocolError::Overflow) => self.close(ctx, too_big()),
            Err(ProtocolError::Io(err)) if is_invalid_utf8(&err) => self.close(ctx, not_utf8()),
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
