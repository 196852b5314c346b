//! The rules shared by every connection of the proxy, and the rules that make a connection
//! wait (`hold_next_put`, `throttle_uploads`, `pause_uploads`, `slow_copies`, `latency`).

use super::{Request, RuleCounts, S3Rules};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// The rules behind a lock, with their counts.
#[derive(Debug, Default)]
pub struct SharedRules {
    pub rules: Mutex<S3Rules>,
    pub counts: RuleCounts,
    pub hold: Hold,
    /// `throttle_uploads`: 0 is no limit.
    pub upload_bytes_per_sec: AtomicU64,
    /// `pause_uploads`: milliseconds each UploadPart body stops for; 0 is none.
    pub upload_pause_ms: AtomicU64,
    /// `slow_copies`: milliseconds a CopyObject takes at S3; 0 is as fast as the emulator.
    pub copy_ms: AtomicU64,
    /// `latency`: milliseconds every request waits before it is forwarded; 0 is none.
    pub latency_ms: AtomicU64,
}

impl SharedRules {
    pub fn throttle_uploads(&self, bytes_per_sec: u64) {
        self.upload_bytes_per_sec.store(bytes_per_sec, Ordering::SeqCst);
    }

    pub fn pause_uploads(&self, pause: std::time::Duration) {
        self.upload_pause_ms.store(pause.as_millis() as u64, Ordering::SeqCst);
    }

    /// A fixed delay before every request: the distance to a real endpoint, so that
    /// concurrency, not the emulator's CPU, limits a client (the bench's latency model).
    pub fn latency(&self, each: std::time::Duration) {
        self.latency_ms.store(each.as_millis() as u64, Ordering::SeqCst);
    }

    /// The delay of the `latency` rule, if set.
    pub fn request_latency(&self) -> Option<std::time::Duration> {
        let ms = self.latency_ms.load(Ordering::SeqCst);
        (ms > 0).then(|| std::time::Duration::from_millis(ms))
    }

    pub fn slow_copies(&self, takes: std::time::Duration) {
        self.copy_ms.store(takes.as_millis() as u64, Ordering::SeqCst);
    }

    /// How long S3 takes to answer `req` when it is a CopyObject under `slow_copies`.
    pub fn copy_time(&self, req: &Request) -> Option<std::time::Duration> {
        let ms = self.copy_ms.load(Ordering::SeqCst);
        let copy_object =
            req.method == "PUT" && req.header("x-amz-copy-source").is_some() && !req.has_query("partNumber");
        (ms > 0 && copy_object).then(|| std::time::Duration::from_millis(ms))
    }

    /// How long an upload of `req`'s body stops after its first bytes, if at all.
    pub fn upload_pause(&self, req: &Request) -> Option<std::time::Duration> {
        let ms = self.upload_pause_ms.load(Ordering::SeqCst);
        (ms > 0 && req.method == "PUT" && req.has_query("partNumber")).then(|| std::time::Duration::from_millis(ms))
    }

    /// The rate an upload of `req`'s body is held to, if any.
    pub fn upload_rate(&self, req: &Request) -> Option<u64> {
        let rate = self.upload_bytes_per_sec.load(Ordering::SeqCst);
        (rate > 0 && req.method == "PUT" && req.has_query("partNumber")).then_some(rate)
    }
}

/// `hold_next_put`: the next PutObject waits until [`Hold::release`].
#[derive(Debug, Default)]
pub struct Hold {
    next_put: AtomicBool,
    /// True while a PutObject waits.
    pub holding: AtomicBool,
    release: tokio::sync::Notify,
}

impl Hold {
    pub fn hold_next_put(&self) {
        self.next_put.store(true, Ordering::SeqCst);
    }

    pub fn release(&self) {
        self.release.notify_one();
    }

    /// Waits here when `req` is the PutObject to hold.
    pub async fn wait_if_held(&self, req: &Request) {
        let put = req.is_object_write() && !req.has_query("partNumber");
        if put && self.next_put.swap(false, Ordering::SeqCst) {
            self.holding.store(true, Ordering::SeqCst);
            self.release.notified().await;
            self.holding.store(false, Ordering::SeqCst);
        }
    }
}
