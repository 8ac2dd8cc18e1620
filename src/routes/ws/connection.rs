//! One actor per `GET /ws` WebSocket: it holds the socket core ([`Socket`])
//! and carries its frames. It pings the peer, applies the framing rules
//! (`frames`), runs the store calls the socket asks for, and reloads the
//! session on a timer; the socket is in the registry from `started` to
//! `stopped`, whatever ended it.
//!
//! Whether the peer is alive is judged outside the actor, by the registry's
//! watchdog, from when the peer last echoed a ping (each ping carries fresh
//! random bytes, so a client that does not read cannot answer): an actor
//! whose client stopped reading is frozen behind actix-http's full write
//! buffer and could not judge anything.
//!
//! Most store calls are spawned (`ctx.spawn`), so a slow store never
//! freezes the heartbeat. Three are awaited with `ctx.wait`, which holds
//! every other event back: the snapshot on open (no frame may overtake the
//! opening frames), a resync (live lobby frames must follow the missed ones)
//! and a command that must keep the client's order (a chat post).

use std::time::Duration;

use actix::{
    fut::wrap_future, Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, Handler, Message,
    StreamHandler,
};
use actix_web_actors::ws::{self, CloseReason, ProtocolError, WebsocketContext};
use bytestring::ByteString;

use super::frames::{self, Fragments};
use crate::{
    events::{Mailbox, Push},
    protocol::Close,
    socket::{Command, Outlet, Socket},
};

/// How often the server pings.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// The actor behind one WebSocket.
pub struct Connection {
    socket: Socket,
    /// The payloads of the last two pings: a pong echoing either proves the
    /// peer reads (a pong may cross the next ping).
    pings: [[u8; 8]; 2],
    fragments: Fragments,
    /// The close code, for the log line (`None`: the peer vanished).
    close_code: Option<u16>,
}

type Context = WebsocketContext<Connection>;

/// What the socket sends, as WebSocket frames on this actor's context.
struct Frames<'a> {
    ctx: &'a mut Context,
    close_code: &'a mut Option<u16>,
}

impl Outlet for Frames<'_> {
    fn send(&mut self, frame: ByteString) {
        self.ctx.text(frame);
    }

    fn close(&mut self, close: Close) {
        *self.close_code = Some(close.code());
        self.ctx.close(Some(frames::close_reason(close)));
        self.ctx.stop();
    }

    fn abandon(&mut self) {
        self.ctx.stop();
    }
}

/// A registry push, as an actor message.
struct Delivery(Push);

impl Message for Delivery {
    type Result = ();
}

/// The registry's way into the actor: its mailbox (`do_send` only enqueues).
struct ActorMailbox(Addr<Connection>);

impl Mailbox for ActorMailbox {
    fn push(&self, push: Push) {
        self.0.do_send(Delivery(push));
    }
}

impl Connection {
    /// The actor for `socket`.
    pub fn new(socket: Socket) -> Self {
        Self {
            socket,
            pings: [rand::random(); 2],
            fragments: Fragments::default(),
            close_code: None,
        }
    }

