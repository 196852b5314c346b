//! The worker's figures per object as CloudWatch EMF lines (see `s3_migrate_core::emf`),
//! printed in Lambda only: on a terminal stdout is for people.

use s3_migrate_core::emf::{now_ms, render};
use std::sync::atomic::{AtomicBool, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns EMF output on (Lambda) or off (CLI).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// One object's figures.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct ObjectMetrics {
    pub bytes_transferred: u64,
    pub objects_completed: u64,
    pub parts_uploaded: u64,
    pub objects_failed: u64,
    pub object_seconds: f64,
}

impl ObjectMetrics {
    /// The EMF line for these figures.
    pub fn to_emf(&self, timestamp_ms: u64) -> String {
        render(
            &[
                ("BytesTransferred", "Bytes", self.bytes_transferred as f64),
                ("ObjectsCompleted", "Count", self.objects_completed as f64),
                ("PartsUploaded", "Count", self.parts_uploaded as f64),
                ("ObjectsFailed", "Count", self.objects_failed as f64),
                ("ObjectSeconds", "Seconds", self.object_seconds),
            ],
            &[],
            timestamp_ms,
        )
    }
}

/// Prints `m` as an EMF line when enabled.
pub fn emit(m: &ObjectMetrics) {
    if ENABLED.load(Ordering::Relaxed) {
        println!("{}", m.to_emf(now_ms()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_worker_metric_is_in_the_line() {
        let m = ObjectMetrics {
            bytes_transferred: 10,
            objects_completed: 1,
            parts_uploaded: 2,
            objects_failed: 0,
            object_seconds: 1.5,
        };
        let v: serde_json::Value = serde_json::from_str(&m.to_emf(42)).unwrap();
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "s3_migrate");
        for (name, value) in [
            ("BytesTransferred", 10.0),
            ("ObjectsCompleted", 1.0),
            ("PartsUploaded", 2.0),
            ("ObjectsFailed", 0.0),
            ("ObjectSeconds", 1.5),
        ] {
            assert_eq!(v[name], value, "{name}");
        }
    }
}
