//! Copying one object: decide how, resume what can be resumed, record the result.
//!
//! Consistency rule: every byte read from the source is tied to the object HEAD saw, either
//! by version (`GetObjectWithVersionId` with a versioned job, or `UpdateVersionId` when the job
//! says "null") or by `If-Match` on its ETag. A source overwritten mid-copy fails those reads
//! with 412, and the copy starts over from a fresh HEAD, so the destination never mixes two
//! source versions. An object the job says fits one request is copied without a HEAD (see
//! `listed`): one request cannot mix versions, and its answer says which one it copied.

#[macro_use]
mod headers;

pub mod budget;
mod complete;
pub mod decide;
mod ledgered;
mod list_parts;
mod listed;
mod multipart;
mod parts;
mod pipe;
mod read;
mod single;
mod types;
mod upload;
pub mod verify;

pub(crate) use types::{until, Pinned, OUT_OF_TIME_UNSTARTED};
pub use types::{CopyReport, Outcome, Packed};

use crate::error::CopyError;
use crate::s3::{check_source_bucket, head_destination, head_source, source_tagging, SourceObject};
use crate::stats::Stats;
use decide::Plan;
use s3_migrate_core::config::{CopyPath, WorkerConfig};
use s3_migrate_core::ledger::Ledger;
use s3_migrate_core::ledger::{now_secs, LedgerError, Status};
use s3_migrate_core::regions::RegionalClients;
use s3_migrate_core::rotation::{Reread, RotatingKeys};
use s3_migrate_core::store::Store;
use s3_migrate_core::Job;
use std::sync::Arc;
use std::time::Instant;
use tracing::{info, warn};

/// Times one run starts a copy over because the source changed under it.
const SOURCE_CHANGE_RESTARTS: u32 = 3;

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

impl Copier {
    /// Copies `job`'s object, resuming a recorded upload where it is still valid. Stops
    /// starting parts at `deadline` and reports [`Outcome::OutOfTime`].
    ///
    /// When S3 refuses the keys, the other side's keys are read again (see
    /// `s3_migrate_core::rotation`): new keys get the copy tried once more; the same keys
    /// leave the refusal standing, saying so.
    pub async fn copy(&self, job: &Job, deadline: Option<Instant>) -> Result<CopyReport, CopyError> {
        self.copy_packed(job, deadline, None).await
    }

    /// [`Copier::copy`], for one object of a pack when `packed` is given. A copy that failed
    /// for good is recorded FAILED with the size, version and ETag the copy saw of the source
    /// (its HEAD), else the job's: what the jobsender compares a listing against.
    pub async fn copy_packed(
        &self,
        job: &Job,
        deadline: Option<Instant>,
        packed: Option<&Packed>,
    ) -> Result<CopyReport, CopyError> {
        let mut head_seen = None;
        let result = self.copy_with_keys(job, deadline, packed, &mut head_seen).await;
        if let Err(e) = &result {
            if e.is_recorded_failure() {
                let (size, version, etag) = match &head_seen {
                    Some(head) => (head.size, head.version_id.as_deref(), head.etag.as_deref()),
                    None => (job.size, job.version_id.as_deref(), job.etag.as_deref()),
                };
                if let Err(le) = self.ledger.failed(&job.ledger_key(), size, version, etag, &e.to_string()).await {
                    warn!(key = %job.src_key, error = %le, "could not record the failure");
                }
            }
        }
        result
    }

    /// [`Copier::copy_packed`] with the other side's keys read again once when S3 refuses
    /// them; `head_seen` is the source as the copy's last HEAD saw it.
    async fn copy_with_keys(
        &self,
        job: &Job,
        deadline: Option<Instant>,
        packed: Option<&Packed>,
        head_seen: &mut Option<SourceObject>,
    ) -> Result<CopyReport, CopyError> {
        // A store without versioning has no version to read (`versioning=false`).
        let unversioned;
        let job = if self.stores.0.versioning || job.version_id.is_none() {
            job
        } else {
            unversioned = Job { version_id: None, ..job.clone() };
            &unversioned
        };
        let seen = self.keys.as_ref().map(RotatingKeys::generation);
        let result = self.for_job(job).await.copy_in_region(job, deadline, packed, head_seen).await;
        let (Err(CopyError::KeysRefused { op, bucket, key, message }), Some(keys), Some(seen)) =
            (&result, &self.keys, seen)
        else {
            return result;
        };
        let note = match keys.reread_after(seen).await {
            Ok(Reread::Changed) => {
                info!(key = %job.src_key, parameter = keys.parameter(), "keys refused; trying again with the keys now in ssm");
                // Regions HeadBucket did not name under the refused keys are asked again.
                self.regions.0.forget_unnamed();
                self.regions.1.forget_unnamed();
                return self.for_job(job).await.copy_in_region(job, deadline, None, head_seen).await;
            }
            Ok(Reread::Unchanged) => format!(
                "; the keys in SSM parameter {} (ssm_parameter_credentials) were read again and are the same: if they were rotated, store the new ones there",
                keys.parameter()
            ),
            Err(e) => format!("; reading the keys again failed: {e}"),
        };
        Err(CopyError::KeysRefused {
            op,
            bucket: bucket.clone(),
            key: key.clone(),
            message: format!("{message}{note}"),
        })
    }

