//! One queue message: what it asks for, and whether the message is consumed or comes back.
//!
//! Nothing is dropped: a message is consumed only when every item in it is finished (copied,
//! already copied, source gone, test event, ignored event) or handed on to a fresh message
//! (time budget reached). A malformed body goes to `DeadLetterQueueUrl` at once when set,
//! otherwise it fails and reaches the dead-letter queue through the queue's redrive policy.

use crate::copy::{Copier, Outcome, Packed};
use crate::error::{CopyError, MessageError};
use crate::metrics::{emit, ObjectMetrics};
use s3_migrate_core::event::{parse_message, Incoming};
use s3_migrate_core::ignore::IgnoreList;
use s3_migrate_core::ledger::{now_secs, Done, LedgerError, Progress};
use s3_migrate_core::pack::SQS_MAX_DELAY_SECS;
use s3_migrate_core::retry::ErrorClass;
use s3_migrate_core::scope::{JobScope, OutOfScope};
use s3_migrate_core::Job;
use std::sync::Arc;
use std::time::Instant;
use tracing::{error, info, info_span, warn, Instrument};

/// Longest part of a bad body written to the log.
const LOGGED_BODY_CHARS: usize = 1024;

/// How one object's copy ended, for the message that asked for it.
#[derive(Debug)]
pub(crate) enum End {
    /// Copied; a pack's copy hands back its ledger record to be written with the others.
    Finished(Option<Done>),
    /// Nothing more to do without a copy: already copied, source gone, stood down for a newer
    /// copy. Counted as skipped for the pair's backlog (`s3_migrate_core::backlog`).
    Skipped,
    /// To be sent again as a fresh message after `delay` seconds (time budget, lease held
    /// by another delivery).
    Again { job: Job, delay: u64, why: &'static str },
    /// Failed; trying again may help.
    Retryable(CopyError),
    /// Failed; trying again cannot help (recorded as FAILED in the ledger).
    Permanent(CopyError),
}

/// What becomes of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Done with: delete it.
    Consumed,
    /// Not done: let it come back (and, after maxReceiveCount, go to the dead-letter queue).
    Retry { reason: String },
}

/// Handles messages; built once per process.
#[derive(Clone)]
pub struct Processor {
    pub copier: Copier,
    /// What this deployment copies; anything else is parked without an S3 request.
    pub scope: Arc<JobScope>,
    /// `ssm_parameter_ignore_list`: matching objects are neither copied nor deleted.
    pub ignore: Arc<IgnoreList>,
    pub sqs: aws_sdk_sqs::Client,
    /// Queue for jobs handed on after the time budget ran out.
    pub requeue_url: Option<String>,
    /// `MaxParallelFile`: objects the process copies at once, whether single jobs or objects
    /// of packs, however many messages are being worked.
    pub files: Arc<tokio::sync::Semaphore>,
}

impl Processor {
    /// Works on one message body until `deadline`, as its first receive.
    pub async fn process(&self, message_id: &str, body: &str, deadline: Option<Instant>) -> Disposition {
        self.process_delivery(message_id, body, 1, deadline).await
    }

    /// Works on one message body until `deadline`; `receive_count` is SQS's
    /// `ApproximateReceiveCount`. A message that must come back on its `MaxReceiveCount`th
    /// receive goes to the dead-letter queue instead (the queue's redrive policy): its jobs are
    /// counted as failed for their pairs now, so no backlog waits for them.
    pub async fn process_delivery(
        &self,
        message_id: &str,
        body: &str,
        receive_count: u32,
        deadline: Option<Instant>,
    ) -> Disposition {
        // On the heap: a copy's future is large, and this one is polled on small stacks too.
        let d = Box::pin(self.work(message_id, body, deadline)).await;
        if let Disposition::Retry { reason } = &d {
            if receive_count >= self.copier.cfg.max_receive_count {
                let reason = format!(
                    "{reason} (receive {receive_count} of {}: dead-lettered)",
                    self.copier.cfg.max_receive_count
                );
                warn!(message_id, reason = %reason, "last receive before the dead-letter queue");
                for job in jobs_of(body, &self.copier.cfg.event_destination) {
                    self.count_failure(&job, &reason).await;
                }
            }
        }
        d
    }

