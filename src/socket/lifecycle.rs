//! [`Socket`]: one client connection of the bridge, whatever carries its
//! frames. It is in the registry from [`Socket::open`] to
//! [`Socket::closed`], shows what the registry pushes through its view, and
//! gates what the client sends with its budgets. Everything it sends goes
//! through its transport's [`Outlet`].

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use bytestring::ByteString;

use super::{
    rate_limit::{Throttle, TokenBucket},
    view::View,
    Settings, FRAME_BUDGET,
};
use crate::{
    events::{Ending, Mailbox, Outbox, Push, SocketEntry},
    net::TcpControl,
    protocol::{Close, FrameError, ServerEvent},
    services::Services,
    session::{RoomId, SessionData, SessionId, SocketId},
    telemetry,
};

static NEXT_SOCKET_ID: AtomicU64 = AtomicU64::new(1);

/// Where a socket's output goes: implemented by each transport, which
/// frames it its own way.
pub trait Outlet {
    /// Sends one server frame (`{"event": ..., "data": ...}` JSON text).
    fn send(&mut self, frame: ByteString);
    /// Ends the socket with `close` (nothing is sent after it).
    fn close(&mut self, close: Close);
    /// Ends the socket without a word: its peer stopped answering, and the
    /// watchdog aborts the connection.
    fn abandon(&mut self);
}

/// One socket's state, owned by its transport (the `GET /ws` actor).
pub struct Socket {
    pub(super) id: SocketId,
    pub(super) session: SessionId,
    pub(super) room: RoomId,
    /// The session's login name when it is logged in; fixed for the socket's
    /// life (a login renews the key, which closes the socket).
    pub(super) user: Option<String>,
    pub(super) services: Services,
    pub(super) settings: Settings,
    /// The transport's name, for the metrics' `transport` label.
    transport: &'static str,
    opened: Instant,
    /// Its queue budget and ending, shared with the registry.
    outbox: Arc<Outbox>,
    pub(super) view: View,
    /// Whether presence counts this socket (so it is uncounted once).
    pub(super) counted: bool,
    budget: TokenBucket,
    rate_notice: Throttle,
}

impl Socket {
    /// A socket of session `session`, whose data the handshake read, carried
    /// by `transport` over the connection that `tcp` controls.
    pub fn new(
        services: Services,
        settings: Settings,
        transport: &'static str,
        (session, data): (SessionId, &SessionData),
        tcp: Option<TcpControl>,
    ) -> Self {
        Self {
            outbox: Arc::new(Outbox::new(settings.queue_bytes, tcp)),
            id: NEXT_SOCKET_ID.fetch_add(1, Ordering::Relaxed),
            room: services.sessions.room(&session),
            user: data.user().map(str::to_owned),
            session,
            services,
            settings,
            transport,
            opened: Instant::now(),
            view: View::default(),
            counted: false,
            budget: TokenBucket::new(FRAME_BUDGET, FRAME_BUDGET),
            rate_notice: Throttle::new(Duration::from_secs(1)),
        }
    }

    /// Its id within this process.
    pub fn id(&self) -> SocketId {
        self.id
    }

    /// How often it reloads its session.
    pub fn reload_interval(&self) -> Duration {
        self.settings.reload_interval
    }

    /// The socket is now carried by `transport` (a Socket.IO upgrade from
    /// polling to WebSocket): the metrics' `transport` label follows it.
    pub fn moved_to(&mut self, transport: &'static str) {
        metrics::gauge!(telemetry::SOCKETS, "transport" => self.transport).decrement(1.0);
        metrics::gauge!(telemetry::SOCKETS, "transport" => transport).increment(1.0);
        self.transport = transport;
    }

    /// The peer proved it reads (it echoed a ping): the watchdog keeps it.
    pub fn alive(&self) {
        self.outbox.alive();
    }

