//! A WebSocket of an Engine.IO connection: an `actix-web-actors` actor that
//! forwards each message to the connection's owner ([`FromPipe`]) and
//! writes what the owner tells it (`PipeCmd`). It judges nothing itself:
//! whether it is the connection's transport or an upgrade's probe, and what
//! its messages mean, is the owner's call.

use std::sync::atomic::{AtomicU64, Ordering};

use actix::{Actor, ActorContext, Addr, AsyncContext, Context, Handler, Message, StreamHandler};
use actix_web_actors::ws::{self, ProtocolError, WebsocketContext};
use bytes::Bytes;

use super::{
    engine::{Ending, PipeCmd, PipeLink},
    owner::{Conn, Data, Layer},
    upgrade::PipeRole,
    UPGRADE_TIMEOUT,
};
use crate::{
    net::TcpControl,
    socketio::engine::{Frame, Packet},
};

static NEXT_PIPE: AtomicU64 = AtomicU64::new(1);

/// The actor behind one WebSocket of an Engine.IO connection.
pub struct Pipe<L: Layer> {
    id: u64,
    owner: Addr<Conn<L>>,
    tcp: Option<TcpControl>,
}

impl<L: Layer> Pipe<L> {
    /// A pipe to the connection `owner`, over the TCP connection `tcp`
    /// controls.
    pub fn new(owner: Addr<Conn<L>>, tcp: Option<TcpControl>) -> Self {
        Self {
            id: NEXT_PIPE.fetch_add(1, Ordering::Relaxed),
            owner,
            tcp,
        }
    }

    fn forward(&self, msg: PipeMsg) {
        self.owner.do_send(FromPipe { id: self.id, msg });
    }
}

impl<L: Layer> Actor for Pipe<L> {
    type Context = WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        let to = ctx.address().recipient();
        let tcp = self.tcp.take();
        self.forward(PipeMsg::Attach(PipeLink {
            id: self.id,
            to,
            tcp,
        }));
    }

    fn stopped(&mut self, _: &mut Self::Context) {
        self.forward(PipeMsg::Gone);
    }
}

impl<L: Layer> Handler<PipeCmd> for Pipe<L> {
    type Result = ();

    fn handle(&mut self, cmd: PipeCmd, ctx: &mut Self::Context) {
        match cmd {
            PipeCmd::Frames(frames) => {
                let bytes = frames.iter().map(Frame::len).sum();
                for frame in frames {
                    match frame {
                        Frame::Text(text) => ctx.text(text),
                        Frame::Binary(data) => ctx.binary(data),
                    }
                }
                // This actor runs only while its writes drain: the report
                // stops when the peer stops reading.
                self.forward(PipeMsg::Wrote(bytes));
            }
            PipeCmd::Close => {
                ctx.close(None);
                ctx.stop();
            }
        }
    }
}

impl<L: Layer> StreamHandler<Result<ws::Message, ProtocolError>> for Pipe<L> {
    fn handle(&mut self, msg: Result<ws::Message, ProtocolError>, ctx: &mut Self::Context) {
        match msg {
            Ok(ws::Message::Text(text)) => self.forward(PipeMsg::Text(text.to_string())),
            Ok(ws::Message::Binary(data)) => self.forward(PipeMsg::Binary(data)),
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_) | ws::Message::Nop) => {}
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            // Fragmented messages are not the protocol (engine.io-client
            // never sends them); an oversized one ends the connection
            // unprocessed.
            Ok(ws::Message::Continuation(_)) | Err(_) => {
                self.forward(PipeMsg::Invalid);
                ctx.stop();
            }
        }
    }
}

/// What a pipe tells its owner.
pub enum PipeMsg {
    /// It is open: its mailbox.
    Attach(PipeLink),
    /// A text message.
    Text(String),
    /// A binary message.
    Binary(Bytes),
    /// It wrote this many bytes of what it was sent.
    Wrote(usize),
    /// Something that is not the protocol (too large, fragmented).
    Invalid,
    /// It closed.
    Gone,
}

/// A pipe's message to its owner.
pub struct FromPipe {
    id: u64,
    msg: PipeMsg,
}

impl Message for FromPipe {
    type Result = ();
}

impl<L: Layer> Handler<FromPipe> for Conn<L> {
    type Result = ();

    fn handle(&mut self, FromPipe { id, msg }: FromPipe, ctx: &mut Context<Self>) {
        let role = self.engine.pipe_role(id);
        match (msg, role) {
            (PipeMsg::Wrote(bytes), PipeRole::Transport) => self.engine.wrote(bytes),
            (PipeMsg::Wrote(_), PipeRole::Probe) => {}
            (PipeMsg::Attach(link), _) => {
                self.engine.attach(link);
                if self.engine.pipe_role(id) == PipeRole::Probe {
                    ctx.run_later(UPGRADE_TIMEOUT, move |conn, _| {
                        conn.engine.abandon_upgrade(id);
                    });
                }
            }
            (PipeMsg::Gone | PipeMsg::Invalid, PipeRole::Transport) => {
                self.engine.end(Ending::TransportClosed);
            }
            (PipeMsg::Gone | PipeMsg::Invalid, PipeRole::Probe) => self.engine.abandon_upgrade(id),
            (PipeMsg::Text(text), PipeRole::Probe) => match text.as_str() {
                "2probe" => self.engine.probe(),
                "5" => {
                    self.engine.commit_upgrade();
                    self.layer.upgraded();
                }
                _ => self.engine.abandon_upgrade(id),
            },
            (PipeMsg::Binary(_), PipeRole::Probe) => self.engine.abandon_upgrade(id),
            (PipeMsg::Text(text), PipeRole::Transport) => self.on_text(&text, ctx),
            (PipeMsg::Binary(data), PipeRole::Transport) => {
                let max = self.engine.config().max_payload;
                match Packet::binary(data, max) {
                    Ok(Packet::Binary(data)) => self.deliver(Data::Binary(data), ctx),
                    _ => self.engine.end(Ending::ParseError),
                }
            }
            (_, PipeRole::Stranger) => {}
        }
        self.settle(ctx);
    }
}

impl<L: Layer> Conn<L> {
    /// One text packet from the connection's WebSocket.
    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        if self.pong_overdue(ctx) {
            return;
        }
        let max = self.engine.config().max_payload;
        match Packet::decode(text, max) {
            Ok(packet) => self.on_packet(packet, ctx),
            Err(_) => self.engine.end(Ending::ParseError),
        }
    }
}
