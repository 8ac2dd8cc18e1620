//! Durations as the store and the wire count them, and deadlines that cannot
//! overflow: one spelling of each, used everywhere.

use std::time::{Duration, Instant};

/// A deadline far enough away to mean "never" (about a century), where an
/// addition would overflow.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 86_400);

/// Whole milliseconds in `duration`, saturating at `u64::MAX` (Redis `PX`
/// arguments, outbox clocks, history ages).
pub fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The instant `ttl` after `from`; a `ttl` too long to represent means "about
/// a century from now", never "now", so a huge lifetime cannot end at once.
pub fn deadline(from: Instant, ttl: Duration) -> Instant {
    from.checked_add(ttl)
        .or_else(|| from.checked_add(FAR_FUTURE))
        .unwrap_or(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_saturates() {
        assert_eq!(millis(Duration::from_millis(1_500)), 1_500);
        assert_eq!(millis(Duration::MAX), u64::MAX);
    }

    #[test]
    fn a_huge_ttl_is_far_away_not_now() {
        let now = Instant::now();
        assert_eq!(
            deadline(now, Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        assert!(deadline(now, Duration::MAX) > now + Duration::from_secs(86_400 * 365));
    }
}