    /// Joins the registry, pushes going to `mailbox`. Every socket pins its
    /// session once here and unpins it once in [`Socket::closed`]: the store
    /// counts them, so the last one to close unpins the session.
    pub fn open(&mut self, mailbox: Box<dyn Mailbox>) {
        log::info!("socket opened: room={} socket={}", self.room, self.id);
        metrics::gauge!(telemetry::SOCKETS, "transport" => self.transport).increment(1.0);
        self.services.sessions.pin(&self.session);
        self.services.events.registry().join(
            self.id,
            SocketEntry {
                room: self.room,
                user: self.user.clone(),
                mailbox,
                outbox: self.outbox.clone(),
            },
        );
    }

    /// Shows what the registry pushed. Returns `true` when the socket must
    /// read a snapshot next (a resync: events may have been missed).
    pub fn deliver(&mut self, push: Push, out: &mut impl Outlet) -> bool {
        match &push {
            Push::Frame { frame, .. } => self.outbox.took(frame.len()),
            Push::Batch(batch) => self.outbox.took(batch.weight()),
            Push::Close(_) | Push::Resync => {}
        }
        // Once the socket is ending, nothing else it was sent matters.
        match self.outbox.ending() {
            Some(Ending::Closed(close)) => {
                out.close(close);
                return false;
            }
            Some(Ending::Dead) => {
                out.abandon();
                return false;
            }
            None => {}
        }
        match push {
            Push::Frame { order, frame } => {
                if self.view.admits(&order) {
                    out.send(frame);
                }
            }
            Push::Batch(batch) => {
                let (online, offline) = self.view.show_presence(batch.orders());
                send_presence(out, &online, &offline);
            }
            Push::Close(close) => out.close(close),
            Push::Resync => return true,
        }
        false
    }

    /// Takes one frame (a client message) from the socket's budget; a frame
    /// over budget is dropped unprocessed.
    pub fn admit(&mut self) -> Result<(), FrameError> {
        if self.budget.take(Instant::now()) {
            Ok(())
        } else {
            Err(FrameError::RateLimited)
        }
    }

    /// Tells the client of a refused frame that asked for no answer: an
    /// `error` frame, `rate_limited` at most once a second.
    pub fn notify(&mut self, error: FrameError, out: &mut impl Outlet) {
        if error != FrameError::RateLimited || self.rate_notice.allow(Instant::now()) {
            out.send(ServerEvent::error(error).to_text());
        }
    }

    /// Leaves as a socket whose peer stopped answering its transport's
    /// heartbeat (a Socket.IO connection's missed pong): counted as
    /// `heartbeat`, like one the watchdog dropped.
    pub fn timed_out(&mut self) {
        self.outbox.end(Ending::Dead);
        self.closed(None);
    }

    /// Leaves the registry and presence, whatever ended it; `code` is the
    /// close code sent or received (`None`: the connection broke).
    pub fn closed(&mut self, code: Option<u16>) {
        let registry = self.services.events.registry();
        registry.leave(self.id);
        self.outbox.stopped();
        registry.watch(&self.outbox);
        metrics::gauge!(telemetry::SOCKETS, "transport" => self.transport).decrement(1.0);
        let label = close_label(code, self.outbox.ending());
        metrics::counter!(telemetry::SOCKET_CLOSES, "code" => label).increment(1);
        self.services.sessions.unpin(&self.session);
        if let (true, Some(user)) = (self.counted, self.user.clone()) {
            let presence = self.services.presence.clone();
            actix_web::rt::spawn(async move {
                if let Err(err) = presence.leave(&user).await {
                    log::warn!("could not count a socket out of presence: {err}");
                }
            });
        }
        let code = code.map_or_else(|| "none".to_owned(), |code| code.to_string());
        log::info!(
            "socket closed: room={} socket={} code={code} duration={:.1?}",
            self.room,
            self.id,
            self.opened.elapsed()
        );
    }
}

/// Sends one `presence` frame, unless nothing changed.
pub(super) fn send_presence(out: &mut impl Outlet, online: &[Arc<str>], offline: &[Arc<str>]) {
    if !online.is_empty() || !offline.is_empty() {
        out.send(ServerEvent::Presence { online, offline }.to_text());
    }
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
