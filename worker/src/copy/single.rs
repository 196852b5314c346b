//! Objects up to `ResumableThreshold`: one GET + PUT (stream) or one CopyObject (server).

use super::decide::ReadPin;
use super::pipe::pipe;
use super::read::{open_source, read_whole, source_changed, source_is_current};
use super::types::Pinned;
use super::verify::{check_copy_etag, content_md5, unquote};
use super::Copier;
use crate::error::CopyError;
use crate::s3::{answer_check, head_destination, is_precondition_failed, is_write_conflict, s3_err, ObjectMeta};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, MetadataDirective, StorageClass, TaggingDirective};
use bytes::Bytes;
use s3_migrate_core::config::CopyPath;
use s3_migrate_core::retry::ErrorClass;
use s3_migrate_core::Job;
use tracing::debug;

/// Copies the whole object in one request; returns the bytes that passed through the worker.
/// `dest_expected`: the ledger says a copy exists (see [`put`]).
pub(super) async fn copy(copier: &Copier, job: &Job, pinned: &Pinned, dest_expected: bool) -> Result<u64, CopyError> {
    if copier.path == CopyPath::Stream {
        let _buffered = copier.buffers.reserve(pinned.head.size).await;
        let data = read_whole(&copier.src, job, pinned).await?;
        put(copier, job, pinned, data, dest_expected).await
    } else {
        let src_md5 = pinned.head.md5_etag();
        match server(copier, job, &pinned.pin, src_md5, &pinned.head.meta).await? {
            Some(_) => Ok(0),
            None => Err(source_changed(job)),
        }
    }
}

/// Times a PUT is tried again after the destination changed under it (another delivery of the
/// same source version wrote it meanwhile).
const WRITE_CONFLICT_RETRIES: u32 = 3;

/// What a PutObject is conditional on (S3's conditional writes, `If-None-Match: *` /
/// `If-Match`): the destination as this copy last saw it. Two deliveries of a small object
/// hold no lease; this is what keeps a slow one holding an older version from replacing a
/// newer copy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expect {
    Absent,
    Etag(String),
}

/// The destination as it is now.
async fn destination_now(copier: &Copier, job: &Job) -> Result<Expect, CopyError> {
    Ok(match head_destination(&copier.des, &job.des_bucket, &job.des_key).await? {
        Some(found) => Expect::Etag(found.etag.unwrap_or_default()),
        None => Expect::Absent,
    })
}

/// PUTs `data`, the whole source object, with what the copy keeps; returns its length.
/// When the source ETag is the MD5 of its bytes, the bytes read are checked against it first:
/// the end-to-end check of the read (the SDK's response checksum validation is off, see
/// `s3_migrate_core::clients::s3_client`). The PUT is conditional on the destination as last
/// seen ([`Expect`]; `dest_expected`: the ledger says a copy exists, so look first); when
/// someone wrote it meanwhile and the source is no longer the version read, the copy stands
/// down ([`CopyError::Superseded`]).
pub(super) async fn put(
    copier: &Copier,
    job: &Job,
    pinned: &Pinned,
    data: Bytes,
    dest_expected: bool,
) -> Result<u64, CopyError> {
    let (md5_b64, md5_hex) = content_md5(&data);
    if let Some(src) = pinned.head.md5_etag() {
        if unquote(src) != md5_hex {
            return Err(CopyError::Integrity {
                bucket: job.src_bucket.clone(),
                key: job.src_key.clone(),
                detail: format!("the bytes read have MD5 {md5_hex}, but the source ETag is {src}"),
            });
        }
    }
    let len = data.len() as u64;
    let mut expect = if dest_expected { destination_now(copier, job).await? } else { Expect::Absent };
    let mut conflicts = 0;
    let put = loop {
        let put = copier
            .des
            .put_object()
            .bucket(&job.des_bucket)
            .key(&job.des_key)
            .body(ByteStream::from(data.clone()))
            .content_md5(&md5_b64)
            .storage_class(StorageClass::from(copier.cfg.storage_class.as_str()));
        let put = match &expect {
            Expect::Absent => put.if_none_match("*"),
            Expect::Etag(etag) => put.if_match(etag),
        };
        // The source's checksum algorithm is kept on this one request (S3 checks it on receipt).
        let sent = with_destination_headers!(
            put.set_checksum_algorithm(pinned.head.meta.checksum_algorithm.clone()),
            pinned,
            copier.cfg
        )
        .send()
        .await;
        match sent {
            Ok(out) => break out,
            Err(e) if is_write_conflict(&e) && conflicts < WRITE_CONFLICT_RETRIES => {
                conflicts += 1;
                if !source_is_current(&copier.src, job, pinned).await? {
                    return Err(CopyError::Superseded { bucket: job.src_bucket.clone(), key: job.src_key.clone() });
                }
                expect = destination_now(copier, job).await?;
                debug!(key = %job.des_key, conflicts, "destination written meanwhile by a copy of this version; putting again");
            }
            Err(e) => return Err(s3_err("PutObject", &job.des_bucket, &job.des_key, e)),
        }
    };
    let check = answer_check!(put, put.e_tag());
    check_copy_etag(job, check, put.e_tag(), Some(&md5_hex), "the MD5 of the bytes sent")?;
    copier.stats.add_bytes(len);
    debug!(key = %job.src_key, bytes = len, check = check.as_str(), "object put");
    Ok(len)
}

