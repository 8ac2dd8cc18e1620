//! What the registry knows of each socket, and its index: sockets by id,
//! by session room and by user, so an audience is a lookup.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
};

use bytestring::ByteString;

use super::{batch::Batch, outbox::Outbox, Audience, Order};
use crate::{protocol::Close, session::RoomId, session::SocketId};

/// What the registry asks of a socket.
#[derive(Clone, Debug)]
pub enum Push {
    /// Show `frame` if `order` allows it.
    Frame {
        /// What the socket checks first.
        order: Order,
        /// The serialised frame.
        frame: ByteString,
    },
    /// Show what this batch of orders changes for the socket (one frame).
    Batch(Batch),
    /// Close with this code.
    Close(Close),
    /// Events may have been missed (the Redis subscription was lost): reload
    /// the session and catch up with the lobby.
    Resync,
}

/// Where the registry hands a socket its pushes: whatever carries the
/// socket's frames (an actor's address, say). It must only enqueue,
/// never block: it runs under the registry's lock.
pub trait Mailbox: Send + Sync {
    /// Enqueues `push` for the socket; a socket that has ended drops it.
    fn push(&self, push: Push);
}

/// One socket, as the registry knows it.
pub struct SocketEntry {
    /// Its session's room.
    pub room: RoomId,
    /// Its user, when its session is logged in.
    pub user: Option<String>,
    /// Where to push to it.
    pub mailbox: Box<dyn Mailbox>,
    /// Its queue budget, ending and connection handle.
    pub outbox: Arc<Outbox>,
}

/// The sockets by id, by room and by user, kept in step.
#[derive(Default)]
pub struct Index {
    pub(super) sockets: HashMap<SocketId, SocketEntry>,
    pub(super) rooms: HashMap<RoomId, HashSet<SocketId>>,
    pub(super) users: HashMap<String, HashSet<SocketId>>,
}

impl Index {
    /// The sockets of `to`.
    pub fn audience(&self, to: &Audience) -> impl Iterator<Item = (SocketId, &SocketEntry)> {
        let ids: Box<dyn Iterator<Item = &SocketId>> = match to {
            Audience::Session(room) => Box::new(self.rooms.get(room).into_iter().flatten()),
            Audience::User(user) => Box::new(self.users.get(user).into_iter().flatten()),
            Audience::Lobby => Box::new(self.sockets.keys()),
        };
        ids.filter_map(|id| self.sockets.get(id).map(|socket| (*id, socket)))
    }

    /// Indexes a socket by room and user.
    pub fn insert(&mut self, id: SocketId, entry: SocketEntry) {
        self.rooms.entry(entry.room).or_default().insert(id);
        if let Some(user) = &entry.user {
            self.users.entry(user.clone()).or_default().insert(id);
        }
        self.sockets.insert(id, entry);
    }

    /// Forgets a socket, and its room and user once they have no socket.
    pub fn remove(&mut self, id: SocketId) -> Option<SocketEntry> {
        let entry = self.sockets.remove(&id)?;
        if let Some(sockets) = self.rooms.get_mut(&entry.room) {
            sockets.remove(&id);
            if sockets.is_empty() {
                self.rooms.remove(&entry.room);
            }
        }
        if let Some(user) = &entry.user {
            if let Some(sockets) = self.users.get_mut(user) {
                sockets.remove(&id);
                if sockets.is_empty() {
                    self.users.remove(user);
                }
            }
        }
        Some(entry)
    }
}
