//! The owner of one Engine.IO connection: an actor ([`Conn`]) holding its
//! transport state (`engine`), the heartbeat's timers and the [`Layer`]
//! riding on it, which writes through an [`Io`].
//!
//! The heartbeat: a ping `pingInterval` after the open and after each pong;
//! no pong `pingTimeout` after a ping ends the connection. It never pauses
//! (an upgrade included: socketioxide #731 leaked connections that way), and
//! each request checks the deadline itself, so a late timer never serves a
//! dead connection.

use std::{future::Future, time::Duration};

use actix::{
    fut::wrap_future, Actor, ActorContext, ActorFutureExt, Addr, AsyncContext, Context, Handler,
    Message,
};
use bytes::Bytes;

use super::{
    engine::{Ending, Engine},
    table::{Scope, Table},
};
use crate::{
    session::RoomId,
    socketio::engine::{EngineConfig, Frame, Packet, Sid, Transport},
};

/// A client message: an Engine.IO `4` packet's text, or a binary message.
#[derive(Debug, Clone)]
pub enum Data {
    /// Text (without the `4`).
    Text(String),
    /// Bytes.
    Binary(Bytes),
}

/// What rides on an Engine.IO connection: it reads the client's messages
/// and writes through [`Io`].
pub trait Layer: Sized + Unpin + 'static {
    /// The connection is open (its owner is running).
    fn opened(&mut self, io: &mut Io<'_, Self>) {
        let _ = io;
    }
    /// One client message, in order.
    fn message(&mut self, data: Data, io: &mut Io<'_, Self>);
    /// The connection ended (`ending` says why); nothing can be sent now.
    fn closed(&mut self, ending: Ending);
    /// The connection moved to a WebSocket.
    fn upgraded(&mut self) {}
}

/// The connections of an endpoint whose connections carry `L`.
pub type Connections<L> = Table<Addr<Conn<L>>>;

/// The actor owning one Engine.IO connection.
pub struct Conn<L: Layer> {
    pub(super) engine: Engine,
    pub(super) layer: L,
    table: &'static Connections<L>,
    scope: Scope,
}

impl<L: Layer> Conn<L> {
    /// Starts the owner of a new connection on `transport`, registered in
    /// `table` under `scope` (the app it belongs to) and bound to the
    /// session `binding`.
    pub fn start(
        layer: L,
        (config, transport, queue_bytes): (EngineConfig, Transport, usize),
        (table, scope, binding): (&'static Connections<L>, Scope, Option<RoomId>),
    ) -> (Sid, Addr<Self>) {
        let sid = Sid::generate();
        let engine = Engine::new(sid.clone(), config, transport, queue_bytes);
        let addr = Self::create(|_| Self {
            engine,
            layer,
            table,
            scope,
        });
        table.insert(sid.clone(), (scope, binding), addr.clone());
        (sid, addr)
    }

    /// The layer and the [`Io`] to write through, borrowed together.
    fn parts<'a>(&'a mut self, ctx: &'a mut Context<Self>) -> (&'a mut L, Io<'a, L>) {
        (
            &mut self.layer,
            Io {
                engine: &mut self.engine,
                ctx,
            },
        )
    }

