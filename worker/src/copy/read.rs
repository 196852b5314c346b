//! Reading the source: every GET is tied to the object HEAD saw, by version or by `If-Match`
//! on its ETag, so bytes of two versions never meet in one copy. A small object may instead be
//! read whole with no HEAD at all ([`fetch_whole`]): the GET's own headers describe its body.

use super::types::Pinned;
use crate::error::CopyError;
use crate::s3::{head_source, is_not_found, is_precondition_failed, s3_err, source_from_get, SourceObject};
use aws_sdk_s3::primitives::ByteStream;
use bytes::{Bytes, BytesMut};
use s3_migrate_core::plan::Part;
use s3_migrate_core::retry::ErrorClass;
use s3_migrate_core::Job;

/// Largest buffer allocated up front for a body; a longer one grows as it arrives.
const PREALLOCATE_MAX_BYTES: u64 = 1024 * 1024 * 1024;

/// The error that makes a copy start over from a fresh HEAD.
pub(super) fn source_changed(job: &Job) -> CopyError {
    CopyError::SourceChanged { bucket: job.src_bucket.clone(), key: job.src_key.clone() }
}

/// True when the source's current object is still the one `pinned` pinned (size, ETag and
/// Last-Modified): a check made after the reads, where they were not tied to a version (a store
/// without versions, or one that ignores `If-Match`, is covered by it too).
pub(super) async fn source_is_current(src: &aws_sdk_s3::Client, job: &Job, pinned: &Pinned) -> Result<bool, CopyError> {
    let now = head_source(src, &job.src_bucket, &job.src_key, None).await?;
    let same_time =
        |t: Option<u64>| t.is_none() || pinned.head.last_modified.is_none() || t == pinned.head.last_modified;
    Ok(now.is_some_and(|h| h.etag == pinned.head.etag && h.size == pinned.head.size && same_time(h.last_modified)))
}

/// Reads the whole object HEAD saw, checking the length.
pub(super) async fn read_whole(src: &aws_sdk_s3::Client, job: &Job, pinned: &Pinned) -> Result<Bytes, CopyError> {
    let body = open_source(src, job, pinned, None).await?;
    collect(body, job, pinned.head.size).await
}

/// Reads one part of the object HEAD saw, checking the length (for a `Content-MD5`).
pub(super) async fn read_part(
    src: &aws_sdk_s3::Client,
    job: &Job,
    pinned: &Pinned,
    part: Part,
) -> Result<Bytes, CopyError> {
    let body = open_source(src, job, pinned, Some(part)).await?;
    collect(body, job, part.len).await
}

/// GETs the whole object (`part` None) or one part of it, pinned to the object HEAD saw; the
/// body is not read yet.
pub(super) async fn open_source(
    src: &aws_sdk_s3::Client,
    job: &Job,
    pinned: &Pinned,
    part: Option<Part>,
) -> Result<ByteStream, CopyError> {
    let (sb, sk) = (job.src_bucket.as_str(), job.src_key.as_str());
    let mut get = src.get_object().bucket(sb).key(sk);
    if let Some(part) = part {
        get = get.range(format!("bytes={}-{}", part.offset, part.last_byte()));
    }
    get = pinned.pin.on_get(get);
    match get.send().await {
        Ok(out) => Ok(out.body),
        Err(e) if is_precondition_failed(&e) || is_not_found(&e) => Err(source_changed(job)),
        Err(e) => Err(s3_err("GetObject", sb, sk, e)),
    }
}

/// A whole-object GET made knowing only the job: the object as its answer describes it, and
/// the body, not yet read.
pub(super) struct Fetched {
    pub head: SourceObject,
    body: ByteStream,
}

impl Fetched {
    /// Reads the body, checking it is as long as the answer said.
    pub async fn read(self, job: &Job) -> Result<(SourceObject, Bytes), CopyError> {
        let data = collect(self.body, job, self.head.size).await?;
        Ok((self.head, data))
    }
}

/// GETs the whole current object (or `version`), with no HEAD before it. `None` when the
/// object or version is gone.
pub(super) async fn fetch_whole(
    src: &aws_sdk_s3::Client,
    job: &Job,
    version: Option<&str>,
) -> Result<Option<Fetched>, CopyError> {
    let (sb, sk) = (job.src_bucket.as_str(), job.src_key.as_str());
    let get = src.get_object().bucket(sb).key(sk).set_version_id(version.map(str::to_owned));
    match get.send().await {
        Ok(out) => {
            let head = source_from_get(&out);
            Ok(Some(Fetched { head, body: out.body }))
        }
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(s3_err("GetObject", sb, sk, e)),
    }
}

/// Reads a body into one buffer of the expected length, allocated once: collecting chunks and
/// then joining them would hold every object twice for a moment.
async fn collect(mut body: ByteStream, job: &Job, expected: u64) -> Result<Bytes, CopyError> {
    let (sb, sk) = (job.src_bucket.as_str(), job.src_key.as_str());
    let wrong_length = |got: String| CopyError::Integrity {
        bucket: sb.into(),
        key: sk.into(),
        detail: format!("reading the object gave {got} bytes, expected {expected}"),
    };
    let mut buf = BytesMut::with_capacity(usize::try_from(expected.min(PREALLOCATE_MAX_BYTES)).unwrap_or(0));
    loop {
        let chunk = body.try_next().await.map_err(|e| CopyError::S3 {
            op: "GetObject",
            bucket: sb.into(),
            key: sk.into(),
            message: format!("reading the object: {e}"),
            class: ErrorClass::Retryable,
        })?;
        let Some(chunk) = chunk else { break };
        if (buf.len() + chunk.len()) as u64 > expected {
            return Err(wrong_length(format!("{} or more", buf.len() + chunk.len())));
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.len() as u64 != expected {
        return Err(wrong_length(buf.len().to_string()));
    }
    Ok(buf.freeze())
}

impl super::decide::ReadPin {
    /// A GetObject of the pinned object: by version, or only if its ETag still matches.
    pub(super) fn on_get(
        &self,
        get: aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder {
        match self {
            Self::Version(v) => get.version_id(v),
            Self::Etag(e) => get.if_match(e),
            Self::Unpinned => get,
        }
    }

    /// The `x-amz-copy-source` of the pinned object (naming its version) and the
    /// `x-amz-copy-source-if-match` that ties a copy to its ETag, for CopyObject and
    /// UploadPartCopy.
    pub(super) fn copy_source(&self, bucket: &str, key: &str) -> (String, Option<String>) {
        (crate::s3::copy_source(bucket, key, self.version()), self.if_match().map(str::to_owned))
    }
}