    /// This copier with the clients of the job's buckets' regions (found once per bucket).
    pub async fn for_job(&self, job: &Job) -> Copier {
        let (src, des) = &*self.regions;
        Copier {
            src: src.for_bucket(&job.src_bucket).await,
            des: des.for_bucket(&job.des_bucket).await,
            ..self.clone()
        }
    }

    async fn copy_in_region(
        &self,
        job: &Job,
        deadline: Option<Instant>,
        packed: Option<&Packed>,
        head_seen: &mut Option<SourceObject>,
    ) -> Result<CopyReport, CopyError> {
        let started = Instant::now();
        let owner = format!("{:016x}", rand::random::<u64>());
        // Started where a multipart copy takes the lease; single-request copies hold none.
        let mut heartbeat: Option<tokio::task::JoinHandle<()>> = None;
        let mut restarts = 0;
        let result = loop {
            // A start over reads the record again.
            let packed = packed.filter(|_| restarts == 0);
            match self.copy_once(job, deadline, started, (&owner, packed), &mut heartbeat, head_seen).await {
                Err(e @ (CopyError::SourceChanged { .. } | CopyError::UploadGone { .. }))
                    if restarts < SOURCE_CHANGE_RESTARTS =>
                {
                    restarts += 1;
                    warn!(key = %job.src_key, restarts, error = %e, "starting the copy over");
                }
                other => break other,
            }
        };
        if let Some(heartbeat) = heartbeat {
            heartbeat.abort();
            if let Err(e) = self.ledger.release(&job.ledger_key(), &owner).await {
                warn!(key = %job.src_key, error = %e, "could not release the lease; it expires by itself");
            }
        }
        result
    }

