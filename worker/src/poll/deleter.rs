//! Deleting finished messages in batches: one DeleteMessageBatch for up to ten messages, sent
//! when ten are waiting or [`DELETE_FLUSH_AFTER`] after the first, whichever comes first.

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use std::time::Duration;
use tokio::sync::mpsc;
use tracing::warn;

/// Most entries one DeleteMessageBatch takes (SQS limit).
const SQS_MAX_DELETE_BATCH: usize = 10;
/// Longest a finished message waits for its batch.
/// A finished job's message can wait: its visibility timeout is minutes, and a redelivery
/// would be skipped as done. Waiting long enough to fill batches saves requests.
const DELETE_FLUSH_AFTER: Duration = Duration::from_millis(250);

pub(super) struct Deleter;

impl Deleter {
    /// The sender takes receipt handles; the task ends, everything sent deleted, once every
    /// sender is dropped.
    pub(super) fn start(
        sqs: aws_sdk_sqs::Client,
        url: String,
    ) -> (mpsc::UnboundedSender<String>, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let task = tokio::spawn(async move {
            loop {
                let Some(first) = rx.recv().await else { return };
                let mut batch = vec![first];
                let flush_at = tokio::time::Instant::now() + DELETE_FLUSH_AFTER;
                let mut open = true;
                while batch.len() < SQS_MAX_DELETE_BATCH {
                    match tokio::time::timeout_at(flush_at, rx.recv()).await {
                        Ok(Some(r)) => batch.push(r),
                        Ok(None) => {
                            open = false;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                delete_batch(&sqs, &url, batch).await;
                if !open {
                    return;
                }
            }
        });
        (tx, task)
    }
}

async fn delete_batch(sqs: &aws_sdk_sqs::Client, url: &str, receipts: Vec<String>) {
    let entries: Vec<DeleteMessageBatchRequestEntry> = receipts
        .iter()
        .enumerate()
        .filter_map(|(i, r)| DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(r).build().ok())
        .collect();
    match sqs.delete_message_batch().queue_url(url).set_entries(Some(entries)).send().await {
        Ok(out) => {
            for f in out.failed() {
                warn!(code = %f.code(), reason = f.message().unwrap_or(""), "could not delete a finished message");
            }
        }
        // The jobs are finished and idempotent: a redelivery is skipped cheaply.
        Err(e) => warn!(
            error = %s3_migrate_core::clients::error_chain(&e),
            messages = receipts.len(),
            "could not delete finished messages; their jobs are done and a redelivery is skipped"
        ),
    }
}
