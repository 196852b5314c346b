//! Why a jobsender run (or one of its bucket pairs) failed.

use s3_migrate_core::ledger::LedgerError;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("bucket {bucket} does not exist")]
    NoSuchBucket { bucket: String },
    #[error("access to bucket {bucket} was denied ({op})")]
    AccessDenied { bucket: String, op: &'static str },
    #[error("S3 {op} on bucket {bucket} failed: {message}")]
    S3 { op: &'static str, bucket: String, message: String },
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Region(#[from] s3_migrate_core::regions::RegionError),
    #[error("{} of {total} jobs could not be enqueued to {queue}: {reason}", .unsent.len())]
    Enqueue {
        queue: String,
        total: usize,
        reason: String,
        /// Ledger keys of the jobs not sent.
        unsent: Vec<String>,
    },
    #[error("writing the job list failed: {0}")]
    JobsOut(#[from] std::io::Error),
}
