//! Finishing a multipart upload: complete it from the parts S3 lists, check what S3 assembled,
//! and clear what is left of the key's other uploads.

use super::list_parts::list_parts;
use super::read::{source_changed, source_is_current};
use super::types::Pinned;
use super::upload::abort_quietly;
use super::verify::{composite_etag, unquote, IntegrityCheck};
use super::Copier;
use crate::error::CopyError;
use crate::s3::{head_destination, is_no_such_upload, s3_err, DestinationObject};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use s3_migrate_core::ledger::ObjectRecord;
use s3_migrate_core::plan::PartPlan;
use s3_migrate_core::retry::ErrorClass;
use s3_migrate_core::Job;
use tracing::{info, warn};

/// Completes the upload from the parts S3 lists, then checks the result before anyone may
/// record it as done: destination size, and the composite ETag where S3 gives one.
pub(super) async fn complete(
    copier: &Copier,
    job: &Job,
    pinned: &Pinned,
    plan: &PartPlan,
    upload_id: &str,
) -> Result<(), CopyError> {
    let integrity =
        |detail: String| CopyError::Integrity { bucket: job.des_bucket.clone(), key: job.des_key.clone(), detail };
    let Some(listed) = list_parts(copier, job, upload_id).await? else {
        return finished_elsewhere(copier, job, pinned).await;
    };
    for part in plan.parts() {
        match listed.get(&part.number) {
            Some(u) if u.size == part.len => {}
            other => {
                return Err(integrity(format!(
                    "part {} is {:?} bytes on the destination, expected {}",
                    part.number,
                    other.map(|u| u.size),
                    part.len
                )))
            }
        }
    }
    if pinned.pin.version().is_none() {
        // Reads were tied to the ETag; one more look catches a change made after the last read.
        if !source_is_current(&copier.src, job, pinned).await? {
            abort_quietly(&copier.des, job, upload_id).await;
            copier.ledger.clear_upload(&job.ledger_key(), upload_id).await?;
            return Err(source_changed(job));
        }
    }
    let parts: Vec<CompletedPart> = plan
        .parts()
        .filter_map(|part| listed.get(&part.number).map(|u| (part.number, u)))
        .map(|(n, u)| CompletedPart::builder().part_number(n as i32).e_tag(&u.etag).build())
        .collect();
    let expected_etag =
        composite_etag(plan.parts().filter_map(|part| listed.get(&part.number)).map(|u| u.etag.as_str()));
    // Recorded first: a run killed from here on leaves what the next one needs to recognise
    // the completed object (see `completed_earlier`).
    copier.ledger.completing(&job.ledger_key(), upload_id, expected_etag.as_deref()).await?;
    let res = copier
        .des
        .complete_multipart_upload()
        .bucket(&job.des_bucket)
        .key(&job.des_key)
        .upload_id(upload_id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await;
    match res {
        Ok(_) => {}
        Err(e) if is_no_such_upload(&e) => return finished_elsewhere(copier, job, pinned).await,
        Err(e) => return Err(s3_err("CompleteMultipartUpload", &job.des_bucket, &job.des_key, e)),
    }
    let found = head_destination(&copier.des, &job.des_bucket, &job.des_key).await?;
    let check = completed_check(found.as_ref(), pinned.head.size, expected_etag.as_deref())
        .map_err(|e| integrity(e.to_string()))?;
    info!(key = %job.src_key, parts = plan.count, size = pinned.head.size, check = check.as_str(), "multipart upload completed");
    abort_orphans(copier, job, upload_id).await;
    Ok(())
}

/// Seconds a destination's Last-Modified may lag our clock (S3 stamps it when the completion
/// starts; our record was written just before sending it).
const CLOCK_SKEW_SECS: u64 = 300;

/// True when the destination holds the object a recorded upload became: a run sent
/// CompleteMultipartUpload (the record says when, and the ETag S3 should give) and died before
/// recording DONE. The object must have the record's size, and the expected composite ETag
/// where its encryption makes ETags provable, else a Last-Modified no older than the completion.
pub(super) fn completed_earlier(record: &ObjectRecord, found: Option<&DestinationObject>) -> bool {
    let (Some(at), Some(found)) = (record.completing_at, found) else { return false };
    if record.size != Some(found.size) {
        return false;
    }
    match (found.check, record.completing_etag.as_deref(), found.etag.as_deref()) {
        (IntegrityCheck::Etag, Some(expected), Some(etag)) => unquote(etag) == expected,
        _ => found.last_modified.is_some_and(|t| t + CLOCK_SKEW_SECS >= at),
    }
}

/// How a completed upload differs from what was uploaded (the detail of a
/// [`CopyError::Integrity`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum NotAsUploaded {
    #[error("destination object is missing after CompleteMultipartUpload")]
    Missing,
    #[error("destination has {found} bytes, source has {expected}")]
    Size { found: u64, expected: u64 },
    #[error("destination ETag {found} is not the composite {composite} of the uploaded parts")]
    Etag { found: String, composite: String },
}

/// Checks a completed upload as HEAD found it: its size, and its ETag against the composite of
/// the parts' ETags where its encryption makes both MD5s (see `verify`). Returns the check that
/// proved it, or what is wrong.
fn completed_check(
    found: Option<&DestinationObject>,
    size: u64,
    composite: Option<&str>,
) -> Result<IntegrityCheck, NotAsUploaded> {
    let Some(found) = found else {
        return Err(NotAsUploaded::Missing);
    };
    if found.size != size {
        return Err(NotAsUploaded::Size { found: found.size, expected: size });
    }
    match (found.check, composite, found.etag.as_deref()) {
        (IntegrityCheck::Etag, Some(expected), Some(etag)) if expected != unquote(etag) => {
            Err(NotAsUploaded::Etag { found: etag.to_owned(), composite: expected.to_owned() })
        }
        (IntegrityCheck::Etag, Some(_), Some(_)) => Ok(IntegrityCheck::Etag),
        _ => Ok(IntegrityCheck::OnReceipt),
    }
}

