//! One socket's outbox, as the senders see it: how many bytes of frames wait
//! for it, whether it is ending and why, when its peer last proved it was
//! alive, and the handle that ends its connection from outside.
//!
//! Senders never wait for a socket: they add a frame's size here and enqueue
//! it, or, when the socket's budget would be exceeded, mark the socket
//! ending instead. The socket subtracts each frame's size as it takes the
//! frame. Everything is atomics, so a delivery to a thousand sockets takes no
//! lock per socket.

use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
        OnceLock,
    },
    time::{Duration, Instant},
};

use crate::{net::TcpControl, protocol::Close};

/// Why a socket is ending; the first decision stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Closed with this code (logout, renewal, shutdown, too slow).
    Closed(Close),
    /// Its peer stopped answering pings: dropped without a close frame.
    Dead,
}

/// What became of a frame offered to a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Counted; enqueue it.
    Taken,
    /// It would overflow the queue: the socket is now ending as too slow.
    Overflowed,
    /// The socket is already ending: drop the frame.
    Refused,
}

/// One socket's outbox; shared by the socket and the registry.
#[derive(Debug)]
pub struct Outbox {
    queued: AtomicUsize,
    limit: usize,
    ending: OnceLock<Ending>,
    /// Milliseconds since [`epoch`] when the peer last answered a ping.
    alive_at: AtomicU64,
    /// Set once the socket has stopped, however.
    ended: AtomicBool,
    /// Set once its connection was aborted: nothing is left to watch.
    aborted: AtomicBool,
    tcp: Option<TcpControl>,
}

impl Outbox {
    /// An outbox holding at most `limit` bytes of waiting frames, for a
    /// connection that `tcp` can end (none in unit tests).
    pub fn new(limit: usize, tcp: Option<TcpControl>) -> Self {
        Self {
            queued: AtomicUsize::new(0),
            limit,
            ending: OnceLock::new(),
            alive_at: AtomicU64::new(now_ms()),
            ended: AtomicBool::new(false),
            aborted: AtomicBool::new(false),
            tcp,
        }
    }

    /// Counts a frame of `bytes` into the queue, unless that would pass the
    /// limit (the socket then starts ending as too slow) or it is ending.
    pub fn offer(&self, bytes: usize) -> Offer {
        if self.ending.get().is_some() {
            return Offer::Refused;
        }
        let before = self.queued.fetch_add(bytes, Ordering::Relaxed);
        if before + bytes <= self.limit {
            return Offer::Taken;
        }
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
        if self.end(Ending::Closed(Close::TooSlow)) {
            Offer::Overflowed
        } else {
            Offer::Refused
        }
    }

    /// The socket took a frame of `bytes` off its queue.
    pub fn took(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes of frames waiting.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Decides that the socket ends, for `why`; true if this was the first
    /// decision.
    pub fn end(&self, why: Ending) -> bool {
        self.ending.set(why).is_ok()
    }

    /// Why the socket is ending, once decided.
    pub fn ending(&self) -> Option<Ending> {
        self.ending.get().copied()
    }

    /// The peer answered a ping.
    pub fn alive(&self) {
        self.alive_at.store(now_ms(), Ordering::Relaxed);
    }

    /// How long since the peer last answered a ping (or the socket opened).
    pub fn silent_for(&self) -> Duration {
        Duration::from_millis(now_ms().saturating_sub(self.alive_at.load(Ordering::Relaxed)))
    }

    /// The socket has stopped: nothing is left to end.
    pub fn stopped(&self) {
        self.ended.store(true, Ordering::Release);
        if let Some(tcp) = &self.tcp {
            tcp.stop_reading();
        }
    }

    /// Whether nothing is left to end: the connection was let go of by
    /// actix (a stopped socket may still be stuck writing its last frames to
    /// a peer that does not read), or, without a connection, the socket
    /// stopped.
    pub fn is_done(&self) -> bool {
        match &self.tcp {
            Some(tcp) => tcp.is_released(),
            None => self.ended.load(Ordering::Acquire),
        }
    }

    /// Ends the connection now, from outside its stream.
    pub fn abort(&self) {
        self.aborted.store(true, Ordering::Release);
        if let Some(tcp) = &self.tcp {
            tcp.abort();
        }
    }

    /// Whether its connection was aborted already.
    pub fn was_aborted(&self) -> bool {
        self.aborted.load(Ordering::Acquire)
    }
}

/// Milliseconds on a monotonic clock shared by every outbox.
fn now_ms() -> u64 {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    let elapsed = EPOCH.get_or_init(Instant::now).elapsed();
    u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_past_its_limit_ends_the_socket_as_too_slow_once() {
        let outbox = Outbox::new(100, None);
        assert_eq!(outbox.offer(60), Offer::Taken);
        assert_eq!(outbox.offer(40), Offer::Taken);
        assert_eq!(outbox.offer(1), Offer::Overflowed);
        assert_eq!(outbox.ending(), Some(Ending::Closed(Close::TooSlow)));
        assert_eq!(outbox.offer(1), Offer::Refused);
        assert_eq!(outbox.queued(), 100);
        outbox.took(60);
        assert_eq!(outbox.queued(), 40);
    }

    #[test]
    fn the_first_decision_stands() {
        let outbox = Outbox::new(100, None);
        assert!(outbox.end(Ending::Dead));
        assert!(!outbox.end(Ending::Closed(Close::Logout)));
        assert_eq!(outbox.ending(), Some(Ending::Dead));
        assert_eq!(outbox.offer(1), Offer::Refused);
    }
}
