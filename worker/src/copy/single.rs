//! Objects up to `ResumableThreshold`: one GET + PUT (stream) or one CopyObject (server).

use super::read::{read_source, source_changed};
use super::verify::{content_md5, is_plain_md5, unquote};
use super::{Copier, Pinned};
use crate::error::CopyError;
use crate::s3::{copy_source, is_precondition_failed, s3_err};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{MetadataDirective, RequestPayer, StorageClass, TaggingDirective};
use s3_migrate_core::Job;
use tracing::debug;

/// Copies the whole object in one request; returns the bytes that passed through the worker.
pub(super) async fn copy(c: &Copier, job: &Job, p: &Pinned) -> Result<u64, CopyError> {
    if c.stream {
        stream(c, job, p).await
    } else {
        server(c, job, p).await.map(|_| 0)
    }
}

async fn stream(c: &Copier, job: &Job, p: &Pinned) -> Result<u64, CopyError> {
    let cfg = &c.cfg;
    let data = read_source(&c.src, cfg.requester_pays, job, p, None).await?;
    let (md5_b64, md5_hex) = content_md5(&data);
    let len = data.len() as u64;
    let put = c
        .des
        .put_object()
        .bucket(&job.des_bucket)
        .key(&job.des_key)
        .body(ByteStream::from(data))
        .content_md5(md5_b64)
        .storage_class(StorageClass::from(cfg.storage_class.as_str()));
    let put =
        with_kept_headers!(put, p).send().await.map_err(|e| s3_err("PutObject", &job.des_bucket, &job.des_key, e))?;
    if let Some(etag) = put.e_tag() {
        if is_plain_md5(etag) && unquote(etag) != md5_hex {
            return Err(CopyError::Integrity {
                bucket: job.des_bucket.clone(),
                key: job.des_key.clone(),
                detail: format!("destination ETag {etag} is not the MD5 {md5_hex} of the bytes sent"),
            });
        }
    }
    c.stats.add_bytes(len);
    debug!(key = %job.src_key, bytes = len, "object put");
    Ok(len)
}

async fn server(c: &Copier, job: &Job, p: &Pinned) -> Result<(), CopyError> {
    let cfg = &c.cfg;
    let mut req = c
        .des
        .copy_object()
        .bucket(&job.des_bucket)
        .key(&job.des_key)
        .copy_source(copy_source(&job.src_bucket, &job.src_key, p.read_version.as_deref()))
        .metadata_directive(MetadataDirective::Copy)
        .storage_class(StorageClass::from(cfg.storage_class.as_str()))
        .tagging_directive(if cfg.copy_tags { TaggingDirective::Copy } else { TaggingDirective::Replace });
    if p.read_version.is_none() {
        if let Some(etag) = &p.head.etag {
            req = req.copy_source_if_match(etag);
        }
    }
    if cfg.requester_pays {
        req = req.request_payer(RequestPayer::Requester);
    }
    let out = match req.send().await {
        Ok(out) => out,
        Err(e) if is_precondition_failed(&e) => return Err(source_changed(job)),
        Err(e) => return Err(s3_err("CopyObject", &job.des_bucket, &job.des_key, e)),
    };
    let copied = out.copy_object_result().and_then(|r| r.e_tag());
    if let (Some(copied), Some(src)) = (copied, p.head.etag.as_deref()) {
        if is_plain_md5(copied) && is_plain_md5(src) && unquote(copied) != unquote(src) {
            return Err(CopyError::Integrity {
                bucket: job.des_bucket.clone(),
                key: job.des_key.clone(),
                detail: format!("copy ETag {copied} differs from source ETag {src}"),
            });
        }
    }
    Ok(())
}
