//! `jobsender status`: where the migration stands, from the ledger and the queues.

use anyhow::Context;
use aws_sdk_sqs::types::QueueAttributeName;
use s3_migrate_core::ledger::{now_secs, Ledger, ObjectRecord, Status};
use s3_migrate_core::pairs::BucketPair;
use std::collections::HashMap;

/// Seconds of recent history used for throughput.
const RECENT_SECS: u64 = 3600;
/// Failure reasons shown per pair.
const REASONS_SHOWN: usize = 5;

/// Ledger figures of one pair.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PairStatus {
    pub pair: String,
    pub done: u64,
    pub in_progress: u64,
    pub queued: u64,
    pub failed: u64,
    pub skipped: u64,
    pub bytes_copied: u64,
    pub bytes_last_hour: u64,
    pub failures: Vec<(String, String)>,
}

/// Sums the records that belong to `pair` (pure).
pub fn summarize(pair: &BucketPair, records: &[ObjectRecord], now: u64) -> PairStatus {
    let prefix = s3_migrate_core::job::object_key(&pair.src_bucket, &pair.src_prefix);
    let mut s = PairStatus { pair: pair.id(), ..Default::default() };
    for r in records.iter().filter(|r| r.key.starts_with(&prefix)) {
        match r.status {
            Some(Status::Done) => {
                s.done += 1;
                s.bytes_copied += r.bytes.unwrap_or(0);
                if r.end_time.is_some_and(|t| now.saturating_sub(t) < RECENT_SECS) {
                    s.bytes_last_hour += r.bytes.unwrap_or(0);
                }
            }
            Some(Status::InProgress) => s.in_progress += 1,
            Some(Status::Queued) => s.queued += 1,
            Some(Status::Skipped) => s.skipped += 1,
            Some(Status::Failed) => {
                s.failed += 1;
                if s.failures.len() < REASONS_SHOWN {
                    s.failures.push((r.key.clone(), r.reason.clone().unwrap_or_default()));
                }
            }
            None => {}
        }
    }
    s
}

/// Visible, in-flight and delayed message counts, and the dead-letter queue's count.
async fn queue_counts(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<(HashMap<String, String>, Option<u64>)> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .with_context(|| format!("reading SQS queue {url}"))?
        .attributes
        .unwrap_or_default();
    let attrs: HashMap<String, String> = attrs.into_iter().map(|(k, v)| (k.as_str().to_owned(), v)).collect();
    let dlq = match attrs.get("RedrivePolicy").and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok()) {
        Some(policy) => {
            let arn = policy["deadLetterTargetArn"].as_str().unwrap_or_default().to_owned();
            let name = arn.rsplit(':').next().unwrap_or_default();
            let owner = arn.split(':').nth(4).unwrap_or_default();
            let dlq_url = sqs
                .get_queue_url()
                .queue_name(name)
                .queue_owner_aws_account_id(owner)
                .send()
                .await
                .ok()
                .and_then(|o| o.queue_url);
            match dlq_url {
                Some(u) => sqs
                    .get_queue_attributes()
                    .queue_url(u)
                    .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
                    .send()
                    .await
                    .ok()
                    .and_then(|o| o.attributes)
                    .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages).and_then(|v| v.parse().ok())),
                None => None,
            }
        }
        None => None,
    };
    Ok((attrs, dlq))
}

/// The report printed by `jobsender status`.
pub async fn status(
    ledger: &Ledger,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    pairs: &[BucketPair],
) -> anyhow::Result<String> {
    let records = ledger.scan().await?;
    let now = now_secs();
    let mut out = format!(
        "{:<50} {:>8} {:>11} {:>8} {:>8} {:>8} {:>8} {:>14} {:>12}\n",
        "pair", "done", "in progress", "queued", "failed", "skipped", "archived", "bytes copied", "MB/s (1 h)"
    );
    let mut failures = Vec::new();
    for pair in pairs {
        let s = summarize(pair, &records, now);
        // Archived objects are never enqueued, so only the last complete run counted them.
        let archived = ledger.pair_counts(&pair.id()).await?.map_or("-".to_owned(), |c| c.archived.to_string());
        out.push_str(&format!(
            "{:<50} {:>8} {:>11} {:>8} {:>8} {:>8} {:>8} {:>14} {:>12.2}\n",
            s.pair,
            s.done,
            s.in_progress,
            s.queued,
            s.failed,
            s.skipped,
            archived,
            s.bytes_copied,
            s.bytes_last_hour as f64 / RECENT_SECS as f64 / 1e6
        ));
        failures.extend(s.failures);
    }
    let (attrs, dlq) = queue_counts(sqs, queue_url).await?;
    let get = |k: &str| attrs.get(k).map(String::as_str).unwrap_or("?").to_owned();
    out.push_str(&format!(
        "queue {queue_url}: {} waiting, {} in flight, {} delayed; dead-letter queue: {}\n",
        get("ApproximateNumberOfMessages"),
        get("ApproximateNumberOfMessagesNotVisible"),
        get("ApproximateNumberOfMessagesDelayed"),
        dlq.map_or("none configured".to_owned(), |n| format!("{n} messages")),
    ));
    for (key, reason) in failures {
        out.push_str(&format!("failed: {key}: {reason}\n"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summarizes_by_pair_and_status() {
        let pair = BucketPair {
            src_bucket: "src".into(),
            src_prefix: "p/".into(),
            des_bucket: "d".into(),
            des_prefix: "".into(),
            ..Default::default()
        };
        let rec = |key: &str, st: Status, bytes: u64, end: u64| ObjectRecord {
            key: key.into(),
            status: Some(st),
            bytes: Some(bytes),
            end_time: Some(end),
            reason: (st == Status::Failed).then(|| "NoSuchBucket".to_owned()),
            ..Default::default()
        };
        let records = vec![
            rec("src/p/a", Status::Done, 100, 9_900),
            rec("src/p/b", Status::Done, 50, 1_000),
            rec("src/p/c", Status::Failed, 0, 9_000),
            rec("src/p/d", Status::InProgress, 0, 0),
            rec("src/other/e", Status::Done, 7, 9_900),
            rec("other/p/f", Status::Done, 7, 9_900),
        ];
        let s = summarize(&pair, &records, 10_000);
        assert_eq!((s.done, s.failed, s.in_progress, s.bytes_copied, s.bytes_last_hour), (2, 1, 1, 150, 100));
        assert_eq!(s.failures, vec![("src/p/c".to_owned(), "NoSuchBucket".to_owned())]);
    }
}