    /// The socket and the outlet to its client, borrowed together.
    fn parts<'a>(&'a mut self, ctx: &'a mut Context) -> (&'a mut Socket, Frames<'a>) {
        let frames = Frames {
            ctx,
            close_code: &mut self.close_code,
        };
        (&mut self.socket, frames)
    }

    fn close(&mut self, ctx: &mut Context, reason: CloseReason) {
        self.close_code = Some(reason.code.into());
        ctx.close(Some(reason));
        ctx.stop();
    }

    /// Reads and shows a snapshot, holding every other event back meanwhile.
    fn snapshot(&mut self, ctx: &mut Context) {
        let read = self.socket.read_snapshot();
        ctx.wait(wrap_future(read).map(|opening, act: &mut Self, ctx| {
            let (socket, mut out) = act.parts(ctx);
            socket.show_snapshot(opening, &mut out);
        }));
    }

    /// Reloads the session; a socket that could not greet yet greets instead.
    fn reload(&mut self, ctx: &mut Context) {
        if !self.socket.greeted() {
            return self.snapshot(ctx);
        }
        let reload = self.socket.reload();
        ctx.spawn(wrap_future(reload).map(|reloaded, act: &mut Self, ctx| {
            let (socket, mut out) = act.parts(ctx);
            socket.show_reload(reloaded, &mut out);
        }));
    }

    fn run(&mut self, ctx: &mut Context, command: Command) {
        let work = wrap_future(command.work).map(|outcome, act: &mut Self, ctx| {
            let (socket, mut out) = act.parts(ctx);
            // No acknowledgements on `GET /ws`: a value also reached every
            // socket of the audience; only an error is the sender's alone.
            if let Some(Err(error)) = socket.finish(outcome, &mut out) {
                socket.notify(error, &mut out);
            }
        });
        if command.in_order {
            ctx.wait(work);
        } else {
            ctx.spawn(work);
        }
    }

    fn on_text(&mut self, text: &str, ctx: &mut Context) {
        let (socket, mut out) = self.parts(ctx);
        if let Some(command) = socket.receive(text, &mut out) {
            self.run(ctx, command);
        }
    }
}

impl Actor for Connection {
    type Context = Context;

    fn started(&mut self, ctx: &mut Context) {
        self.socket.open(Box::new(ActorMailbox(ctx.address())));
        ctx.run_interval(HEARTBEAT_INTERVAL, |act, ctx| {
            let payload: [u8; 8] = rand::random();
            act.pings = [act.pings[1], payload];
            ctx.ping(&payload);
        });
        ctx.run_interval(self.socket.reload_interval(), Self::reload);
        // Joined first, read second: an event emitted in between is in the
        // snapshot or arrives as a push, and pushes queue until it is shown.
        self.snapshot(ctx);
    }

    fn stopped(&mut self, _: &mut Context) {
        self.socket.closed(self.close_code);
    }
}

impl Handler<Delivery> for Connection {
    type Result = ();

    fn handle(&mut self, Delivery(push): Delivery, ctx: &mut Context) {
        let (socket, mut out) = self.parts(ctx);
        if socket.deliver(push, &mut out) {
            self.snapshot(ctx);
        }
    }
}

impl StreamHandler<Result<ws::Message, ProtocolError>> for Connection {
    fn handle(&mut self, msg: Result<ws::Message, ProtocolError>, ctx: &mut Context) {
        match msg {
            Ok(ws::Message::Text(_)) if self.fragments.pending() => {
                self.close(ctx, frames::protocol_error("expected a continuation"));
            }
            Ok(ws::Message::Text(text)) => self.on_text(&text, ctx),
            Ok(ws::Message::Continuation(item)) => match self.fragments.add(item) {
                Ok(Some(text)) => self.on_text(&text, ctx),
                Ok(None) => {}
                Err(reason) => self.close(ctx, reason),
            },
            Ok(ws::Message::Binary(_)) => self.close(ctx, frames::binary_refused()),
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(payload)) => {
                if self.pings.iter().any(|ping| payload[..] == ping[..]) {
                    self.socket.alive();
                }
            }
            Ok(ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) => {
                self.close_code = reason.as_ref().map(|reason| reason.code.into());
                ctx.close(reason);
                ctx.stop();
            }
            Err(ProtocolError::Overflow) => self.close(ctx, frames::too_big()),
            Err(ProtocolError::Io(err)) if frames::is_invalid_utf8(&err) => {
                self.close(ctx, frames::not_utf8());
            }
            // The connection broke (the peer vanished): nobody to send a close frame to.
            Err(ProtocolError::Io(err)) => {
                log::debug!("socket {} connection lost: {err}", self.socket.id());
                ctx.stop();
            }
            Err(err) => {
                log::debug!("socket {} protocol error: {err}", self.socket.id());
                self.close(ctx, frames::protocol_error("protocol error"));
            }
        }
    }
}
