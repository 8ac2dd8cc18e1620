//! Events whose order batches ([`Order::batches`]), gathered per instance
//! and handed to the lobby's sockets together.
//!
//! Such an event changes a state every socket shows (presence, today), and
//! without batching each change is one frame to every socket: N users
//! arriving cost N frames per socket, N(N-1)/2 in all, which turns the
//! reconnect storm after a deploy into a flood. So this instance gathers the
//! orders it sees (its own and those from Redis alike: they merge into one
//! batch) for a set time, starting with the first after the last batch, and
//! then hands the whole batch to every socket at once; each socket turns it
//! into one frame of net changes against what it last showed. Nothing here
//! reads an order: the socket does.
//!
//! Batching here rather than in each socket: one timer and one push per
//! socket per batch, instead of a timer per socket and a push per socket per
//! change; and rather than at the announcing instance: a batch then merges
//! what every instance announced.

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use super::Order;

/// The orders of one batch, shared by every socket it goes to.
#[derive(Debug, Clone)]
pub struct Batch(Arc<[Order]>);

impl Batch {
    /// The orders, in the order they arrived.
    pub fn orders(&self) -> &[Order] {
        &self.0
    }

    /// What the batch weighs in a socket's queue: about the size of the
    /// frame it becomes.
    pub fn weight(&self) -> usize {
        48 + self.0.iter().map(Order::weight).sum::<usize>()
    }
}

/// The batch being gathered.
#[derive(Debug, Default)]
pub(super) struct Batcher {
    every: Duration,
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    orders: Vec<Order>,
    since: Option<Instant>,
}

/// What to do after adding an order.
pub(super) enum Gathered {
    /// Hand this batch out now (batches of no length).
    Now(Batch, Instant),
    /// The first order of a batch: hand it out after this long.
    Later(Duration),
    /// A batch is already waiting for its time.
    Waiting,
}

impl Batcher {
    /// Batches lasting `every` (zero: each order alone, at once).
    pub(super) fn new(every: Duration) -> Self {
        Self {
            every,
            pending: Mutex::default(),
        }
    }

    /// Adds an order to the batch.
    pub(super) fn add(&self, order: Order) -> Gathered {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let first = pending.orders.is_empty();
        pending.orders.push(order);
        let since = *pending.since.get_or_insert_with(Instant::now);
        if self.every.is_zero() {
            pending.since = None;
            let orders = std::mem::take(&mut pending.orders);
            return Gathered::Now(Batch(orders.into()), since);
        }
        if first {
            Gathered::Later(self.every)
        } else {
            Gathered::Waiting
        }
    }

    /// Takes the batch gathered so far, with when its first order came.
    pub(super) fn take(&self) -> Option<(Batch, Instant)> {
        let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let since = pending.since.take()?;
        let orders = std::mem::take(&mut pending.orders);
        Some((Batch(orders.into()), since))
    }
}
