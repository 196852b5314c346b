//! What a copy reads from and writes to the ledger around its transfer: whether it was
//! already copied, the stale upload a record names, and the record of a finished copy.

use super::upload;
use super::Copier;
use crate::error::CopyError;
use crate::s3::{head_destination, SourceObject};
use s3_migrate_core::ledger::{Done, ObjectRecord, Progress};
use s3_migrate_core::Job;
use std::time::Instant;
use tracing::{info, warn};

impl Copier {
    /// True when the ledger says this size and version (or ETag) were copied and the
    /// destination has that size: the copy is skipped.
    pub(super) async fn already_copied(
        &self,
        job: &Job,
        record: Option<&ObjectRecord>,
        size: u64,
        version_id: Option<&str>,
        etag: Option<&str>,
    ) -> Result<bool, CopyError> {
        if !record.is_some_and(|r| r.is_done_for(size, version_id, etag)) {
            return Ok(false);
        }
        let done = head_destination(&self.des, &job.des_bucket, &job.des_key).await?.is_some_and(|d| d.size == size);
        if done {
            info!(key = %job.src_key, "already copied at this size and version, skipping");
        }
        Ok(done)
    }

    /// Aborts the multipart upload a record still names, before a single-request copy.
    pub(super) async fn drop_stale_upload(&self, job: &Job, record: Option<&ObjectRecord>) -> Result<(), CopyError> {
        if let Some((r, stale)) = record.and_then(|r| r.upload_id.as_deref().map(|u| (r, u))) {
            upload::abort_recorded(self, job, r, stale).await;
            self.ledger.clear_upload(&job.ledger_key(), stale).await?;
        }
        Ok(())
    }

    /// Records a finished copy, or with `defer` hands the record back for the caller to write
    /// with a pack's others.
    pub(super) async fn finish(
        &self,
        job: &Job,
        head: &SourceObject,
        started: Instant,
        defer: bool,
    ) -> Result<Option<Done>, CopyError> {
        let done = Done {
            key: job.ledger_key(),
            des_bucket: job.des_bucket.clone(),
            des_key: job.des_key.clone(),
            size: head.size,
            version_id: head.version_id.clone(),
            etag: head.etag.clone(),
            src_modified: head.last_modified,
            spent_secs: started.elapsed().as_secs(),
        };
        self.stats.add_object();
        if defer {
            return Ok(Some(done));
        }
        if !self.ledger.done(&done).await? {
            info!(key = %job.src_key, "a copy of a newer source was recorded meanwhile; the ledger keeps it");
        }
        let copied = Progress { copied: 1, bytes: head.size, ..Default::default() };
        if let Err(e) = self.ledger.add_progress(&job.src_bucket, &job.des_bucket, &copied).await {
            warn!(key = %job.src_key, error = %e, "could not count the copy for status");
        }
        Ok(None)
    }
}