    async fn work(&self, message_id: &str, body: &str, deadline: Option<Instant>) -> Disposition {
        let cfg = &self.copier.cfg;
        let items = match parse_message(body, &cfg.event_destination) {
            Ok(items) => items,
            Err(e) => return self.malformed(message_id, body, &e.to_string()).await,
        };
        let mut retry = None;
        for item in items {
            let result = match item {
                Incoming::TestEvent { bucket } => {
                    info!(message_id, bucket = bucket.as_deref().unwrap_or(""), "s3 test event, nothing to do");
                    Ok(())
                }
                Incoming::Ignored { event_name, key } => {
                    info!(message_id, event = %event_name, key = %key, "s3 event not acted on");
                    Ok(())
                }
                Incoming::Copy(Job { ref src_bucket, ref src_key, .. })
                | Incoming::Removed { ref src_bucket, ref src_key, .. }
                    if self.ignore.is_ignored(src_bucket, src_key) =>
                {
                    info!(message_id, bucket = %src_bucket, key = %src_key, "on the ignore list, nothing to do");
                    Ok(())
                }
                Incoming::Removed { src_bucket, src_key, des_bucket, des_key, event_time, .. } => {
                    match self.scope.check((&src_bucket, &src_key), (&des_bucket, &des_key)) {
                        Ok(()) => self.removed((&src_bucket, &src_key), (&des_bucket, &des_key), event_time).await,
                        Err(out) => self.refuse(body, &out, None).await,
                    }
                }
                Incoming::Pack(pack) => self.copy_pack(pack, deadline).await,
                Incoming::Copy(job) => match self.scope.check_job(&job) {
                    Ok(()) => {
                        let span = info_span!("object", bucket = %job.src_bucket, key = %job.src_key);
                        self.copy_job(&job, deadline).instrument(span).await
                    }
                    Err(out) => self.refuse(&job.to_json(), &out, Some(&job)).await,
                },
            };
            if let Err(e) = result {
                let retry_helps = e.class() == ErrorClass::Retryable;
                warn!(message_id, error = %e, retry_helps, "the message comes back");
                retry.get_or_insert(e.to_string());
            }
        }
        match retry {
            None => Disposition::Consumed,
            Some(reason) => Disposition::Retry { reason },
        }
    }

    /// A job or delete outside the configured scope: parked with its reason, never tried; a
    /// job counts as failed for its pair.
    async fn refuse(&self, body: &str, out: &OutOfScope, job: Option<&Job>) -> Result<(), MessageError> {
        error!(reason = %out, "job refused");
        if let Some(job) = job {
            self.count_failure(job, &format!("refused: {out}")).await;
        }
        self.park(body, &out.to_string()).await
    }

    async fn malformed(&self, message_id: &str, body: &str, reason: &str) -> Disposition {
        let shown: String = body.chars().take(LOGGED_BODY_CHARS).collect();
        error!(message_id, reason, body = %shown, "malformed message");
        match self.park(body, &format!("malformed message: {reason}")).await {
            Ok(()) => Disposition::Consumed,
            Err(e) => Disposition::Retry { reason: e.to_string() },
        }
    }

    /// Sends `body` to `DeadLetterQueueUrl` with the reason as its `error` attribute, for what
    /// no retry can fix (a malformed body, a permanent copy failure). Without that queue, or
    /// when the send fails, the error comes back: the message is retried and reaches the
    /// dead-letter queue through the queue's redrive policy.
    pub(crate) async fn park(&self, body: &str, reason: &str) -> Result<(), MessageError> {
        let Some(dlq) = &self.copier.cfg.dead_letter_queue_url else {
            return Err(MessageError::NoDeadLetterQueue { reason: reason.to_owned() });
        };
        let sent = self
            .sqs
            .send_message()
            .queue_url(dlq)
            .message_body(body)
            .message_attributes(
                "error",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value(reason.chars().take(LOGGED_BODY_CHARS).collect::<String>())
                    .build()
                    .expect("data type and value are set"),
            )
            .send()
            .await;
        match sent {
            Ok(_) => {
                info!(reason, "moved to the dead-letter queue");
                Ok(())
            }
            Err(source) => Err(MessageError::Park { reason: reason.to_owned(), queue: dlq.clone(), source }),
        }
    }

    async fn copy_job(&self, job: &Job, deadline: Option<Instant>) -> Result<(), MessageError> {
        let _slot = self.file_slot().await;
        match self.copy_end(job, deadline, None).await {
            End::Finished(_) => Ok(()),
            End::Skipped => {
                self.count(job, &Progress { skipped: 1, ..Default::default() }).await;
                Ok(())
            }
            End::Again { job, delay, why } => self.send_again(job.to_json(), delay, why).await,
            End::Retryable(e) => Err(e.into()),
            End::Permanent(e) => self.park(&job.to_json(), &e.to_string()).await,
        }
    }

    /// Waits for one of the `MaxParallelFile` copies the process may run at once. The
    /// semaphore is never closed; were it, the copy would still be bounded by its caller's
    /// own concurrency.
    pub(crate) async fn file_slot(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.files.acquire().await.ok()
    }

