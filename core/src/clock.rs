//! The time the rules that span minutes or hours read (backlogs, stalls, continuation chains):
//! the system's clock in a deployment, or one a test sets and steps, so hours of a rule pass
//! in a test that runs in seconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, from the system or from a test.
#[derive(Debug, Clone, Default)]
pub struct Clock(Option<Arc<AtomicU64>>);

impl Clock {
    /// The system's clock.
    pub fn system() -> Self {
        Clock(None)
    }

    /// A clock that stands at `secs` until [`Clock::advance`] moves it; clones share it.
    pub fn manual(secs: u64) -> Self {
        Clock(Some(Arc::new(AtomicU64::new(secs))))
    }

    /// Seconds since the Unix epoch.
    pub fn now_secs(&self) -> u64 {
        match &self.0 {
            Some(t) => t.load(Ordering::SeqCst),
            None => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        }
    }

    /// Moves a manual clock `secs` forward. The system's clock cannot be moved: returns false.
    pub fn advance(&self, secs: u64) -> bool {
        match &self.0 {
            Some(t) => {
                t.fetch_add(secs, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let c = Clock::manual(1_000);
        let twin = c.clone();
        assert_eq!(c.now_secs(), 1_000);
        assert!(c.advance(3_600));
        assert_eq!(twin.now_secs(), 4_600);
        let sys = Clock::system();
        assert!(!sys.advance(10));
        assert!(sys.now_secs() > 1_700_000_000);
    }
}
