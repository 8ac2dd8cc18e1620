//! The transport state of one Engine.IO connection, without I/O of its own:
//! which transport carries it (and an upgrade in progress), the queue of
//! packets a poll has not taken yet, the held poll, the WebSocket pipe, the
//! heartbeat's deadline, and how it ended. Its owner (`Conn`) calls it one
//! message at a time; its only I/O is telling pipes what to write.

use std::{collections::VecDeque, time::Instant};

use actix::{Message, Recipient};
use tokio::sync::oneshot;

use crate::{
    net::TcpControl,
    socketio::engine::{encode_payload, EngineConfig, EngineError, Frame, Sid, Transport},
};

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The client sent `1`.
    ClientClosed,
    /// No pong within `pingTimeout`.
    Heartbeat,
    /// The client sent something that is not the protocol (or too large).
    ParseError,
    /// A second GET while one was held, or a second POST.
    Overlap,
    /// More queued than `SOCKET_QUEUE_BYTES`.
    TooSlow,
    /// The WebSocket carrying it closed or broke.
    TransportClosed,
    /// The layer ended it with this close code (the app's 4000, 4001, 1001…).
    Server(u16),
}

/// What a poll is answered.
#[derive(Debug)]
pub enum Reply {
    /// 200 with this payload.
    Body(String),
    /// The Engine.IO error.
    Refused(EngineError),
}

/// What the owner tells a WebSocket pipe.
pub enum PipeCmd {
    /// Write these frames, in order.
    Frames(Vec<Frame>),
    /// Close the WebSocket (after what was written).
    Close,
}

impl Message for PipeCmd {
    type Result = ();
}

/// How long a WebSocket told to close may take before its TCP connection
/// is aborted (a peer that stopped reading freezes the pipe behind a full
/// write buffer, where it cannot close).
const CLOSE_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A WebSocket pipe, as its owner writes to it.
pub struct PipeLink {
    /// Its id within this process.
    pub id: u64,
    /// Its mailbox.
    pub to: Recipient<PipeCmd>,
    /// Its TCP connection, to abort when it does not close.
    pub tcp: Option<TcpControl>,
}

impl PipeLink {
    /// Tells the pipe to close, and aborts its connection if it is still
    /// held after [`CLOSE_GRACE`].
    pub fn close(self) {
        self.to.do_send(PipeCmd::Close);
        if let Some(tcp) = self.tcp {
            actix_web::rt::spawn(async move {
                tokio::time::sleep(CLOSE_GRACE).await;
                if !tcp.is_released() {
                    tcp.abort();
                }
            });
        }
    }
}

/// Which transport carries the connection.
pub(super) enum Mode {
    Polling,
    /// A WebSocket with the connection's sid is on probation.
    Upgrading {
        probe: PipeLink,
        probed: bool,
    },
    WebSocket,
}

/// One connection's transport state.
pub struct Engine {
    sid: Sid,
    config: EngineConfig,
    pub(super) mode: Mode,
    pub(super) queue: VecDeque<Frame>,
    pub(super) queued: usize,
    queue_limit: usize,
    held: Option<(u64, oneshot::Sender<Reply>)>,
    pub(super) pipe: Option<PipeLink>,
    next_token: u64,
    /// When the pong to the last ping is due; `None` when not waiting.
    pub(super) pong_due: Option<Instant>,
    /// When the next ping is due to be sent (its timer may fire late on a
    /// busy machine; the pong's deadline counts from this, not from then).
    pub(super) ping_at: Option<Instant>,
    /// Counts pings, so a stale timeout check does nothing.
    pub(super) pings: u64,
    ending: Option<Ending>,
    finished: bool,
    posting: bool,
}

