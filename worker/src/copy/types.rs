//! The data the copy modules share: what one copy reports, the source as pinned for a copy,
//! and the deadline every request is bounded by. The copier itself is `copy/mod.rs`'s.

use super::decide::ReadPin;
use crate::s3::SourceObject;
use s3_migrate_core::ledger::{Done, ObjectRecord};
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
