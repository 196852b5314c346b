//! Why a copy failed, and whether trying again can help.

use s3_migrate_core::ledger::LedgerError;
use s3_migrate_core::plan::PlanError;
use s3_migrate_core::retry::ErrorClass;

/// A failed copy. [`CopyError::class`] says whether the message should come back.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("S3 {op} on s3://{bucket}/{key} failed: {message}")]
    S3 { op: &'static str, bucket: String, key: String, message: String, class: ErrorClass },
    /// S3 did not accept the keys (see `s3_migrate_core::retry::keys_maybe_refused`): the
    /// other side's keys are read again once (key rotation); if they are the same, the
    /// refusal is permanent.
    #[error("S3 {op} on s3://{bucket}/{key} was refused: {message}")]
    KeysRefused { op: &'static str, bucket: String, key: String, message: String },
    /// The destination store has no multipart upload (`multipart=false`) and takes smaller
    /// objects in one PUT: this one cannot be copied there.
    #[error("s3://{bucket}/{key} is {size} bytes, more than the destination takes in one PUT ({limit} bytes, max_put_bytes) and it has no multipart upload (multipart=false)")]
    TooLarge { bucket: String, key: String, size: u64, limit: u64 },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("source s3://{bucket}/{key} changed during the copy; the copy starts over")]
    SourceChanged { bucket: String, key: String },
    #[error("integrity check failed for s3://{bucket}/{key}: {detail}")]
    Integrity { bucket: String, key: String, detail: String },
    /// A newer version of the source was written (and copied) while this delivery held an
    /// older one: it stands down, the message is done with.
    #[error("s3://{bucket}/{key} was written again while this copy held an older version; the newer copy stands")]
    Superseded { bucket: String, key: String },
    /// The multipart upload was aborted by someone else (`NoSuchUpload` on UploadPart): the
    /// copy settles on an upload again.
    #[error("multipart upload {upload_id} of s3://{bucket}/{key} no longer exists; the copy settles on a new one")]
    UploadGone { bucket: String, key: String, upload_id: String },
}

impl CopyError {
    pub fn class(&self) -> ErrorClass {
        match self {
            CopyError::S3 { class, .. } => *class,
            CopyError::Ledger(e) => e.class(),
            CopyError::Plan(_)
            | CopyError::Superseded { .. }
            | CopyError::KeysRefused { .. }
            | CopyError::TooLarge { .. } => ErrorClass::Permanent,
            CopyError::SourceChanged { .. } | CopyError::Integrity { .. } | CopyError::UploadGone { .. } => {
                ErrorClass::Retryable
            }
        }
    }

    pub fn is_retryable(&self) -> bool {
        self.class() == ErrorClass::Retryable
    }

    /// Whether the object is recorded FAILED in the ledger: a failure no retry can help,
    /// except a delivery that stands down for a newer copy (that copy's record stands).
    pub fn is_recorded_failure(&self) -> bool {
        !self.is_retryable() && !matches!(self, CopyError::Superseded { .. })
    }
}

/// What SQS answers a SendMessage that failed.
pub type SendMessageFailure = aws_sdk_sqs::error::SdkError<aws_sdk_sqs::operation::send_message::SendMessageError>;

/// Why a message must come back (not be deleted): SQS delivers it again, and after the
/// queue's `maxReceiveCount` receives its redrive policy parks it in the dead-letter queue.
/// [`MessageError::class`] says whether a later delivery can do better.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    /// A copy or a removal failed.
    #[error(transparent)]
    Copy(#[from] CopyError),
    /// A pack's records could not be read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// No retry can help, and there is no `DeadLetterQueueUrl` to park it in at once.
    #[error("{reason}")]
    NoDeadLetterQueue { reason: String },
    /// Parking it in `DeadLetterQueueUrl` failed.
    #[error("{reason}; moving it to {queue} failed: {}", s3_migrate_core::clients::error_chain(.source))]
    Park {
        reason: String,
        queue: String,
        #[source]
        source: SendMessageFailure,
    },
    /// It was to be sent again as a fresh message (handed on), and there is no queue to send
    /// it to.
    #[error("{why}, and there is no queue to send the job to again")]
    NoRequeueQueue { why: String },
    /// Sending it again as a fresh message failed.
    #[error("{why}; sending the job again to {queue} failed: {}", s3_migrate_core::clients::error_chain(.source))]
    SendAgain {
        why: String,
        queue: String,
        #[source]
        source: SendMessageFailure,
    },
}

impl MessageError {
    /// Whether a later delivery may succeed: a retryable copy or ledger error, or an SQS send
    /// that failed. A message that no delivery can do (no dead-letter queue to park it in, a
    /// permanent copy error) comes back all the same, until the redrive policy parks it.
    pub fn class(&self) -> ErrorClass {
        match self {
            MessageError::Copy(e) => e.class(),
            MessageError::Ledger(e) => e.class(),
            MessageError::Park { source, .. } | MessageError::SendAgain { source, .. } => {
                s3_migrate_core::retry::classify(source)
            }
            MessageError::NoDeadLetterQueue { .. } | MessageError::NoRequeueQueue { .. } => ErrorClass::Permanent,
        }
    }
}