/// PUTs the whole object in one request whose body is piped from its GET: how a destination
/// without multipart (`multipart=false`) takes an object larger than `ResumableThreshold`, which
/// is never held whole in memory. Conditional on the destination as last seen, like [`put`].
/// Integrity: the SDK's trailing checksum (`checksums=sdk`), and the copy's ETag against the
/// source's where both are MD5s.
pub(super) async fn put_streamed(
    copier: &Copier,
    job: &Job,
    pinned: &Pinned,
    dest_expected: bool,
) -> Result<u64, CopyError> {
    let size = pinned.head.size;
    let expect = if dest_expected { destination_now(copier, job).await? } else { Expect::Absent };
    let (body, source_failure) = pipe(open_source(&copier.src, job, pinned, None).await?, size);
    let put = copier
        .des
        .put_object()
        .bucket(&job.des_bucket)
        .key(&job.des_key)
        .content_length(size as i64)
        .body(body)
        .storage_class(StorageClass::from(copier.cfg.storage_class.as_str()));
    let put = match &expect {
        Expect::Absent => put.if_none_match("*"),
        Expect::Etag(etag) => put.if_match(etag),
    };
    let sent = with_destination_headers!(put, pinned, copier.cfg).send().await;
    let out = match (sent, source_failure.get()) {
        (Ok(out), _) => out,
        (Err(_), Some(failure)) => return Err(failure.clone().into_copy_error(job, "the object")),
        (Err(e), None) if is_write_conflict(&e) => {
            if !source_is_current(&copier.src, job, pinned).await? {
                return Err(CopyError::Superseded { bucket: job.src_bucket.clone(), key: job.src_key.clone() });
            }
            return Err(CopyError::S3 {
                op: "PutObject",
                bucket: job.des_bucket.clone(),
                key: job.des_key.clone(),
                message: "the destination was written meanwhile by a copy of this version; the copy is tried again"
                    .into(),
                class: ErrorClass::Retryable,
            });
        }
        (Err(e), None) => return Err(s3_err("PutObject", &job.des_bucket, &job.des_key, e)),
    };
    let check = answer_check!(out, out.e_tag());
    let src_md5 = pinned.head.md5_etag();
    check_copy_etag(job, check, out.e_tag(), src_md5, "the source's MD5 ETag")?;
    copier.stats.add_bytes(size);
    debug!(key = %job.src_key, bytes = size, check = check.as_str(), "object put from a piped read");
    Ok(size)
}

/// What one CopyObject copied.
pub(super) struct ServerCopied {
    /// The source version S3 says it copied (`x-amz-copy-source-version-id`).
    pub version_id: Option<String>,
}

/// One CopyObject of the object `pin` names (a version, or the current object only if its ETag
/// still matches).
/// `None` when the source is no longer the object so pinned (412, or the key or version gone).
/// `src_md5`, the source ETag when it is known to be the MD5 of the source's bytes, is checked
/// against the copy's ETag where that is an MD5 too. `meta`, the source as HEAD saw it, gives
/// what S3 does not copy by itself (website redirect, Object Lock); the HEAD-less copy of a
/// listed object does without.
pub(super) async fn server(
    copier: &Copier,
    job: &Job,
    pin: &ReadPin,
    src_md5: Option<&str>,
    meta: &ObjectMeta,
) -> Result<Option<ServerCopied>, CopyError> {
    let cfg = &copier.cfg;
    let checksum =
        meta.checksum_algorithm.clone().or_else(|| job.checksum_algorithm.as_deref().map(ChecksumAlgorithm::from));
    let (source, if_match) = pin.copy_source(&job.src_bucket, &job.src_key);
    let req = copier
        .des
        .copy_object()
        .bucket(&job.des_bucket)
        .key(&job.des_key)
        .copy_source(source)
        .set_copy_source_if_match(if_match)
        .metadata_directive(MetadataDirective::Copy)
        .storage_class(StorageClass::from(cfg.storage_class.as_str()))
        .tagging_directive(if cfg.copy_tags { TaggingDirective::Copy } else { TaggingDirective::Replace })
        .set_checksum_algorithm(checksum);
    let out = match with_destination_options!(req, meta, cfg).send().await {
        Ok(out) => out,
        Err(e) if is_precondition_failed(&e) || matches!(e.code(), Some("NoSuchKey" | "NoSuchVersion")) => {
            return Ok(None)
        }
        Err(e) => return Err(s3_err("CopyObject", &job.des_bucket, &job.des_key, e)),
    };
    // The copy's ETag proves the copy only when both ETags are MD5s: the source's as the
    // caller knows it (`src_md5`), the copy's from its encryption.
    let copied = out.copy_object_result().and_then(|r| r.e_tag());
    let check = answer_check!(out, copied);
    check_copy_etag(job, check, copied, src_md5, "source ETag")?;
    debug!(key = %job.src_key, check = if src_md5.is_some() { check.as_str() } else { "server-side-copy" }, "object copied");
    let version_id = out.copy_source_version_id().filter(|v| *v != "null").map(str::to_owned);
    Ok(Some(ServerCopied { version_id }))
}
