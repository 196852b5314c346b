//! Counters shared by the copies of one process: progress bar, metrics and tests read them.

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Stats {
    pub bytes: AtomicU64,
    pub parts: AtomicU64,
    pub objects: AtomicU64,
    pub failed: AtomicU64,
}

impl Stats {
    pub fn add_bytes(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_part(&self) {
        self.parts.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add_object(&self) {
        self.objects.fetch_add(1, Ordering::Relaxed);
    }
    pub fn add_failed(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
    }
    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            bytes: self.bytes.load(Ordering::Relaxed),
            parts: self.parts.load(Ordering::Relaxed),
            objects: self.objects.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// What the counters of [`Stats`] held at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Bytes written to destinations.
    pub bytes: u64,
    /// Parts sent (multipart copies).
    pub parts: u64,
    /// Objects copied.
    pub objects: u64,
    /// Copy attempts that failed.
    pub failed: u64,
}
