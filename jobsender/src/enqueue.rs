//! Sending jobs to SQS: SendMessageBatch in tens, several batches in flight, failed entries
//! retried with backoff. A job that still cannot be sent makes the run fail: never dropped.

use crate::error::SendError;
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use futures::StreamExt;
use rand::Rng;
use s3_migrate_core::retry::backoff;
use s3_migrate_core::Job;
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
    /// Sends every job; the number sent, or an error when any could not be sent.
    pub async fn send_all(&self, jobs: &[Job]) -> Result<usize, SendError> {
        let results: Vec<Result<usize, (Vec<String>, String)>> = futures::stream::iter(jobs.chunks(SQS_BATCH_MAX))
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
            return Err(SendError::Enqueue { queue: self.queue_url.clone(), total: jobs.len(), reason, unsent });
        }
        Ok(sent)
    }

    /// One batch of up to ten, retrying what SQS did not take. Err: (ledger keys of the jobs
    /// not sent, why).
    async fn send_batch(&self, jobs: &[Job]) -> Result<usize, (Vec<String>, String)> {
        let unsent = |pending: &[(usize, &Job)]| pending.iter().map(|(_, j)| j.ledger_key()).collect::<Vec<_>>();
        let mut pending: Vec<(usize, &Job)> = jobs.iter().enumerate().collect();
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
                .filter_map(|(i, j)| {
                    SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(j.to_json()).build().ok()
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
                return Ok(jobs.len());
            }
        }
        Err((unsent(&pending), why))
    }
}