/// Aborts every other open upload of the destination key. An upload whose
/// CreateMultipartUpload answer was lost (a connection cut after S3 acted) is known to nobody;
/// only the lease holder uploads parts of an object, so once its copy is complete every other
/// upload of the key is an orphan. A failure here is logged, never fatal.
async fn abort_orphans(copier: &Copier, job: &Job, ours: &str) {
    let mut markers: (Option<String>, Option<String>) = (None, None);
    loop {
        let listed = copier
            .des
            .list_multipart_uploads()
            .bucket(&job.des_bucket)
            .prefix(&job.des_key)
            .set_key_marker(markers.0.take())
            .set_upload_id_marker(markers.1.take())
            .send()
            .await;
        let out = match listed {
            Ok(out) => out,
            Err(e) => {
                let e = s3_err("ListMultipartUploads", &job.des_bucket, &job.des_key, e);
                warn!(key = %job.des_key, error = %e, "could not look for orphaned uploads");
                return;
            }
        };
        for u in out.uploads() {
            if let (Some(key), Some(id)) = (u.key(), u.upload_id()) {
                if key == job.des_key && id != ours {
                    info!(key = %job.des_key, upload_id = %id, "aborting an orphaned upload of this key");
                    abort_quietly(&copier.des, job, id).await;
                }
            }
        }
        if out.is_truncated() != Some(true) {
            return;
        }
        markers = (out.next_key_marker().map(str::to_owned), out.next_upload_id_marker().map(str::to_owned));
    }
}

/// The upload vanished between our last part and completion: a duplicate delivery of the same
/// job completed it. Accept only if the destination holds an object of the source's size.
async fn finished_elsewhere(copier: &Copier, job: &Job, pinned: &Pinned) -> Result<(), CopyError> {
    match head_destination(&copier.des, &job.des_bucket, &job.des_key).await? {
        Some(found) if found.size == pinned.head.size => {
            info!(key = %job.src_key, "upload was completed by another delivery of this job");
            Ok(())
        }
        _ => Err(CopyError::S3 {
            op: "CompleteMultipartUpload",
            bucket: job.des_bucket.clone(),
            key: job.des_key.clone(),
            message: "the multipart upload disappeared before it was completed".into(),
            class: ErrorClass::Retryable,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(size: u64, etag: &str, check: IntegrityCheck) -> DestinationObject {
        DestinationObject { size, etag: Some(format!("\"{etag}\"")), check, last_modified: Some(1_000) }
    }

    #[test]
    fn a_completed_upload_is_recognised_by_size_and_etag_or_time() {
        let composite = "0123456789abcdef0123456789abcdef-3";
        let record = ObjectRecord {
            key: "b/k".into(),
            size: Some(10),
            completing_at: Some(1_000),
            completing_etag: Some(composite.into()),
            ..Default::default()
        };
        assert!(completed_earlier(&record, Some(&found(10, composite, IntegrityCheck::Etag))));
        assert!(
            !completed_earlier(&record, Some(&found(10, "ffffffffffffffffffffffffffffffff-3", IntegrityCheck::Etag))),
            "another object"
        );
        assert!(!completed_earlier(&record, Some(&found(11, composite, IntegrityCheck::Etag))), "another size");
        assert!(!completed_earlier(&record, None), "nothing there");
        assert!(
            !completed_earlier(
                &ObjectRecord { completing_at: None, ..record.clone() },
                Some(&found(10, composite, IntegrityCheck::Etag))
            ),
            "never completed"
        );
        // SSE-KMS: the ETag proves nothing; a Last-Modified from the completion on does.
        let kms = found(10, "ffffffffffffffffffffffffffffffff-3", IntegrityCheck::OnReceipt);
        assert!(completed_earlier(&record, Some(&kms)));
        let older = DestinationObject { last_modified: Some(1_000 - CLOCK_SKEW_SECS - 1), ..kms };
        assert!(!completed_earlier(&record, Some(&older)), "an object from before the completion");
    }

    #[test]
    fn a_completed_upload_is_checked_by_etag_only_where_its_encryption_allows() {
        let composite = "0123456789abcdef0123456789abcdef-2";
        let ok = found(10, composite, IntegrityCheck::Etag);
        assert_eq!(completed_check(Some(&ok), 10, Some(composite)), Ok(IntegrityCheck::Etag));
        let wrong = found(10, "fedcba9876543210fedcba9876543210-2", IntegrityCheck::Etag);
        assert!(completed_check(Some(&wrong), 10, Some(composite))
            .unwrap_err()
            .to_string()
            .contains("not the composite"));
        // SSE-KMS: the ETag proves nothing, S3 checked each part's trailing checksum on receipt.
        let kms = found(10, "fedcba9876543210fedcba9876543210-2", IntegrityCheck::OnReceipt);
        assert_eq!(completed_check(Some(&kms), 10, Some(composite)), Ok(IntegrityCheck::OnReceipt));
        assert!(completed_check(Some(&kms), 11, Some(composite)).unwrap_err().to_string().contains("source has 11"));
        assert!(completed_check(None, 10, None).unwrap_err().to_string().contains("missing"));
        assert_eq!(completed_check(Some(&ok), 10, None), Ok(IntegrityCheck::OnReceipt), "no composite to compare");
    }
}
