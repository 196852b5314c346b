//! Sending one part: piped through the worker (ranged GET into UploadPart, checked by the SDK's
//! trailing checksum) or copied server-side (UploadPartCopy), retried with jittered backoff.

use super::pipe::{pipe, FailureSlot};
use super::read::{open_source, read_part, source_changed};
use super::types::Pinned;
use super::verify::content_md5;
use super::Copier;
use crate::error::CopyError;
use crate::s3::{is_no_such_upload, is_precondition_failed, s3_err};
use aws_sdk_s3::primitives::ByteStream;
use rand::Rng;
use s3_migrate_core::config::CopyPath;
use s3_migrate_core::plan::Part;
use s3_migrate_core::retry::backoff;
use s3_migrate_core::store::Checksums;
use s3_migrate_core::Job;
use std::time::Duration;
use tracing::{info, warn};

/// First and largest wait between retries of one part.
const RETRY_BASE: Duration = Duration::from_millis(200);
const RETRY_CAP: Duration = Duration::from_secs(20);

/// Uploads one part, retrying retryable failures up to `MaxRetry` times with jittered backoff.
pub(super) async fn upload_part(
    copier: &Copier,
    job: &Job,
    pinned: &Pinned,
    upload_id: &str,
    part: Part,
) -> Result<(), CopyError> {
    let mut attempt = 0;
    loop {
        let res = if copier.path == CopyPath::Stream {
            stream_part(copier, job, pinned, upload_id, part).await
        } else {
            server_part(copier, job, pinned, upload_id, part).await
        };
        match res {
            Ok(()) => {
                copier.stats.add_part();
                info!(key = %job.src_key, part = part.number, bytes = part.len, "part uploaded");
                return Ok(());
            }
            Err(e)
                if e.is_retryable()
                    && !matches!(e, CopyError::SourceChanged { .. } | CopyError::UploadGone { .. })
                    && attempt < copier.cfg.common.max_retry =>
            {
                attempt += 1;
                let wait = backoff(attempt, RETRY_BASE, RETRY_CAP, rand::rng().random());
                warn!(key = %job.src_key, part = part.number, attempt, error = %e, "part failed, retrying");
                tokio::time::sleep(wait).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Pipes the part's ranged GET into its UploadPart (see `pipe`): the part is never buffered.
/// A store that takes no checksum trailer (`checksums=md5`) gets the part buffered (inside the
/// memory budget) and sent with its `Content-MD5`, which it checks on receipt.
async fn stream_part(
    copier: &Copier,
    job: &Job,
    pinned: &Pinned,
    upload_id: &str,
    part: Part,
) -> Result<(), CopyError> {
    let md5 = copier.stores.1.checksums == Checksums::Md5;
    let _buffered = if md5 { copier.buffers.reserve(part.len).await } else { None };
    let (body, content_md5, source_failure) = if md5 {
        let data = read_part(&copier.src, job, pinned, part).await?;
        let (b64, _) = content_md5(&data);
        (ByteStream::from(data), Some(b64), FailureSlot::default())
    } else {
        let (body, failure) = pipe(open_source(&copier.src, job, pinned, Some(part)).await?, part.len);
        (body, None, failure)
    };
    let sent = copier
        .des
        .upload_part()
        .bucket(&job.des_bucket)
        .key(&job.des_key)
        .upload_id(upload_id)
        .part_number(part.number as i32)
        .content_length(part.len as i64)
        .set_content_md5(content_md5)
        .body(body)
        .send()
        .await;
    match (sent, source_failure.get()) {
        (Ok(_), _) => {
            copier.stats.add_bytes(part.len);
            Ok(())
        }
        (Err(_), Some(failure)) => Err(failure.clone().into_copy_error(job, &format!("part {}", part.number))),
        (Err(e), None) if is_no_such_upload(&e) => Err(upload_gone(job, upload_id)),
        (Err(e), None) => Err(s3_err("UploadPart", &job.des_bucket, &job.des_key, e)),
    }
}

async fn server_part(
    copier: &Copier,
    job: &Job,
    pinned: &Pinned,
    upload_id: &str,
    part: Part,
) -> Result<(), CopyError> {
    let (source, if_match) = pinned.pin.copy_source(&job.src_bucket, &job.src_key);
    let req = copier
        .des
        .upload_part_copy()
        .bucket(&job.des_bucket)
        .key(&job.des_key)
        .upload_id(upload_id)
        .part_number(part.number as i32)
        .copy_source(source)
        .set_copy_source_if_match(if_match)
        .copy_source_range(format!("bytes={}-{}", part.offset, part.last_byte()));
    // S3 answers a part copy once it has copied the range, which for large parts (up to 5 GiB)
    // outlasts the SDK's stalled-stream grace period; the SDK exempts CopyObject for this, not
    // yet UploadPartCopy (smithy-rs#4439). The part is bounded by the copy's deadline instead.
    let unprotected = aws_sdk_s3::config::Builder::default()
        .stalled_stream_protection(aws_sdk_s3::config::StalledStreamProtectionConfig::disabled());
    match req.customize().config_override(unprotected).send().await {
        Ok(_) => Ok(()),
        Err(e) if is_precondition_failed(&e) => Err(source_changed(job)),
        Err(e) if is_no_such_upload(&e) => Err(upload_gone(job, upload_id)),
        Err(e) => Err(s3_err("UploadPartCopy", &job.des_bucket, &job.des_key, e)),
    }
}

/// The error of a part whose upload was aborted by someone else.
fn upload_gone(job: &Job, upload_id: &str) -> CopyError {
    CopyError::UploadGone { bucket: job.des_bucket.clone(), key: job.des_key.clone(), upload_id: upload_id.to_owned() }
}