    /// Copies one object (of a pack when `packed` is given) and says how that ended: logged,
    /// counted, and a permanent failure recorded in the ledger.
    pub(crate) async fn copy_end(&self, job: &Job, deadline: Option<Instant>, packed: Option<&Packed>) -> End {
        match Box::pin(self.copier.copy_packed(job, deadline, packed)).await {
            Ok(report) => match &report.outcome {
                Outcome::Copied { version_id } => {
                    info!(
                        des_key = %job.des_key,
                        version_id = version_id.as_deref().unwrap_or("null"),
                        bytes = report.bytes_transferred,
                        parts_uploaded = report.parts_uploaded,
                        parts_skipped = report.parts_skipped,
                        seconds = report.seconds,
                        "object copied"
                    );
                    emit(&ObjectMetrics {
                        bytes_transferred: report.bytes_transferred,
                        objects_completed: 1,
                        parts_uploaded: report.parts_uploaded.into(),
                        objects_failed: 0,
                        object_seconds: report.seconds,
                    });
                    End::Finished(report.done)
                }
                Outcome::AlreadyDone | Outcome::SourceGone => End::Skipped,
                Outcome::OutOfTime { parts_done, parts_total } => {
                    emit(&ObjectMetrics {
                        bytes_transferred: report.bytes_transferred,
                        parts_uploaded: report.parts_uploaded.into(),
                        ..Default::default()
                    });
                    let attempt = job.attempt + 1;
                    info!(parts_done, parts_total, attempt, "time budget reached, handing the job on");
                    // A fresh message: the next run resumes at once, and a long healthy
                    // transfer never counts toward the DLQ's maxReceiveCount.
                    End::Again { job: Job { attempt, ..job.clone() }, delay: 0, why: "time budget reached" }
                }
            },
            Err(CopyError::Ledger(LedgerError::Busy { until, .. })) => {
                // Another delivery of this object holds its lease and is copying it. This one
                // comes back as a fresh message once the lease ends, so duplicates of a long
                // copy never climb toward the DLQ's maxReceiveCount; the job itself is kept,
                // in case it asks for a newer version than the one being copied.
                let delay = until.saturating_sub(now_secs()).clamp(1, SQS_MAX_DELAY_SECS);
                End::Again { job: job.clone(), delay, why: "object is being copied by another delivery" }
            }
            Err(e @ CopyError::Superseded { .. }) => {
                info!(reason = %e, "delivery stands down");
                End::Skipped
            }
            Err(CopyError::Ledger(LedgerError::ClaimLost { .. })) => {
                let delay = self.copier.cfg.lease_secs.clamp(1, SQS_MAX_DELAY_SECS);
                End::Again { job: job.clone(), delay, why: "another delivery claimed the object first" }
            }
            Err(e) => {
                self.copier.stats.add_failed();
                emit(&ObjectMetrics { objects_failed: 1, ..Default::default() });
                if e.is_retryable() {
                    warn!(error = %e, "copy failed, will retry");
                    return End::Retryable(e);
                }
                // The copier recorded it FAILED, with the source as it saw it.
                error!(error = %e, des_bucket = %job.des_bucket, des_key = %job.des_key, "copy failed permanently");
                self.count_failure(job, &e.to_string()).await;
                // Retrying cannot help: straight to the dead-letter queue when there is one.
                End::Permanent(e)
            }
        }
    }

    /// Counts a failed object in its bucket pair's progress (`jobsender status`).
    pub(crate) async fn count_failure(&self, job: &Job, reason: &str) {
        let failed =
            Progress { failed: 1, last_failure: Some((job.src_key.clone(), reason.to_owned())), ..Default::default() };
        self.count(job, &failed).await;
    }

    /// Adds to the progress counters of `job`'s bucket pair.
    pub(crate) async fn count(&self, job: &Job, add: &Progress) {
        if let Err(e) = self.copier.ledger.add_progress(&job.src_bucket, &job.des_bucket, add).await {
            warn!(error = %e, "could not count the job's end for status");
        }
    }

    /// Sends a message body again as a fresh message, visible after `delay_secs`; the current
    /// message is then consumed. Without a queue to send to, the message itself must come back.
    pub(crate) async fn send_again(&self, body: String, delay_secs: u64, why: &str) -> Result<(), MessageError> {
        let Some(url) = &self.requeue_url else {
            return Err(MessageError::NoRequeueQueue { why: why.to_owned() });
        };
        let sent =
            self.sqs.send_message().queue_url(url).message_body(body).delay_seconds(delay_secs as i32).send().await;
        match sent {
            Ok(_) => {
                info!(reason = why, delay_secs, "sent again as a fresh message");
                Ok(())
            }
            Err(source) => Err(MessageError::SendAgain { why: why.to_owned(), queue: url.clone(), source }),
        }
    }
}

/// The jobs a message body names (single or packed); none for events and bad bodies.
fn jobs_of(body: &str, event_destination: &s3_migrate_core::event::EventDestination) -> Vec<Job> {
    let Ok(items) = parse_message(body, event_destination) else { return Vec::new() };
    items
        .into_iter()
        .flat_map(|item| match item {
            Incoming::Copy(job) => vec![job],
            Incoming::Pack(pack) => pack.jobs,
            _ => Vec::new(),
        })
        .collect()
}
