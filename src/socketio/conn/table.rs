//! The connections of one endpoint on this instance, by `sid` (each its
//! owner's address). A request
//! whose `sid` is not here is unknown (400 code 1): with several instances
//! and no sticky sessions, a request that lands on another instance than
//! its connection's owner is refused that way, and the client reconnects.

use std::{collections::HashMap, sync::Mutex};

use crate::{session::RoomId, socketio::engine::Sid, sync::lock};

/// Which app a connection belongs to, when several share a table (tests
/// run several apps in one process): a request of one never finds another's.
pub type Scope = usize;

/// A connection as the table knows it.
struct Entry<A> {
    scope: Scope,
    binding: Option<RoomId>,
    addr: A,
}

/// The connections' owners, by `sid`.
pub struct Table<A>(Mutex<Option<HashMap<Sid, Entry<A>>>>);

/// A connection found: its owner, and the session its requests must carry
/// a cookie of (`None`: any request may use it).
pub struct Found<A> {
    /// The owner.
    pub addr: A,
    /// The session's room, when bound.
    pub binding: Option<RoomId>,
}

impl<A: Clone> Table<A> {
    /// An empty table (usable in a `static`).
    pub const fn new() -> Self {
        Self(Mutex::new(None))
    }

    pub(super) fn insert(&self, sid: Sid, (scope, binding): (Scope, Option<RoomId>), addr: A) {
        let entry = Entry {
            scope,
            binding,
            addr,
        };
        lock(&self.0)
            .get_or_insert_with(HashMap::new)
            .insert(sid, entry);
    }

    pub(super) fn remove(&self, sid: &Sid, scope: Scope) {
        let mut table = lock(&self.0);
        let Some(map) = table.as_mut() else { return };
        if map.get(sid).is_some_and(|entry| entry.scope == scope) {
            map.remove(sid);
        }
    }

    /// The owner of connection `sid` of app `scope`, if it is here.
    pub fn find(&self, sid: &Sid, scope: Scope) -> Option<Found<A>> {
        let table = lock(&self.0);
        let entry = table.as_ref()?.get(sid)?;
        (entry.scope == scope).then(|| Found {
            addr: entry.addr.clone(),
            binding: entry.binding,
        })
    }

    /// How many connections are open.
    pub fn len(&self) -> usize {
        lock(&self.0).as_ref().map_or(0, HashMap::len)
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<A: Clone> Default for Table<A> {
    fn default() -> Self {
        Self::new()
    }
}
