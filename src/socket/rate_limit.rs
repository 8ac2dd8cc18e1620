//! A token bucket per socket: a burst of up to `capacity` frames, refilled
//! continuously at `capacity` per second.

use std::time::{Duration, Instant};

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
        let elapsed = now.saturating_duration_since(self.refilled_at);
        self.refilled_at = now;
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
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
    fn the_throttle_allows_once_per_period() {
        let start = Instant::now();
        let mut throttle = Throttle::new(Duration::from_secs(1));
        assert!(throttle.allow(start));
        assert!(!throttle.allow(start + Duration::from_millis(999)));
        assert!(throttle.allow(start + Duration::from_secs(1)));
    }
}
