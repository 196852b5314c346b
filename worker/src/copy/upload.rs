//! The multipart upload's own requests: create one, abort one (quietly: it may already be
//! gone). Used by the multipart copy, its completion and the ledger's stale-upload clean-up, so
//! none of those import each other for them.

use super::types::Pinned;
use super::Copier;
use crate::error::CopyError;
use crate::s3::{is_no_such_upload, is_not_found, s3_err};
use aws_sdk_s3::types::StorageClass;
use s3_migrate_core::ledger::ObjectRecord;
use s3_migrate_core::Job;
use tracing::{info, warn};

/// Creates a multipart upload of the job's destination, with the destination's headers.
pub(super) async fn create_upload(copier: &Copier, job: &Job, pinned: &Pinned) -> Result<String, CopyError> {
    let req = copier
        .des
        .create_multipart_upload()
        .bucket(&job.des_bucket)
        .key(&job.des_key)
        .storage_class(StorageClass::from(copier.cfg.storage_class.as_str()));
    let out = with_destination_headers!(req, pinned, copier.cfg)
        .send()
        .await
        .map_err(|e| s3_err("CreateMultipartUpload", &job.des_bucket, &job.des_key, e))?;
    let id = out.upload_id().unwrap_or_default().to_owned();
    info!(key = %job.src_key, upload_id = %id, size = pinned.head.size, "multipart upload created");
    Ok(id)
}

/// Aborts an upload of the job's destination; a failure is logged, never fatal (the upload may
/// already be gone).
pub(super) async fn abort_quietly(des: &aws_sdk_s3::Client, job: &Job, upload_id: &str) {
    abort_at(des, (&job.des_bucket, &job.des_key), upload_id).await
}

/// Aborts an upload of `bucket/key`; a failure is logged, never fatal.
async fn abort_at(des: &aws_sdk_s3::Client, (bucket, key): (&str, &str), upload_id: &str) {
    match des.abort_multipart_upload().bucket(bucket).key(key).upload_id(upload_id).send().await {
        Ok(_) => info!(bucket, key, upload_id = %upload_id, "multipart upload aborted"),
        Err(e) if is_no_such_upload(&e) || is_not_found(&e) => {}
        Err(e) => {
            warn!(key, upload_id = %upload_id, error = %s3_err("AbortMultipartUpload", bucket, key, e), "could not abort upload")
        }
    }
}

/// Aborts a recorded upload where it lives: under the destination recorded with it (a job may
/// now name another destination, e.g. after a pair's prefix changed), with that bucket's
/// regional client.
pub(super) async fn abort_recorded(copier: &Copier, job: &Job, record: &ObjectRecord, upload_id: &str) {
    let bucket = record.des_bucket.as_deref().unwrap_or(&job.des_bucket);
    let key = record.des_key.as_deref().unwrap_or(&job.des_key);
    let des = copier.regions.1.for_bucket(bucket).await;
    abort_at(&des, (bucket, key), upload_id).await
}
