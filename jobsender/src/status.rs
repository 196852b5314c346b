//! `jobsender status`: where the migration stands, from the ledger and the queues.
//!
//! By default it reads a few items per pair (the last complete run's figures and the
//! workers' counters, `s3_migrate_core::ledger::Progress`), so it answers in the same time on
//! a ledger of a thousand records or a hundred million; `--scan` reads every record instead.

use anyhow::Context;
use aws_sdk_sqs::types::QueueAttributeName;
use s3_migrate_core::ledger::{now_secs, Ledger, ObjectRecord, PairCounts, Progress, Status};
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

/// The ledger key prefix of `pair`'s records.
fn pair_prefix(pair: &BucketPair) -> String {
    s3_migrate_core::job::object_key(&pair.src_bucket, &pair.src_prefix)
}

/// Sums the records that belong to `pair` (pure).
pub fn summarize(pair: &BucketPair, records: &[ObjectRecord], now: u64) -> PairStatus {
    let mut s = PairStatus { pair: pair.id(), ..Default::default() };
    let prefix = pair_prefix(pair);
    for r in records.iter().filter(|r| r.key.starts_with(&prefix)) {
        s.add(r, now);
    }
    s
}

impl PairStatus {
    /// Counts one record of the pair.
    pub fn add(&mut self, r: &ObjectRecord, now: u64) {
        match r.status {
            Some(Status::Done) => {
                self.done += 1;
                self.bytes_copied += r.bytes.unwrap_or(0);
                if r.end_time.is_some_and(|t| now.saturating_sub(t) < RECENT_SECS) {
                    self.bytes_last_hour += r.bytes.unwrap_or(0);
                }
            }
            Some(Status::InProgress) => self.in_progress += 1,
            Some(Status::Queued) => self.queued += 1,
            Some(Status::Skipped) => self.skipped += 1,
            Some(Status::Failed) => {
                self.failed += 1;
                if self.failures.len() < REASONS_SHOWN {
                    self.failures.push((r.key.clone(), r.reason.clone().unwrap_or_default()));
                }
            }
            None => {}
        }
    }
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

/// How `jobsender status` reads the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The per-pair figures of the last complete run and the workers' counters: a few items
    /// per pair, whatever the table holds (the default).
    Counters,
    /// Every record of the table (`--scan`): exact per status, but its time and read units
    /// grow with the table (a 100-million-object ledger takes hours).
    Scan,
}

/// One pair's line of the counters report (pure: see [`counters_row`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CountersRow {
    pub pair: String,
    /// Seconds since the last complete run, if there was one.
    pub run_age: Option<u64>,
    pub equal: u64,
    pub to_copy: u64,
    /// Copied since the last complete run (by the workers' counter).
    pub copied_since: u64,
    /// To copy less every job ended since (copied, failed or skipped; never below 0).
    pub remaining: u64,
    /// Failed permanently since the table was made; unchanged failures at the last run.
    pub failed: u64,
    pub failed_unchanged: u64,
    pub archived: u64,
    pub bytes_copied: u64,
}

/// A pair's line from its last run's figures and its bucket pair's counters, at `now`.
pub fn counters_row(pair: &str, run: Option<&PairCounts>, progress: &Progress, now: u64) -> CountersRow {
    let run = run.copied();
    let copied_since = progress.copied.saturating_sub(run.map_or(0, |r| r.copied_at_run));
    let to_copy = run.map_or(0, |r| r.to_copy);
    let ended_since = progress.finished().saturating_sub(run.map_or(0, |r| r.last_run().done_at_run));
    CountersRow {
        pair: pair.to_owned(),
        run_age: run.map(|r| now.saturating_sub(r.at)),
        equal: run.map_or(0, |r| r.equal),
        to_copy,
        copied_since,
        remaining: to_copy.saturating_sub(ended_since),
        failed: progress.failed,
        failed_unchanged: run.map_or(0, |r| r.failed_unchanged),
        archived: run.map_or(0, |r| r.archived),
        bytes_copied: progress.bytes,
    }
}

fn age(secs: Option<u64>) -> String {
    match secs {
        None => "never".into(),
        Some(s) if s < 120 => format!("{s} s ago"),
        Some(s) if s < 7200 => format!("{} min ago", s / 60),
        Some(s) => format!("{} h ago", s / 3600),
    }
}

