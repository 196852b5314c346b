//! CloudWatch Embedded Metric Format: one JSON line per set of figures, namespace
//! `s3_migrate`. Printed to stdout in Lambda, the log pipeline turns it into metrics with no
//! metric filters.

use std::time::{SystemTime, UNIX_EPOCH};

/// CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "s3_migrate";

/// One metric: name, CloudWatch unit, value.
pub type Metric<'a> = (&'a str, &'a str, f64);

/// The EMF document for `metrics` at `timestamp_ms`, with `dimensions` (name, value).
pub fn render(metrics: &[Metric<'_>], dimensions: &[(&str, &str)], timestamp_ms: u64) -> String {
    let mut doc = serde_json::json!({
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [dimensions.iter().map(|(n, _)| *n).collect::<Vec<_>>()],
                "Metrics": metrics.iter().map(|(n, u, _)| serde_json::json!({ "Name": n, "Unit": u })).collect::<Vec<_>>(),
            }]
        }
    });
    for (n, _, v) in metrics {
        doc[*n] = serde_json::json!(v);
    }
    for (n, v) in dimensions {
        doc[*n] = serde_json::json!(v);
    }
    doc.to_string()
}

/// Milliseconds since the epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_namespace_metrics_values_and_dimensions() {
        let line =
            render(&[("BytesTransferred", "Bytes", 10.0), ("ObjectSeconds", "Seconds", 1.5)], &[("Pair", "a->b")], 42);
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        let cw = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(v["_aws"]["Timestamp"], 42);
        assert_eq!(cw["Namespace"], "s3_migrate");
        assert_eq!(cw["Metrics"][0]["Name"], "BytesTransferred");
        assert_eq!(cw["Metrics"][0]["Unit"], "Bytes");
        assert_eq!(cw["Dimensions"][0][0], "Pair");
        assert_eq!(v["BytesTransferred"], 10.0);
        assert_eq!(v["ObjectSeconds"], 1.5);
        assert_eq!(v["Pair"], "a->b");
    }
}
