//! Rate limits: a token bucket per socket for its frames (a burst of up to
//! `capacity`, refilled continuously), and one per session on this instance
//! for its chat messages, shared by the session's sockets.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use crate::session::RoomId;

/// One socket's frame budget.
#[derive(Debug)]
pub struct TokenBucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
    refilled_at: Instant,
}

impl TokenBucket {
    /// A full bucket of `capacity` tokens refilling at `per_second`.
    pub fn new(capacity: u32, per_second: u32) -> Self {
        Self {
            capacity: f64::from(capacity),
            tokens: f64::from(capacity),
            per_second: f64::from(per_second),
            refilled_at: Instant::now(),
        }
    }

    /// Takes one token at `now`; `false` when the budget is spent.
    pub fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is full at `now`, so that forgetting it and starting
    /// a new one later changes nothing.
    pub fn is_full(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.capacity
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.refilled_at = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
    }
}

/// How many sessions' chat buckets are kept before full ones are forgotten.
const CHAT_BUCKETS_KEPT: usize = 1024;

/// The chat budget of each session on this instance (`CHAT_RATE` a second,
/// bursts of twice as many), shared by all of a session's sockets, so more
/// sockets do not buy more messages. Cheap to clone.
///
/// A full bucket is the same as a new one, so once the map grows past
/// `CHAT_BUCKETS_KEPT` the full ones are dropped (at most once a second):
/// it holds only the sessions that posted within the last two seconds or so.
#[derive(Clone)]
pub struct ChatLimiter {
    rate: u32,
    buckets: Arc<Mutex<ChatBuckets>>,
}

struct ChatBuckets {
    by_room: HashMap<RoomId, TokenBucket>,
    pruned_at: Instant,
}

impl ChatLimiter {
    /// `rate` messages a second per session, in bursts of `2 * rate`.
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            buckets: Arc::new(Mutex::new(ChatBuckets {
                by_room: HashMap::new(),
                pruned_at: Instant::now(),
            })),
        }
    }

    /// Whether the session `room` may post a message at `now`.
    pub fn allow(&self, room: RoomId, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.by_room.len() >= CHAT_BUCKETS_KEPT
            && now.saturating_duration_since(buckets.pruned_at) >= Duration::from_secs(1)
        {
            buckets.by_room.retain(|_, bucket| !bucket.is_full(now));
            buckets.pruned_at = now;
        }
        let rate = self.rate;
        buckets
            .by_room
            .entry(room)
            .or_insert_with(|| TokenBucket::new(rate.saturating_mul(2), rate))
            .take(now)
    }
}

/// Lets something happen at most once per `every` (the `rate_limited` notice).
#[derive(Debug)]
pub struct Throttle {
    every: Duration,
    last: Option<Instant>,
}

impl Throttle {
    /// At most once per `every`.
    pub fn new(every: Duration) -> Self {
        Self { every, last: None }
    }

    /// Whether it may happen at `now` (and, if so, records that it did).
    pub fn allow(&mut self, now: Instant) -> bool {
        let allowed = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.every);
        if allowed {
            self.last = Some(now);
        }
        allowed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_capped_and_refills_over_time() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(100, 100);
        assert_eq!((0..150).filter(|_| bucket.take(start)).count(), 100);
        assert!(!bucket.take(start));
        let later = start + Duration::from_millis(100);
        assert_eq!((0..50).filter(|_| bucket.take(later)).count(), 10);
        let much_later = later + Duration::from_secs(60);
        assert_eq!((0..150).filter(|_| bucket.take(much_later)).count(), 100);
    }

    #[test]
    fn a_session_posts_a_double_burst_then_at_its_rate_across_sockets() {
        use crate::session::{RoomKey, SessionId};
        let rooms = RoomKey::new(&actix_web::cookie::Key::generate());
        let (a, b) = (
            rooms.room(&SessionId::generate()),
            rooms.room(&SessionId::generate()),
        );
        let limiter = ChatLimiter::new(5);
        let (one, two) = (limiter.clone(), limiter);
        let start = Instant::now();
        let burst = (0..20)
            .filter(|i| if i % 2 == 0 { &one } else { &two }.allow(a, start))
            .count();
        assert_eq!(burst, 10);
        assert!(one.allow(b, start), "another session has its own budget");
        let later = start + Duration::from_millis(400);
        assert_eq!((0..5).filter(|_| two.allow(a, later)).count(), 2);
    }

    #[test]
    fn the_throttle_allows_once_per_period() {
        let start = Instant::now();
        let mut throttle = Throttle::new(Duration::from_secs(1));
        assert!(throttle.allow(start));
        assert!(!throttle.allow(start + Duration::from_millis(999)));
        assert!(throttle.allow(start + Duration::from_secs(1)));
    }
}
