//! Objects above `ResumableThreshold`: a multipart upload that survives being cut off.
//!
//! The ledger records the upload id, part size, source size, version and ETag. A later run
//! reuses that upload only when all of them still match the source; it then lists the parts
//! already uploaded (paginated) and sends only the missing ones. Otherwise the old upload is
//! aborted and a new one started. Two workers on the same object settle on one upload through
//! a conditional ledger write; the loser aborts its own and joins the winner's.

use super::complete::completed_earlier;
use super::decide::UploadTarget;
use super::list_parts::{list_parts, UploadedPart};
use super::parts::upload_part;
use super::types::{until, Pinned};
use super::upload::{abort_quietly, abort_recorded, create_upload};
use super::Copier;
use crate::error::CopyError;
use crate::s3::head_destination;
use futures::StreamExt;
use s3_migrate_core::config::CopyPath;
use s3_migrate_core::ledger::{Begin, LedgerError, ObjectRecord};
use s3_migrate_core::plan::{Part, PartPlan};
use s3_migrate_core::Job;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tracing::{info, warn};

/// Times a run tries to settle which upload it works on before giving up for now.
const CLAIM_ATTEMPTS: u32 = 3;

/// What a multipart run did.
#[derive(Debug, Default)]
pub(super) struct MultipartRun {
    pub parts_total: u32,
    pub parts_done: u32,
    pub uploaded: u32,
    pub skipped: u32,
    pub bytes: u64,
}

enum PartRun {
    Uploaded(u64),
    NotStarted,
    Failed(CopyError),
}

