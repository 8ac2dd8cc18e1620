//! The registry: one actor per process that knows which sockets belong to
//! which room (session), so an event for a session reaches all of its sockets.
//!
//! It never touches the store: it only routes. Events are serialised once per
//! event here, not once per socket.

use std::collections::HashMap;

use actix::{Actor, Context, Handler, Message, MessageResult, Recipient};
use bytestring::ByteString;

use super::protocol::{Close, ServerEvent};
use crate::session::RoomId;

/// Identifies one socket within this process.
pub type SocketId = u64;

/// What the registry asks of a socket.
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum Push {
    /// The session's count is now `count`; `frame` is the ready-made text.
    Count {
        /// The new count (a socket never shows a lower one than it showed).
        count: u64,
        /// The serialised `current count` frame.
        frame: ByteString,
    },
    /// Close with this code.
    Close(Close),
    /// Reload the session now (events may have been missed).
    Reload,
}

/// A socket opened: add it to its room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    /// The socket's session room.
    pub room: RoomId,
    /// The socket.
    pub id: SocketId,
    /// Where to push events for it.
    pub socket: Recipient<Push>,
}

/// A socket ended (in any way): forget it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Leave {
    /// The socket's session room.
    pub room: RoomId,
    /// The socket.
    pub id: SocketId,
}

/// Tell every socket of a room the session's new count.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Notify {
    /// The session room.
    pub room: RoomId,
    /// The new count.
    pub count: u64,
}

/// Close every socket of a room.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    /// The session room.
    pub room: RoomId,
    /// Why.
    pub close: Close,
}

/// Push to every socket in this process (shutdown, resubscription).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Broadcast(pub Push);

/// How many sockets of a room this process holds.
#[derive(Message)]
#[rtype(result = "usize")]
pub struct RoomSize(pub RoomId);

/// How many sockets and distinct sessions this process holds.
#[derive(Message)]
#[rtype(result = "Stats")]
pub struct GetStats;

/// The registry's counts, as `/healthz` reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Open sockets.
    pub sockets: usize,
    /// Distinct sessions with at least one open socket.
    pub sessions: usize,
}

/// The room → sockets index.
#[derive(Default)]
pub struct Registry {
    rooms: HashMap<RoomId, HashMap<SocketId, Recipient<Push>>>,
    sockets: usize,
}

impl Registry {
    fn push(&self, room: RoomId, push: &Push) {
        if let Some(sockets) = self.rooms.get(&room) {
            for socket in sockets.values() {
                socket.do_send(push.clone());
            }
        }
    }
}

impl Actor for Registry {
    type Context = Context<Self>;
}

impl Handler<Join> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) {
        if self
            .rooms
            .entry(msg.room)
            .or_default()
            .insert(msg.id, msg.socket)
            .is_none()
        {
            self.sockets += 1;
        }
    }
}

impl Handler<Leave> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Leave, _: &mut Context<Self>) {
        if let Some(sockets) = self.rooms.get_mut(&msg.room) {
            if sockets.remove(&msg.id).is_some() {
                self.sockets -= 1;
            }
            if sockets.is_empty() {
                self.rooms.remove(&msg.room);
            }
        }
    }
}

impl Handler<Notify> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Notify, _: &mut Context<Self>) {
        if self.rooms.contains_key(&msg.room) {
            let frame = ServerEvent::CurrentCount(msg.count).to_text();
            self.push(
                msg.room,
                &Push::Count {
                    count: msg.count,
                    frame,
                },
            );
        }
    }
}

impl Handler<Disconnect> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) {
        self.push(msg.room, &Push::Close(msg.close));
    }
}

impl Handler<Broadcast> for Registry {
    type Result = ();

    fn handle(&mut self, msg: Broadcast, _: &mut Context<Self>) {
        for socket in self.rooms.values().flat_map(HashMap::values) {
            socket.do_send(msg.0.clone());
        }
    }
}

impl Handler<RoomSize> for Registry {
    type Result = usize;

    fn handle(&mut self, msg: RoomSize, _: &mut Context<Self>) -> usize {
        self.rooms.get(&msg.0).map_or(0, HashMap::len)
    }
}

impl Handler<GetStats> for Registry {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _: GetStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult(Stats {
            sockets: self.sockets,
            sessions: self.rooms.len(),
        })
    }
}
