//! The embedded store's ended sessions: how each ended, by room id, with a
//! deadline; at most as many of each kind as the store holds sessions (the
//! oldest is forgotten first), swept with the sessions.

use std::{
    collections::{HashMap, VecDeque},
    time::{Duration, Instant},
};

use crate::{clock::deadline, session::RoomId, store::Ended};

/// The remembered ends.
pub(super) struct MemoryEnded {
    rooms: HashMap<RoomId, (Ended, Instant)>,
    /// Per kind, in the order remembered (each kind has one TTL, so this is
    /// also the order of their deadlines).
    order: [VecDeque<(Instant, RoomId)>; 2],
    capacity: usize,
}

impl MemoryEnded {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            rooms: HashMap::new(),
            order: Default::default(),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn remember(&mut self, room: RoomId, how: Ended, ttl: Duration) {
        let until = deadline(Instant::now(), ttl);
        let order = &mut self.order[how as usize];
        if order.len() >= self.capacity {
            if let Some((at, oldest)) = order.pop_front() {
                if self
                    .rooms
                    .get(&oldest)
                    .is_some_and(|(_, until)| *until == at)
                {
                    self.rooms.remove(&oldest);
                }
            }
        }
        order.push_back((until, room));
        self.rooms.insert(room, (how, until));
    }

    pub(super) fn get(&self, room: &RoomId) -> Option<Ended> {
        let now = Instant::now();
        self.rooms
            .get(room)
            .filter(|(_, until)| *until > now)
            .map(|(how, _)| *how)
    }

    pub(super) fn sweep(&mut self, now: Instant) {
        for order in &mut self.order {
            while order.front().is_some_and(|(until, _)| *until <= now) {
                if let Some((until, room)) = order.pop_front() {
                    if self.rooms.get(&room).is_some_and(|(_, at)| *at == until) {
                        self.rooms.remove(&room);
                    }
                }
            }
        }
    }
}
