//! Sending jobs to SQS: SendMessageBatch of up to ten messages and 256 KiB, several batches in
//! flight, failed entries retried with backoff. A job that still cannot be sent makes the run
//! fail: never dropped.

use crate::error::SendError;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::StreamExt;
use rand::Rng;
use s3_migrate_core::pack::{Message, SQS_MAX_MESSAGE_BYTES};
use s3_migrate_core::retry::backoff;
use std::time::Duration;
use tracing::warn;

/// Most entries one SendMessageBatch takes (SQS limit).
const SQS_BATCH_MAX: usize = 10;
/// Batches in flight at once.
const BATCHES_IN_FLIGHT: usize = 8;
/// Rounds of retries for entries SQS did not take.
const RETRY_ROUNDS: u32 = 6;

#[derive(Clone)]
pub struct Enqueuer {
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
}

impl Enqueuer {
    /// Whether the queue holds no message at all (visible, in flight or delayed): one
    /// GetQueueAttributes. `None` when it cannot be read (the backlog rule then falls back on
    /// the workers' counters).
    pub async fn queue_is_empty(&self) -> Option<bool> {
        match s3_migrate_core::queue::messages_in(&self.sqs, &self.queue_url).await {
            Ok(n) => Some(n == 0),
            Err(e) => {
                let error = s3_migrate_core::clients::error_chain(&e);
                warn!(queue = %self.queue_url, error = %error, "could not read how many messages the queue holds");
                None
            }
        }
    }

    /// Sends every message; the number of jobs sent, or an error naming the jobs that could
    /// not be sent.
    pub async fn send_all(&self, messages: &[Message]) -> Result<usize, SendError> {
        let bodies: Vec<(String, &Message)> = messages.iter().map(|m| (m.to_json(), m)).collect();
        let results: Vec<Result<usize, (Vec<String>, String)>> = futures::stream::iter(batches(&bodies))
            .map(|chunk| self.send_batch(chunk))
            .buffer_unordered(BATCHES_IN_FLIGHT)
            .collect()
            .await;
        let mut sent = 0;
        let mut unsent = Vec::new();
        let mut reason = String::new();
        for r in results {
            match r {
                Ok(n) => sent += n,
                Err((keys, why)) => {
                    unsent.extend(keys);
                    reason = why;
                }
            }
        }
        if !unsent.is_empty() {
            let total = messages.iter().map(|m| m.jobs().len()).sum();
            return Err(SendError::Enqueue { queue: self.queue_url.clone(), total, reason, unsent });
        }
        Ok(sent)
    }

    /// One batch, retrying what SQS did not take. Ok: jobs sent; Err: (ledger keys of the jobs
    /// not sent, why).
    async fn send_batch(&self, batch: &[(String, &Message)]) -> Result<usize, (Vec<String>, String)> {
        let unsent = |pending: &[(usize, &(String, &Message))]| {
            pending.iter().flat_map(|(_, (_, m))| m.jobs().iter().map(|j| j.ledger_key())).collect::<Vec<_>>()
        };
        let mut pending: Vec<(usize, &(String, &Message))> = batch.iter().enumerate().collect();
        let mut why = String::new();
        for round in 0..=RETRY_ROUNDS {
            if round > 0 {
                tokio::time::sleep(backoff(
                    round,
                    Duration::from_millis(100),
                    Duration::from_secs(10),
                    rand::rng().random(),
                ))
                .await;
            }
            let entries: Vec<SendMessageBatchRequestEntry> = pending
                .iter()
                .filter_map(|(i, (body, _))| {
                    SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(body).build().ok()
                })
                .collect();
            match self.sqs.send_message_batch().queue_url(&self.queue_url).set_entries(Some(entries)).send().await {
                Ok(out) => {
                    let failed: Vec<String> = out.failed().iter().map(|f| f.id().to_owned()).collect();
                    if let Some(f) = out.failed().first() {
                        why = format!("{}: {}", f.code(), f.message().unwrap_or(""));
                        warn!(failed = failed.len(), reason = %why, round, "some jobs were not enqueued, retrying them");
                    }
                    pending.retain(|(i, _)| failed.contains(&i.to_string()));
                }
                Err(e) => {
                    why = s3_migrate_core::clients::error_chain(&e);
                    if s3_migrate_core::retry::classify(&e) == s3_migrate_core::retry::ErrorClass::Permanent {
                        return Err((unsent(&pending), why));
                    }
                    warn!(reason = %why, round, "SendMessageBatch failed, retrying");
                }
            }
            if pending.is_empty() {
                return Ok(batch.iter().map(|(_, m)| m.jobs().len()).sum());
            }
        }
        Err((unsent(&pending), why))
    }
}

/// Splits message bodies into SendMessageBatch requests: at most ten entries, and at most
/// SQS's 256 KiB in total (the quota applies to the sum of a batch's bodies).
fn batches<T>(bodies: &[(String, T)]) -> Vec<&[(String, T)]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (body, _)) in bodies.iter().enumerate() {
        if i > start && (i - start == SQS_BATCH_MAX || bytes + body.len() > SQS_MAX_MESSAGE_BYTES) {
            out.push(&bodies[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += body.len();
    }
    if start < bodies.len() {
        out.push(&bodies[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(lens: &[usize]) -> Vec<Vec<usize>> {
        let bodies: Vec<(String, ())> = lens.iter().map(|n| ("x".repeat(*n), ())).collect();
        batches(&bodies).iter().map(|b| b.iter().map(|(s, _)| s.len()).collect()).collect()
    }

    #[test]
    fn batches_hold_ten_messages_and_256_kib_at_most() {
        assert_eq!(sizes(&[1; 23]).iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 3]);
        let k = 1024;
        assert_eq!(sizes(&[200 * k, 56 * k, 1]), [vec![200 * k, 56 * k], vec![1]], "exactly 256 KiB fits");
        assert_eq!(sizes(&[200 * k, 100 * k, 100 * k]), [vec![200 * k], vec![100 * k, 100 * k]]);
        assert!(sizes(&[]).is_empty());
    }
}