/// The report printed by `jobsender status`: one line per pair, the queues, and failures.
pub async fn status(
    ledger: &Ledger,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    pairs: &[BucketPair],
    source: Source,
) -> anyhow::Result<String> {
    let (mut out, failures) = match source {
        Source::Counters => counters_table(ledger, pairs).await?,
        Source::Scan => scan_table(ledger, pairs).await?,
    };
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

/// Two reads per pair: its last run's figures and its bucket pair's counters. Pairs of one
/// bucket pair (different prefixes) share the counters.
async fn counters_table(ledger: &Ledger, pairs: &[BucketPair]) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let now = now_secs();
    let mut out = format!(
        "{:<50} {:>12} {:>10} {:>10} {:>12} {:>10} {:>8} {:>8} {:>14}\n",
        "pair", "last run", "equal", "to copy", "copied since", "remaining", "failed", "archived", "bytes copied"
    );
    let mut failures = Vec::new();
    for pair in pairs {
        let run = ledger.pair_counts(&pair.id()).await?;
        let progress = ledger.progress(&pair.src_bucket, &pair.des_bucket).await?;
        let r = counters_row(&pair.id(), run.as_ref(), &progress, now);
        out.push_str(&format!(
            "{:<50} {:>12} {:>10} {:>10} {:>12} {:>10} {:>8} {:>8} {:>14}\n",
            r.pair,
            age(r.run_age),
            r.equal,
            r.to_copy,
            r.copied_since,
            r.remaining,
            r.failed.max(r.failed_unchanged),
            r.archived,
            r.bytes_copied
        ));
        if let Some((key, reason)) = progress.last_failure {
            failures.push((s3_migrate_core::job::object_key(&pair.src_bucket, &key), reason));
        }
    }
    Ok((out, failures))
}

/// Every record of the table, summed per pair (`--scan`).
async fn scan_table(ledger: &Ledger, pairs: &[BucketPair]) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let now = now_secs();
    // Summed page by page: memory stays at one page and a line per pair.
    let mut sums: Vec<(String, PairStatus)> =
        pairs.iter().map(|p| (pair_prefix(p), PairStatus { pair: p.id(), ..Default::default() })).collect();
    ledger
        .scan_each(|r| {
            for (_, s) in sums.iter_mut().filter(|(prefix, _)| r.key.starts_with(prefix.as_str())) {
                s.add(&r, now);
            }
        })
        .await?;
    let mut out = format!(
        "{:<50} {:>8} {:>11} {:>8} {:>8} {:>8} {:>8} {:>14} {:>12}\n",
        "pair", "done", "in progress", "queued", "failed", "skipped", "archived", "bytes copied", "MB/s (1 h)"
    );
    let mut failures = Vec::new();
    for (pair, (_, s)) in pairs.iter().zip(sums) {
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
    Ok((out, failures))
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

    #[test]
    fn a_row_counts_copies_since_the_last_run() {
        let run = PairCounts {
            at: 1_000,
            equal: 50,
            to_copy: 30,
            copied_at_run: 100,
            failed_at_run: 3,
            failed_unchanged: 2,
            archived: 1,
            ..Default::default()
        };
        // 12 copied and 2 skipped (say, gone from the source) since the run; no new failure.
        let progress = Progress { copied: 112, bytes: 9, failed: 3, skipped: 2, last_failure: None };
        let r = counters_row("p", Some(&run), &progress, 1_600);
        assert_eq!(
            r,
            CountersRow {
                pair: "p".into(),
                run_age: Some(600),
                equal: 50,
                to_copy: 30,
                copied_since: 12,
                remaining: 16,
                failed: 3,
                failed_unchanged: 2,
                archived: 1,
                bytes_copied: 9,
            }
        );
        let never = counters_row("p", None, &Progress::default(), 5);
        assert_eq!((never.run_age, never.remaining, never.copied_since), (None, 0, 0));
        let over = counters_row("p", Some(&run), &Progress { copied: 500, ..Default::default() }, 1_000);
        assert_eq!(over.remaining, 0, "copies of objects from later events do not go below zero");
        assert_eq!(
            (age(None), age(Some(30)), age(Some(600)), age(Some(7200))),
            ("never".into(), "30 s ago".into(), "10 min ago".into(), "2 h ago".into())
        );
    }
}