impl Engine {
    /// A new connection opened on `transport`.
    pub fn new(sid: Sid, config: EngineConfig, transport: Transport, queue_limit: usize) -> Self {
        // A WebSocket connection's first frame is its open packet; a polling
        // one's is the handshake's response.
        let mut queue = VecDeque::new();
        if transport == Transport::WebSocket {
            queue.push_back(config.open(&sid, transport));
        }
        Self {
            sid,
            config,
            mode: match transport {
                Transport::Polling => Mode::Polling,
                Transport::WebSocket => Mode::WebSocket,
            },
            queue,
            queued: 0,
            queue_limit,
            held: None,
            pipe: None,
            next_token: 0,
            pong_due: None,
            ping_at: None,
            pings: 0,
            ending: None,
            finished: false,
            posting: false,
        }
    }

    pub fn sid(&self) -> &Sid {
        &self.sid
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Which transport carries it now.
    pub fn transport(&self) -> Transport {
        match self.mode {
            Mode::WebSocket => Transport::WebSocket,
            _ => Transport::Polling,
        }
    }

    /// Whether it has ended (it may still hand a poll its `1`).
    pub fn is_ended(&self) -> bool {
        self.ending.is_some()
    }

    /// Whether it is gone: nothing more is served.
    pub fn finished(&self) -> bool {
        self.finished
    }

    /// Sends `frames` as one batch: on the WebSocket, or queued for the next
    /// poll (beyond the queue's limit the connection ends, too slow).
    pub fn push(&mut self, frames: Vec<Frame>) {
        if self.is_ended() || frames.is_empty() {
            return;
        }
        // Over a WebSocket, `queued` counts the bytes the pipe has not
        // written yet: a pipe frozen by a peer that does not read stops
        // reporting, and the connection ends as too slow.
        let bytes: usize = frames.iter().map(Frame::len).sum();
        if self.queued.saturating_add(bytes) > self.queue_limit {
            return self.end(Ending::TooSlow);
        }
        self.queued += bytes;
        if let (Mode::WebSocket, Some(pipe)) = (&self.mode, &self.pipe) {
            pipe.to.do_send(PipeCmd::Frames(frames));
            return;
        }
        self.queue.extend(frames);
        if !matches!(self.mode, Mode::Upgrading { .. }) {
            self.answer_held_with_queue();
        }
    }

    fn take_queue(&mut self) -> String {
        let body = encode_payload(self.queue.iter());
        self.queue.clear();
        self.queued = 0;
        body
    }

    pub(super) fn answer_held_with_queue(&mut self) {
        if self.queue.is_empty() {
            return;
        }
        if let Some((_, tx)) = self.held.take() {
            let _ = tx.send(Reply::Body(self.take_queue()));
        }
    }

    pub(super) fn answer_held(&mut self, body: &str) {
        if let Some((_, tx)) = self.held.take() {
            let _ = tx.send(Reply::Body(body.to_owned()));
        }
    }

    /// Whether the pong is overdue (the heartbeat's timer may not have run
    /// yet): a request checks it before being served.
    pub fn pong_overdue(&self, now: Instant) -> bool {
        // A ping whose timer has not fired yet counts as sent on time: the
        // client could not have answered it by its deadline either.
        let due = self
            .pong_due
            .or_else(|| Some(self.ping_at? + self.config().ping_timeout));
        due.is_some_and(|due| now >= due)
    }

    /// A polling GET: answered now, held (the token says which), or refused.
    pub fn poll(&mut self, tx: oneshot::Sender<Reply>) -> Option<u64> {
        let refuse = |tx: oneshot::Sender<Reply>, error| {
            let _ = tx.send(Reply::Refused(error));
            None
        };
        if self.finished {
            return refuse(tx, EngineError::UnknownSid);
        }
        if let Some(ending) = self.ending {
            // Ended by the server: this poll takes what is left and the `1`;
            // closed by the client's POST a moment ago: `6`, as the poll it
            // raced with would have had.
            let body = match ending {
                Ending::ClientClosed => "6".to_owned(),
                _ => {
                    self.queue.push_back(Frame::close());
                    self.take_queue()
                }
            };
            let _ = tx.send(Reply::Body(body));
            self.finished = true;
            return None;
        }
        if matches!(self.mode, Mode::WebSocket) {
            return refuse(tx, EngineError::BadRequest);
        }
        if self.held.is_some() {
            // Overlapping polls: the held one gets `1`, the newcomer 400.
            self.answer_held("1");
            self.end(Ending::Overlap);
            return refuse(tx, EngineError::BadRequest);
        }
        if matches!(self.mode, Mode::Polling) && !self.queue.is_empty() {
            let _ = tx.send(Reply::Body(self.take_queue()));
            return None;
        }
        self.next_token += 1;
        self.held = Some((self.next_token, tx));
        Some(self.next_token)
    }

    /// Whether the held poll `token` is held during an upgrade.
    pub fn upgrading(&self) -> bool {
        matches!(self.mode, Mode::Upgrading { .. })
    }

    /// The upgrade hold of poll `token` is over: `6` while still upgrading,
    /// 400 once upgraded (the poll came after the `5`).
    pub fn upgrade_hold_over(&mut self, token: u64) {
        if self.held.as_ref().is_some_and(|(held, _)| *held == token) {
            match self.mode {
                Mode::WebSocket => {
                    if let Some((_, tx)) = self.held.take() {
                        let _ = tx.send(Reply::Refused(EngineError::BadRequest));
                    }
                }
                _ => self.answer_held("6"),
            }
        }
    }

    /// A POST begins: refused while another is in flight (which ends the
    /// connection), or on the wrong transport.
    pub fn begin_post(&mut self) -> Result<(), EngineError> {
        if self.is_ended() {
            return Err(EngineError::UnknownSid);
        }
        if matches!(self.mode, Mode::WebSocket) {
            return Err(EngineError::BadRequest);
        }
        if self.posting {
            self.end(Ending::Overlap);
            return Err(EngineError::BadRequest);
        }
        self.posting = true;
        Ok(())
    }

    /// The pipe wrote `bytes` of what it was sent.
    pub fn wrote(&mut self, bytes: usize) {
        self.queued = self.queued.saturating_sub(bytes);
    }

    /// The POST in flight is done.
    pub fn end_post(&mut self) {
        self.posting = false;
    }

    /// Ends the connection. Over a WebSocket the pipe closes (after what was
    /// sent); over polling the held poll is answered (`6` after the client's
    /// `1`, else `1`), or, when the server ended it, the next poll takes `1`.
    pub fn end(&mut self, ending: Ending) {
        if self.ending.is_some() {
            return;
        }
        self.ending = Some(ending);
        self.pong_due = None;
        if let Mode::Upgrading { .. } = self.mode {
            if let Mode::Upgrading { probe, .. } = std::mem::replace(&mut self.mode, Mode::Polling)
            {
                probe.close();
            }
        }
        if let Some(pipe) = self.pipe.take() {
            pipe.close();
            self.finished = true;
            return;
        }
        let answer = match ending {
            Ending::ClientClosed => "6",
            _ => "1",
        };
        if self.held.is_some() {
            let body = match ending {
                Ending::Server(_) | Ending::TooSlow if !self.queue.is_empty() => {
                    self.queue.push_back(Frame::close());
                    self.take_queue()
                }
                _ => answer.to_owned(),
            };
            self.answer_held(&body);
            self.finished = true;
        } else {
            self.finished = !matches!(
                ending,
                Ending::Server(_) | Ending::TooSlow | Ending::ClientClosed
            );
        }
    }

    /// How long an ended connection waits for the poll that takes its last
    /// word: a server's `1` (after a logout's DISCONNECT, say) up to 5 s;
    /// after the client's `1`, a poll racing with that POST briefly.
    pub fn linger(&self) -> std::time::Duration {
        match self.ending {
            Some(Ending::ClientClosed) => std::time::Duration::from_millis(500),
            _ => std::time::Duration::from_secs(5),
        }
    }

    /// Gone for good: every pipe closed, any held poll answered `1`.
    pub fn finish(&mut self) -> Ending {
        self.end(Ending::TransportClosed);
        self.answer_held("1");
        self.finished = true;
        self.ending.unwrap_or(Ending::TransportClosed)
    }
}