pub(super) async fn copy(
    copier: &Copier,
    job: &Job,
    pinned: &Pinned,
    record: Option<ObjectRecord>,
    deadline: Option<Instant>,
    owner: &str,
) -> Result<MultipartRun, CopyError> {
    let plan = PartPlan::new(pinned.head.size, copier.cfg.chunk_size)?;
    let (upload_id, existing) = match claim(copier, job, pinned, &plan, record, owner).await? {
        Claimed::Upload(id, parts) => (id, parts),
        Claimed::CompletedEarlier => {
            let n = plan.count;
            return Ok(MultipartRun { parts_total: n, parts_done: n, skipped: n, ..Default::default() });
        }
    };
    let todo: Vec<Part> =
        plan.parts().filter(|part| existing.get(&part.number).is_none_or(|u| u.size != part.len)).collect();
    let mut run = MultipartRun {
        parts_total: plan.count,
        skipped: plan.count - todo.len() as u32,
        parts_done: plan.count - todo.len() as u32,
        ..Default::default()
    };
    if run.skipped > 0 {
        info!(key = %job.src_key, upload_id = %upload_id, parts_present = run.skipped, parts_total = plan.count, "resuming upload");
    }
    let stop = AtomicBool::new(false);
    let mut results = futures::stream::iter(todo)
        .map(|part| {
            let (stop, upload_id) = (&stop, upload_id.as_str());
            async move {
                if stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d) {
                    return PartRun::NotStarted;
                }
                // In flight too, a part is bounded by the deadline (Lambda's is the function's
                // own minus a margin): one that cannot finish is cancelled, and ListParts tells
                // the next run whether S3 kept it.
                let Some(sent) = until(deadline, upload_part(copier, job, pinned, upload_id, part)).await else {
                    warn!(key = %job.src_key, part = part.number, "part cut off by the time budget");
                    return PartRun::NotStarted;
                };
                match sent {
                    Ok(()) => PartRun::Uploaded(part.len),
                    Err(e) => {
                        stop.store(true, Ordering::Relaxed);
                        PartRun::Failed(e)
                    }
                }
            }
        })
        .buffer_unordered(copier.cfg.max_thread);
    let mut first_error = None;
    while let Some(r) = results.next().await {
        match r {
            PartRun::Uploaded(len) => {
                run.uploaded += 1;
                run.parts_done += 1;
                run.bytes += if copier.path == CopyPath::Stream { len } else { 0 };
            }
            PartRun::NotStarted => {}
            PartRun::Failed(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    drop(results);
    if let Some(e) = first_error {
        if matches!(e, CopyError::SourceChanged { .. }) || !e.is_retryable() {
            // Parts of a changed source are useless; a permanent failure will not be resumed.
            abort_quietly(&copier.des, job, &upload_id).await;
            copier.ledger.clear_upload(&job.ledger_key(), &upload_id).await?;
        }
        return Err(e);
    }
    if run.parts_done < plan.count {
        info!(key = %job.src_key, parts_done = run.parts_done, parts_total = plan.count, "time budget reached, progress saved");
        return Ok(run);
    }
    super::complete::complete(copier, job, pinned, &plan, &upload_id).await?;
    Ok(run)
}

/// What [`claim`] settled on.
enum Claimed {
    /// The upload to work on, and the parts already uploaded.
    Upload(String, BTreeMap<u32, UploadedPart>),
    /// The recorded upload was completed by a run that died before it could record DONE.
    CompletedEarlier,
}

/// Settles on the upload this run works on: the recorded one when it still fits the source,
/// else a new one; or none, when the recorded one was already completed.
async fn claim(
    copier: &Copier,
    job: &Job,
    pinned: &Pinned,
    plan: &PartPlan,
    mut record: Option<ObjectRecord>,
    owner: &str,
) -> Result<Claimed, CopyError> {
    let key = job.ledger_key();
    let claimant =
        Claimant { key: &key, job, pinned, part_size: plan.part_size, owner, lease_secs: copier.cfg.lease_secs };
    for _ in 0..CLAIM_ATTEMPTS {
        let recorded = record.as_ref().and_then(|r| r.upload_id.clone());
        if let Some(up) = recorded.as_deref() {
            let fits = record.as_ref().is_some_and(|r| upload_fits(r, job, pinned, plan));
            if fits {
                match list_parts(copier, job, up).await? {
                    Some(parts) => match copier.ledger.begin(&claimant.begin(up, Some(up))).await {
                        Ok(()) => return Ok(Claimed::Upload(up.to_owned(), parts)),
                        Err(LedgerError::ClaimLost { .. }) => {
                            record = copier.ledger.get(&key).await?;
                            continue;
                        }
                        Err(e) => return Err(e.into()),
                    },
                    None => {
                        // Gone: completed by a run killed before it recorded DONE (inside
                        // CompleteMultipartUpload, or its ledger write), or aborted.
                        let found = head_destination(&copier.des, &job.des_bucket, &job.des_key).await?;
                        if record.as_ref().is_some_and(|r| completed_earlier(r, found.as_ref())) {
                            info!(key = %job.src_key, upload_id = %up, "recorded upload was completed by an earlier run");
                            return Ok(Claimed::CompletedEarlier);
                        }
                        info!(key = %job.src_key, upload_id = %up, "recorded upload no longer exists, starting a new one")
                    }
                }
            } else {
                info!(key = %job.src_key, upload_id = %up, "recorded upload is stale (source, part size or destination changed), aborting it");
                if let Some(r) = record.as_ref() {
                    abort_recorded(copier, job, r, up).await;
                }
            }
            copier.ledger.clear_upload(&key, up).await?;
        }
        let new_id = create_upload(copier, job, pinned).await?;
        match copier.ledger.begin(&claimant.begin(&new_id, None)).await {
            Ok(()) => return Ok(Claimed::Upload(new_id, BTreeMap::new())),
            Err(e) => {
                // Another worker recorded its upload first (or the ledger failed): ours is
                // dropped, never left behind.
                abort_quietly(&copier.des, job, &new_id).await;
                match e {
                    LedgerError::ClaimLost { .. } => record = copier.ledger.get(&key).await?,
                    e => return Err(e.into()),
                }
            }
        }
    }
    Err(LedgerError::ClaimLost { key }.into())
}

/// Who claims an upload, for the ledger's conditional write.
struct Claimant<'a> {
    key: &'a str,
    job: &'a Job,
    pinned: &'a Pinned,
    part_size: u64,
    owner: &'a str,
    lease_secs: u64,
}

impl Claimant<'_> {
    fn begin<'b>(&'b self, upload_id: &'b str, expected: Option<&'b str>) -> Begin<'b> {
        Begin {
            key: self.key,
            des_bucket: &self.job.des_bucket,
            des_key: &self.job.des_key,
            size: self.pinned.head.size,
            version_id: self.pinned.head.version_id.as_deref(),
            etag: self.pinned.head.etag.as_deref(),
            upload: Some((upload_id, self.part_size)),
            expected_upload: expected,
            owner: self.owner,
            lease_secs: self.lease_secs,
        }
    }
}

fn upload_fits(r: &ObjectRecord, job: &Job, pinned: &Pinned, plan: &PartPlan) -> bool {
    let target = UploadTarget {
        size: pinned.head.size,
        part_size: plan.part_size,
        etag: pinned.head.etag.as_deref(),
        version_id: pinned.head.version_id.as_deref(),
        des: (&job.des_bucket, &job.des_key),
    };
    super::decide::upload_fits(r, &target)
}