    /// Runs `f` on the layer, unless the connection has ended.
    fn resume(&mut self, ctx: &mut Context<Self>, f: impl FnOnce(&mut L, &mut Io<'_, L>)) {
        if self.engine.is_ended() {
            return;
        }
        let (layer, mut io) = self.parts(ctx);
        f(layer, &mut io);
        self.settle(ctx);
    }

    /// After any step: stops the actor once the connection is gone.
    pub(super) fn settle(&mut self, ctx: &mut Context<Self>) {
        if self.engine.finished() {
            ctx.stop();
        } else if self.engine.is_ended() {
            // Ended over polling without a poll held: the next GET takes
            // the last word, or the connection goes after a while.
            ctx.run_later(self.engine.linger(), |conn, ctx| {
                conn.engine.finish();
                ctx.stop();
            });
        }
    }

    /// One Engine.IO packet from the client, on either transport.
    pub(super) fn on_packet(&mut self, packet: Packet<'_>, ctx: &mut Context<Self>) {
        match packet {
            Packet::Message(text) => self.deliver(Data::Text(text.to_owned()), ctx),
            Packet::Binary(data) => self.deliver(Data::Binary(data), ctx),
            Packet::Pong(_) => {
                // A pong nobody asked for is ignored (socketioxide #817
                // counted one as a timeout).
                if self.engine.pong_due.take().is_some() {
                    self.schedule_ping(ctx);
                }
            }
            Packet::Close => self.engine.end(Ending::ClientClosed),
            // A v4 client never pings: the heartbeat runs the other way.
            Packet::Ping(_) => self.engine.end(Ending::ParseError),
            Packet::Open(_) | Packet::Upgrade | Packet::Noop => {}
        }
    }

    /// Hands one client message to the layer.
    pub(super) fn deliver(&mut self, data: Data, ctx: &mut Context<Self>) {
        self.resume(ctx, |layer, io| layer.message(data, io));
    }

    fn schedule_ping(&mut self, ctx: &mut Context<Self>) {
        let interval = self.engine.config().ping_interval;
        self.engine.ping_at = Some(std::time::Instant::now() + interval);
        ctx.run_later(interval, Self::ping);
    }

    fn ping(&mut self, ctx: &mut Context<Self>) {
        if self.engine.is_ended() {
            return;
        }
        let timeout = self.engine.config().ping_timeout;
        self.engine.pings += 1;
        // From when the ping was due, however late its timer fired.
        let sent = self
            .engine
            .ping_at
            .take()
            .unwrap_or_else(std::time::Instant::now);
        self.engine.pong_due = Some(sent + timeout);
        self.engine.push(vec![Frame::ping()]);
        let ping = self.engine.pings;
        let left = (sent + timeout).saturating_duration_since(std::time::Instant::now());
        ctx.run_later(left, move |conn, ctx| {
            if conn.engine.pings == ping && conn.engine.pong_due.is_some() {
                conn.engine.end(Ending::Heartbeat);
                conn.settle(ctx);
            }
        });
        self.settle(ctx);
    }

    /// Ends the connection if its pong is overdue; whether it did.
    pub(super) fn pong_overdue(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.engine.pong_overdue(std::time::Instant::now()) {
            self.engine.end(Ending::Heartbeat);
            self.settle(ctx);
            return true;
        }
        false
    }
}

impl<L: Layer> Actor for Conn<L> {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.schedule_ping(ctx);
        self.resume(ctx, |layer, io| layer.opened(io));
    }

    fn stopped(&mut self, _: &mut Context<Self>) {
        let ending = self.engine.finish();
        log::debug!("engine.io connection ended: {ending:?}");
        self.table.remove(self.engine.sid(), self.scope);
        self.layer.closed(ending);
    }
}

/// Work on a layer, sent from another thread.
pub type Task<L> = Box<dyn FnOnce(&mut L, &mut Io<'_, L>) + Send>;

/// Runs its task on the owner's layer (a registry push, say).
pub struct Invoke<L: Layer>(pub Task<L>);

impl<L: Layer> Message for Invoke<L> {
    type Result = ();
}

impl<L: Layer> Handler<Invoke<L>> for Conn<L> {
    type Result = ();

    fn handle(&mut self, Invoke(task): Invoke<L>, ctx: &mut Context<Self>) {
        self.resume(ctx, task);
    }
}

/// One connection's outlet, lent to its layer.
pub struct Io<'a, L: Layer> {
    engine: &'a mut Engine,
    ctx: &'a mut Context<Conn<L>>,
}

impl<L: Layer> Io<'_, L> {
    /// Sends `frames` as one batch (a binary packet and its attachments
    /// travel together).
    pub fn send(&mut self, frames: Vec<Frame>) {
        self.engine.push(frames);
    }

    /// Ends the connection.
    pub fn close(&mut self, ending: Ending) {
        self.engine.end(ending);
    }

    /// The connection's id (the Socket.IO CONNECT reply carries it).
    pub fn sid(&self) -> &str {
        self.engine.sid().as_str()
    }

    /// Which transport carries it now.
    pub fn transport(&self) -> Transport {
        self.engine.transport()
    }

    /// The owner's address, for pushes from elsewhere ([`Invoke`]).
    pub fn addr(&self) -> Addr<Conn<L>> {
        self.ctx.address()
    }

    /// Runs `work`, then `then` with its result on the layer. With
    /// `in_order`, nothing else reaches the layer until it is done.
    pub fn run<T, F, G>(&mut self, work: F, in_order: bool, then: G)
    where
        T: 'static,
        F: Future<Output = T> + 'static,
        G: FnOnce(&mut L, T, &mut Io<'_, L>) + 'static,
    {
        let fut = wrap_future(work).map(move |value, conn: &mut Conn<L>, ctx| {
            conn.resume(ctx, move |layer, io| then(layer, value, io));
        });
        if in_order {
            self.ctx.wait(fut);
        } else {
            self.ctx.spawn(fut);
        }
    }

    /// Runs `then` on the layer after `delay`.
    pub fn later<G>(&mut self, delay: Duration, then: G)
    where
        G: FnOnce(&mut L, &mut Io<'_, L>) + 'static,
    {
        self.ctx
            .run_later(delay, move |conn, ctx| conn.resume(ctx, then));
    }

    /// Runs `then` on the layer every `period`.
    pub fn every<G>(&mut self, period: Duration, then: G)
    where
        G: Fn(&mut L, &mut Io<'_, L>) + 'static,
    {
        self.ctx
            .run_interval(period, move |conn, ctx| conn.resume(ctx, &then));
    }
}
