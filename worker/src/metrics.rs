//! CloudWatch Embedded Metric Format lines (namespace `s3_migrate`): printed to stdout in
//! Lambda, where the Lambda log pipeline turns them into metrics without metric filters.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "s3_migrate";

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns EMF output on (Lambda) or off (CLI, where stdout is for people).
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

/// The EMF document for `m` at `timestamp_ms`.
pub fn render(m: &ObjectMetrics, timestamp_ms: u64) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": [
                    { "Name": "BytesTransferred", "Unit": "Bytes" },
                    { "Name": "ObjectsCompleted", "Unit": "Count" },
                    { "Name": "PartsUploaded", "Unit": "Count" },
                    { "Name": "ObjectsFailed", "Unit": "Count" },
                    { "Name": "ObjectSeconds", "Unit": "Seconds" }
                ]
            }]
        },
        "BytesTransferred": m.bytes_transferred,
        "ObjectsCompleted": m.objects_completed,
        "PartsUploaded": m.parts_uploaded,
        "ObjectsFailed": m.objects_failed,
        "ObjectSeconds": m.object_seconds,
    })
    .to_string()
}

/// Prints `m` as an EMF line when enabled.
pub fn emit(m: &ObjectMetrics) {
    if ENABLED.load(Ordering::Relaxed) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        println!("{}", render(m, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_emf() {
        let m = ObjectMetrics {
            bytes_transferred: 10,
            objects_completed: 1,
            parts_uploaded: 2,
            objects_failed: 0,
            object_seconds: 1.5,
        };
        let v: serde_json::Value = serde_json::from_str(&render(&m, 42)).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 42);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Namespace"], "s3_migrate");
        let names: Vec<_> = v["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["Name"].as_str().unwrap().to_owned())
            .collect();
        for n in ["BytesTransferred", "ObjectsCompleted", "PartsUploaded", "ObjectsFailed", "ObjectSeconds"] {
            assert!(names.contains(&n.to_owned()));
            assert!(v.get(n).is_some(), "value of {n}");
        }
        assert_eq!(v["BytesTransferred"], 10);
        assert_eq!(v["ObjectSeconds"], 1.5);
    }
}
