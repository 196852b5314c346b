//! The types the copy modules share: the copier itself, what one copy reports, the source as
//! pinned for a copy, and the deadline every request is bounded by.

use super::budget;
use super::decide::ReadPin;
use crate::s3::SourceObject;
use crate::stats::Stats;
use s3_migrate_core::config::{CopyPath, WorkerConfig};
use s3_migrate_core::ledger::{Done, Ledger, ObjectRecord};
use s3_migrate_core::regions::RegionalClients;
use s3_migrate_core::rotation::RotatingKeys;
use s3_migrate_core::store::Store;
use std::sync::Arc;
use std::time::Instant;

/// A single-request copy cut by the deadline: nothing of it is kept, the job is handed on.
pub(crate) const OUT_OF_TIME_UNSTARTED: Outcome = Outcome::OutOfTime { parts_done: 0, parts_total: 1 };

/// Runs `request` until `deadline` (Lambda's own minus a margin, or the poller's): `None` when
/// it was cut off there. In flight too, a request is bounded, so the job is handed on before
/// Lambda's hard timeout stops the function.
pub(crate) async fn until<T>(deadline: Option<Instant>, request: impl std::future::Future<Output = T>) -> Option<T> {
    match deadline {
        Some(d) => tokio::time::timeout_at(d.into(), request).await.ok(),
        None => Some(request.await),
    }
}

/// How a copy ended (errors aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Copied; the source version that was copied.
    Copied { version_id: Option<String> },
    /// The ledger says this size and version were already copied.
    AlreadyDone,
    /// The source object (or the job's version) no longer exists.
    SourceGone,
    /// The time budget ran out; progress is saved and the job should be handed on.
    OutOfTime { parts_done: u32, parts_total: u32 },
}

/// What one copy did.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyReport {
    pub outcome: Outcome,
    pub bytes_transferred: u64,
    pub parts_uploaded: u32,
    pub parts_skipped: u32,
    pub seconds: f64,
    /// The ledger record of a finished single-request copy of a pack, for the caller to write
    /// with the pack's others (see [`Copier::copy_packed`]); `None` when it was written.
    pub done: Option<Done>,
}

/// A copy that is one object of a pack: its record was read with the pack's others, and a
/// single-request copy's result is handed back to be written with theirs.
#[derive(Debug, Clone, Default)]
pub struct Packed {
    pub record: Option<ObjectRecord>,
}

/// The source object, fixed for the whole copy.
#[derive(Debug, Clone)]
pub struct Pinned {
    pub head: SourceObject,
    /// What every read is tied to (see [`ReadPin`]).
    pub pin: ReadPin,
    /// Tagging header to apply (`CopyTags`, stream mode).
    pub tagging: Option<String>,
}

/// Everything a copy needs, built once per process.
#[derive(Clone)]
pub struct Copier {
    pub cfg: Arc<WorkerConfig>,
    /// The source side's client for the job's bucket (its region; see [`Copier::for_job`]).
    pub src: aws_sdk_s3::Client,
    /// The destination side's client for the job's bucket.
    pub des: aws_sdk_s3::Client,
    /// Each side's clients per region; `src` and `des` are chosen from them per job.
    pub regions: Arc<(RegionalClients, RegionalClients)>,
    pub ledger: Ledger,
    /// Through the worker or inside S3 (`TransferMode`).
    pub path: CopyPath,
    /// Bytes buffered by all copies of the process (`MemoryBudgetMiB`).
    pub buffers: Arc<budget::BufferBudget>,
    pub stats: Arc<Stats>,
    /// The other side's keys (`JobType` set), read again once when S3 refuses a copy's keys.
    pub keys: Option<RotatingKeys>,
    /// What the source's and the destination's stores can do (`s3_migrate_core::store`).
    pub stores: Arc<(Store, Store)>,
}
