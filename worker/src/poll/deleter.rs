//! Deleting finished messages in batches: one DeleteMessageBatch for up to ten messages, sent
//! when ten are waiting, [`DELETE_FLUSH_AFTER`] after the first, or when the poller asks for
//! a flush (before it checks whether the queue is empty), whichever comes first.

use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

/// Most entries one DeleteMessageBatch takes (SQS limit).
const SQS_MAX_DELETE_BATCH: usize = 10;
/// Longest a finished message waits for its batch.
/// A finished job's message can wait: its visibility timeout is minutes, and a redelivery
/// would be skipped as done. Waiting long enough to fill batches saves requests.
const DELETE_FLUSH_AFTER: Duration = Duration::from_millis(250);

enum Request {
    Delete(String),
    /// Answered once every delete asked for before it is done.
    Flush(oneshot::Sender<()>),
}

/// Where finished messages go to be deleted.
#[derive(Clone)]
pub(super) struct Deletes(mpsc::UnboundedSender<Request>);

impl Deletes {
    pub(super) fn delete(&self, receipt: String) {
        let _ = self.0.send(Request::Delete(receipt));
    }

    /// Deletes what is waiting now instead of letting it fill a batch; returns once done.
    pub(super) async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.0.send(Request::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

pub(super) struct Deleter;

impl Deleter {
    /// The handle takes receipt handles; the task ends, everything sent deleted, once every
    /// handle is dropped.
    pub(super) fn start(sqs: aws_sdk_sqs::Client, url: String) -> (Deletes, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        let task = tokio::spawn(async move {
            loop {
                let first = match rx.recv().await {
                    None => return,
                    Some(Request::Flush(done)) => {
                        let _ = done.send(());
                        continue;
                    }
                    Some(Request::Delete(r)) => r,
                };
                let mut batch = vec![first];
                let flush_at = tokio::time::Instant::now() + DELETE_FLUSH_AFTER;
                let (mut open, mut flushed) = (true, None);
                while batch.len() < SQS_MAX_DELETE_BATCH {
                    match tokio::time::timeout_at(flush_at, rx.recv()).await {
                        Ok(Some(Request::Delete(r))) => batch.push(r),
                        Ok(Some(Request::Flush(done))) => {
                            flushed = Some(done);
                            break;
                        }
                        Ok(None) => {
                            open = false;
                            break;
                        }
                        Err(_) => break,
                    }
                }
                delete_batch(&sqs, &url, batch).await;
                if let Some(done) = flushed {
                    let _ = done.send(());
                }
                if !open {
                    return;
                }
            }
        });
        (Deletes(tx), task)
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