    /// Renews this copy's lease every third of `LeaseSeconds` while the copy runs.
    fn spawn_heartbeat(&self, key: String, owner: String) -> tokio::task::JoinHandle<()> {
        let ledger = self.ledger.clone();
        let lease = self.cfg.lease_secs;
        tokio::spawn(async move {
            let every = std::time::Duration::from_secs((lease / 3).max(1));
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = ledger.renew(&key, &owner, lease).await {
                    warn!(key = %key, error = %e, "could not renew the lease");
                }
            }
        })
    }

    async fn copy_once(
        &self,
        job: &Job,
        deadline: Option<Instant>,
        started: Instant,
        (owner, packed): (&str, Option<&Packed>),
        heartbeat: &mut Option<tokio::task::JoinHandle<()>>,
        head_seen: &mut Option<SourceObject>,
    ) -> Result<CopyReport, CopyError> {
        let report = |outcome, bytes, up, skip| CopyReport {
            outcome,
            bytes_transferred: bytes,
            parts_uploaded: up,
            parts_skipped: skip,
            seconds: started.elapsed().as_secs_f64(),
            done: None,
        };
        let ledger_key = job.ledger_key();
        let record = match packed {
            Some(p) => p.record.clone(),
            None => self.ledger.get(&ledger_key).await?,
        };
        let defer = packed.is_some();
        if let Some(r) = record.as_ref().filter(|r| r.leased_by_other(owner, now_secs())) {
            return Err(LedgerError::Busy { key: ledger_key, until: r.lease_until.unwrap_or(0) }.into());
        }
        if let Some(done) = self.copy_listed(job, record.as_ref(), started, (deadline, defer)).await? {
            return Ok(done);
        }
        // Facts: the source as HEAD sees it, and the destination where the record says it
        // was copied; then one plan, then the requests it names.
        let pinned = self.pin_source(job).await?;
        *head_seen = pinned.as_ref().map(|p| p.head.clone());
        let source = pinned.as_ref().map(|p| decide::SourceFacts {
            size: p.head.size,
            version_id: p.head.version_id.as_deref(),
            etag: p.head.etag.as_deref(),
        });
        let destination_size = match source {
            Some(src) if decide::Facts::needs_destination(src, record.as_ref()) => {
                head_destination(&self.des, &job.des_bucket, &job.des_key).await?.map(|d| d.size)
            }
            _ => None,
        };
        let facts = decide::Facts { source, record: record.as_ref(), destination_size };
        let plan = decide::plan(&facts, &self.limits(job));
        let pinned = match (plan, pinned) {
            (Plan::SourceGone, _) | (_, None) => {
                check_source_bucket(&self.src, &job.src_bucket, &job.src_key).await?;
                info!(key = %job.src_key, bucket = %job.src_bucket, "source object is gone, nothing to copy");
                self.ledger.finish_without_copy(&ledger_key, Status::Skipped, "source object no longer exists").await?;
                return Ok(report(Outcome::SourceGone, 0, 0, 0));
            }
            (_, Some(pinned)) => pinned,
        };
        let head = &pinned.head;
        match plan {
            Plan::SourceGone => Ok(report(Outcome::SourceGone, 0, 0, 0)),
            Plan::AlreadyCopied => {
                info!(key = %job.src_key, "already copied at this size and version, skipping");
                Ok(report(Outcome::AlreadyDone, 0, 0, 0))
            }
            Plan::OneRequest { dest_expected } | Plan::StreamedPut { dest_expected } => {
                // One atomic request: no upload to claim and no lease to hold, so the ledger is
                // written once, when it is done (duplicates write the same bytes).
                self.drop_stale_upload(job, record.as_ref()).await?;
                let copy = async {
                    match plan {
                        Plan::StreamedPut { .. } => single::put_streamed(self, job, &pinned, dest_expected).await,
                        _ => single::copy(self, job, &pinned, dest_expected).await,
                    }
                };
                let Some(bytes) = until(deadline, copy).await.transpose()? else {
                    return Ok(report(OUT_OF_TIME_UNSTARTED, 0, 0, 0));
                };
                let done = self.finish(job, head, started, defer).await?;
                let copied = Outcome::Copied { version_id: head.version_id.clone() };
                Ok(CopyReport { done, ..report(copied, bytes, 0, 0) })
            }
            Plan::TooLarge { limit } => Err(CopyError::TooLarge {
                bucket: job.des_bucket.clone(),
                key: job.des_key.clone(),
                size: head.size,
                limit,
            }),
            Plan::Multipart => {
                heartbeat.get_or_insert_with(|| self.spawn_heartbeat(ledger_key.clone(), owner.to_owned()));
                let m = multipart::copy(self, job, &pinned, record, deadline, owner).await?;
                if m.parts_done < m.parts_total {
                    let out_of_time = Outcome::OutOfTime { parts_done: m.parts_done, parts_total: m.parts_total };
                    return Ok(report(out_of_time, m.bytes, m.uploaded, m.skipped));
                }
                // A multipart copy changed the record since the pack read it: written now, as always.
                self.finish(job, head, started, false).await?;
                Ok(report(Outcome::Copied { version_id: head.version_id.clone() }, m.bytes, m.uploaded, m.skipped))
            }
        }
    }

    /// What the settings and the stores allow a copy of `job` (see [`decide::plan`]).
    fn limits(&self, job: &Job) -> decide::Limits {
        let des = &self.stores.1;
        decide::Limits {
            single_request: self.single_request_limit(job),
            path: self.path,
            des_multipart: des.multipart,
            des_max_put: des.max_put_bytes,
        }
    }

    /// Largest object copied in one request (see [`decide::single_request_limit`]).
    fn single_request_limit(&self, job: &Job) -> u64 {
        let des = &self.stores.1;
        decide::single_request_limit(self.path, self.cfg.resumable_threshold, job.attempt, des.multipart)
    }

    /// Largest object copied in one buffered request (GET + PUT) or one CopyObject: what
    /// [`decide::transfer`] calls [`Transfer::OneRequest`] in stream mode.
    fn one_request_limit(&self, job: &Job) -> u64 {
        self.single_request_limit(job).min(decide::one_put_max(self.path, self.stores.1.max_put_bytes))
    }

    /// HEADs the source and decides what every read is tied to. `None` when it is gone.
    async fn pin_source(&self, job: &Job) -> Result<Option<Pinned>, CopyError> {
        let cfg = &self.cfg;
        let job_version = if cfg.get_object_with_version_id { job.version_id.as_deref() } else { None };
        let Some(head) = head_source(&self.src, &job.src_bucket, &job.src_key, job_version).await? else {
            return Ok(None);
        };
        let (head_version, head_etag) = (head.version_id.as_deref(), head.etag.as_deref());
        let pin = decide::ReadPin::decide(
            job_version,
            head_version,
            head_etag,
            cfg.update_version_id,
            job.version_id.is_some(),
        );
        let tagging = if cfg.copy_tags {
            source_tagging(&self.src, &job.src_bucket, &job.src_key, pin.version()).await?
        } else {
            None
        };
        Ok(Some(Pinned { head, pin, tagging }))
    }
}
