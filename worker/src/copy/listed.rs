//! Single-request copies made from the job alone, with no source HEAD: a small object costs
//! one GET + PUT (stream) or one CopyObject (server), which is most of the requests of a
//! bucket of small objects.
//!
//! Stream mode GETs the whole object (or the job's version) and takes size, ETag, version and
//! metadata from that answer: they describe exactly the bytes in its body. Server mode copies
//! the job's version, or the current object only if its ETag is still the listed one
//! (`x-amz-copy-source-if-match`), so the listed size is the copied size. Anything else (the
//! object grew past the limit, changed since it was listed, is gone, or the job carries
//! neither version nor ETag) goes the HEAD path, which decides with a fresh look.

use super::decide::ReadPin;
use super::read::fetch_whole;
use super::single;
use super::types::{until, CopyReport, Outcome, Pinned, OUT_OF_TIME_UNSTARTED};
use super::Copier;
use crate::error::CopyError;
use crate::s3::{source_tagging, SourceObject};
use aws_sdk_s3::types::ChecksumAlgorithm;
use s3_migrate_core::config::CopyPath;
use s3_migrate_core::ledger::ObjectRecord;
use s3_migrate_core::Job;
use std::time::Instant;

impl Copier {
    /// Copies `job`'s object in one request without a HEAD when the job says it fits one.
    /// `None` when the HEAD path must decide instead.
    pub(super) async fn copy_listed(
        &self,
        job: &Job,
        record: Option<&ObjectRecord>,
        started: Instant,
        (deadline, defer): (Option<Instant>, bool),
    ) -> Result<Option<CopyReport>, CopyError> {
        let cfg = &self.cfg;
        let version = if cfg.get_object_with_version_id { job.version_id.as_deref() } else { None };
        let pinnable = version.is_some() || job.etag.is_some();
        let (limit, lock) = (self.one_request_limit(job), cfg.destination.copy_object_lock);
        if !super::decide::copy_without_head(job.size, limit, self.path, pinnable, lock) {
            return Ok(None);
        }
        let report = |outcome, bytes| CopyReport {
            outcome,
            bytes_transferred: bytes,
            parts_uploaded: 0,
            parts_skipped: 0,
            seconds: started.elapsed().as_secs_f64(),
            done: None,
        };
        if self.already_copied(job, record, job.size, job.version_id.as_deref(), job.etag.as_deref()).await? {
            return Ok(Some(report(Outcome::AlreadyDone, 0)));
        }
        self.drop_stale_upload(job, record).await?;
        let (head, bytes) = if self.path == CopyPath::Stream {
            let Some(fetched) = fetch_whole(&self.src, job, version).await? else {
                return Ok(None);
            };
            if fetched.head.size > self.one_request_limit(job) {
                return Ok(None);
            }
            let tagging = if cfg.copy_tags {
                let v = fetched.head.version_id.as_deref();
                source_tagging(&self.src, &job.src_bucket, &job.src_key, v).await?
            } else {
                None
            };
            let _buffered = self.buffers.reserve(fetched.head.size).await;
            let Some(read) = until(deadline, fetched.read(job)).await else {
                return Ok(Some(report(OUT_OF_TIME_UNSTARTED, 0)));
            };
            let (mut head, data) = read?;
            // A plain GET names no checksum; the listing did.
            head.meta.checksum_algorithm =
                head.meta.checksum_algorithm.or_else(|| job.checksum_algorithm.as_deref().map(ChecksumAlgorithm::from));
            let pin = ReadPin::of(None, head.etag.as_deref());
            let pinned = Pinned { head, pin, tagging };
            let dest_expected = super::decide::destination_expected(record);
            let Some(bytes) =
                until(deadline, single::put(self, job, &pinned, data, dest_expected)).await.transpose()?
            else {
                return Ok(Some(report(OUT_OF_TIME_UNSTARTED, 0)));
            };
            (pinned.head, bytes)
        } else {
            let pin = ReadPin::of(version, job.etag.as_deref());
            // A listed ETag may be an SSE-KMS one: it cannot be compared with the copy's.
            let unread = Default::default();
            let copy = single::server(self, job, &pin, None, &unread);
            let Some(copied) = until(deadline, copy).await.transpose()? else {
                return Ok(Some(report(OUT_OF_TIME_UNSTARTED, 0)));
            };
            let Some(copied) = copied else {
                return Ok(None);
            };
            let version_id = copied.version_id.or_else(|| version.map(str::to_owned));
            let etag = job.etag.clone();
            let head = SourceObject {
                size: job.size,
                etag,
                etag_is_md5: false,
                version_id,
                last_modified: None,
                meta: Default::default(),
            };
            (head, 0)
        };
        let done = self.finish(job, &head, started, defer).await?;
        Ok(Some(CopyReport { done, ..report(Outcome::Copied { version_id: head.version_id }, bytes) }))
    }
}
