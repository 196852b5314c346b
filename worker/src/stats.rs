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
    pub fn get(&self) -> (u64, u64, u64, u64) {
        (
            self.bytes.load(Ordering::Relaxed),
            self.parts.load(Ordering::Relaxed),
            self.objects.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}
