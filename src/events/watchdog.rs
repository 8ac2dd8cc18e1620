//! The connections being watched: each socket told to close, and each that
//! stopped, is aborted from outside its stream if anything of it is left
//! [`CLOSE_GRACE`] later. Its actor may be frozen behind a full write buffer
//! (a peer that does not read), where no message reaches it; only the
//! connection handle in its [`Outbox`] can end it.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use super::outbox::Outbox;
use crate::sync::lock;

/// How long a socket told to close may take to stop by itself before its
/// connection is aborted.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The watched connections, each with the moment it will be aborted unless
/// it is done by then.
#[derive(Default)]
pub struct Watchdog {
    watched: Mutex<Vec<(Instant, Arc<Outbox>)>>,
}

impl Watchdog {
    /// Aborts `outbox`'s connection [`CLOSE_GRACE`] from now unless done.
    pub fn watch(&self, outbox: &Arc<Outbox>) {
        // Holding the handle of an aborted connection would only keep its
        // socket (and the reset) waiting for the grace.
        if outbox.was_aborted() {
            return;
        }
        lock(&self.watched).push((Instant::now() + CLOSE_GRACE, outbox.clone()));
    }

    /// How many watched connections are still held open.
    pub fn open(&self) -> usize {
        lock(&self.watched)
            .iter()
            .filter(|(_, outbox)| !outbox.is_done())
            .count()
    }

    /// Aborts every watched connection at once.
    pub fn abort_all(&self) {
        let watched = std::mem::take(&mut *lock(&self.watched));
        for (_, outbox) in watched {
            outbox.abort();
        }
    }

    /// Aborts the connections whose grace has passed at `now`.
    pub fn abort_overdue(&self, now: Instant) {
        lock(&self.watched).retain(|(deadline, outbox)| {
            if *deadline > now {
                return true;
            }
            // Aborted even when actix let go of the connection: it gives up
            // on a peer that does not read after `client_disconnect_timeout`
            // and closes with the last frames unsent, which leaves the
            // kernel probing a zero window for minutes. After a clean close
            // this is a no-op, or a reset to a peer that still has not
            // closed its side two seconds later.
            if !outbox.is_done() {
                log::info!("a socket was not done {CLOSE_GRACE:?} after its close: aborting it");
            }
            outbox.abort();
            false
        });
    }
}
