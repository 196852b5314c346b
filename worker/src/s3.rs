//! The S3 edge: the requests the worker makes, speaking our own types.

use crate::copy::verify::IntegrityCheck;
use crate::error::CopyError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectLockLegalHoldStatus, ObjectLockMode};
use aws_smithy_types::date_time::Format;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use s3_migrate_core::retry::{classify, keys_maybe_refused, status_of};
use std::collections::HashMap;

/// Characters kept as they are in an `x-amz-copy-source`: RFC 3986 unreserved and `/`.
/// Everything else is percent-encoded (LocalStack cuts the header at a bare `;` and reads `+`
/// as a space; S3 wants it encoded too).
const COPY_SOURCE_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~').remove(b'/');

/// The value of `x-amz-copy-source` for a bucket, key and optional version.
pub fn copy_source(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    let mut s = format!("{}/{}", bucket, utf8_percent_encode(key, COPY_SOURCE_KEEP));
    if let Some(v) = version_id {
        s.push_str("?versionId=");
        s.push_str(&utf8_percent_encode(v, COPY_SOURCE_KEEP).to_string());
    }
    s
}

/// Headers and metadata a copy keeps.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<DateTime>,
    pub metadata: HashMap<String, String>,
    /// `x-amz-website-redirect-location`: S3 does not copy it by itself, even with
    /// `x-amz-metadata-directive: COPY` (S3 API reference, "CopyObject").
    pub website_redirect_location: Option<String>,
    /// The source's Object Lock, copied with `CopyObjectLock=true`.
    pub object_lock: Option<ObjectLock>,
    /// The source's additional checksum algorithm (HEAD asks with `x-amz-checksum-mode`; a
    /// listing names it in the job).
    pub checksum_algorithm: Option<ChecksumAlgorithm>,
}

/// An object's Object Lock retention and legal hold.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectLock {
    pub mode: Option<ObjectLockMode>,
    pub retain_until: Option<DateTime>,
    pub legal_hold: Option<ObjectLockLegalHoldStatus>,
}

/// The source object as HEAD saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceObject {
    pub size: u64,
    pub etag: Option<String>,
    /// The ETag is the MD5 of the bytes: one PUT, and not SSE-KMS or SSE-C encrypted.
    pub etag_is_md5: bool,
    pub version_id: Option<String>,
    /// Last-Modified, seconds since the epoch: orders two versions of one key.
    pub last_modified: Option<u64>,
    pub meta: ObjectMeta,
}

impl SourceObject {
    /// The ETag when it is the MD5 of the bytes (see [`SourceObject::etag_is_md5`]): what a
    /// copy's bytes can be checked against.
    pub fn md5_etag(&self) -> Option<&str> {
        self.etag.as_deref().filter(|_| self.etag_is_md5)
    }
}

/// Turns an SDK error into a [`CopyError`] naming the operation, bucket and key.
pub fn s3_err<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &'static str,
    bucket: &str,
    key: &str,
    e: SdkError<E>,
) -> CopyError {
    let code = e.code().map(str::to_owned);
    let mut message = match (code.as_deref(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_owned(),
        _ => match status_of(&e) {
            Some(status) => format!("HTTP {status}"),
            None => s3_migrate_core::clients::error_chain(&e),
        },
    };
    if status_of(&e) == Some(501) {
        message.push_str(&format!(" ({})", s3_migrate_core::store::not_implemented_hint(op)));
    }
    if let Some(region) = s3_migrate_core::regions::bucket_region_of(&e).filter(|_| status_of(&e) == Some(301)) {
        message.push_str(&format!(" (the bucket is in region {region}; the request was signed for another region)"));
    }
    if keys_maybe_refused(status_of(&e), e.code()) {
        let message = if e.code().is_none() {
            format!("{message} (HEAD answers name no code: access denied, or keys not accepted)")
        } else {
            message
        };
        return CopyError::KeysRefused { op, bucket: bucket.to_owned(), key: key.to_owned(), message };
    }
    CopyError::S3 { op, bucket: bucket.to_owned(), key: key.to_owned(), message, class: classify(&e) }
}

/// True when the store does not have the API at all (`501 NotImplemented`, or `405
/// MethodNotAllowed` as some gateways answer): what can do without it degrades with a log line.
pub fn lacks_api<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    matches!(status_of(e), Some(501 | 405)) || matches!(e.code(), Some("NotImplemented" | "MethodNotAllowed"))
}

/// True when an S3 error says the object or version is not there.
pub fn is_not_found<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    matches!(e.code(), Some("NoSuchKey" | "NotFound" | "NoSuchVersion")) || status_of(e) == Some(404)
}

/// True when a conditional request failed because the object changed (`If-Match`).
pub fn is_precondition_failed<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    e.code() == Some("PreconditionFailed") || status_of(e) == Some(412)
}

/// True when a conditional write lost: the destination is no longer as the request expected
/// (`412 PreconditionFailed`), or another conditional write to it was in flight
/// (`409 ConditionalRequestConflict`, S3 User Guide, "Conditional writes").
pub fn is_write_conflict<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    is_precondition_failed(e) || e.code() == Some("ConditionalRequestConflict")
}

/// True when the multipart upload no longer exists.
pub fn is_no_such_upload<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
    e.code() == Some("NoSuchUpload")
}

/// The [`IntegrityCheck`] an S3 answer's encryption headers allow (PutObject, CopyObject,
/// HeadObject, GetObject outputs share these getters but no trait).
macro_rules! answer_check {
    ($out:expr, $etag:expr) => {
        $crate::copy::verify::IntegrityCheck::for_answer(
            $out.server_side_encryption().map(aws_sdk_s3::types::ServerSideEncryption::as_str),
            $out.sse_customer_algorithm().is_some(),
            $etag,
        )
    };
}
pub(crate) use answer_check;

/// The object a HeadObject or GetObject answer describes: the two outputs share these getters
/// but no trait.
macro_rules! source_object {
    ($out:expr) => {{
        let out = &$out;
        let md5 = answer_check!(out, out.e_tag()) == IntegrityCheck::Etag;
        SourceObject {
            size: out.content_length().unwrap_or(0).max(0) as u64,
            etag: out.e_tag().map(str::to_owned),
            etag_is_md5: md5 && out.e_tag().is_some_and(crate::copy::verify::is_plain_md5),
            version_id: out.version_id().filter(|v| *v != "null").map(str::to_owned),
            last_modified: out.last_modified().map(|t| t.secs().max(0) as u64),
            meta: ObjectMeta {
                content_type: out.content_type().map(str::to_owned),
                content_encoding: out.content_encoding().map(str::to_owned),
                content_disposition: out.content_disposition().map(str::to_owned),
                content_language: out.content_language().map(str::to_owned),
                cache_control: out.cache_control().map(str::to_owned),
                expires: out.expires_string().and_then(|s| DateTime::from_str(s, Format::HttpDate).ok()),
                metadata: out.metadata().cloned().unwrap_or_default(),
                website_redirect_location: out.website_redirect_location().map(str::to_owned),
                object_lock: (out.object_lock_mode().is_some() || out.object_lock_legal_hold_status().is_some()).then(
                    || ObjectLock {
                        mode: out.object_lock_mode().cloned(),
                        retain_until: out.object_lock_retain_until_date().cloned(),
                        legal_hold: out.object_lock_legal_hold_status().cloned(),
                    },
                ),
                checksum_algorithm: [
                    (out.checksum_crc32().is_some(), ChecksumAlgorithm::Crc32),
                    (out.checksum_crc32_c().is_some(), ChecksumAlgorithm::Crc32C),
                    (out.checksum_crc64_nvme().is_some(), ChecksumAlgorithm::Crc64Nvme),
                    (out.checksum_sha1().is_some(), ChecksumAlgorithm::Sha1),
                    (out.checksum_sha256().is_some(), ChecksumAlgorithm::Sha256),
                ]
                .into_iter()
                .find_map(|(present, algorithm)| present.then_some(algorithm)),
            },
        }
    }};
}

/// The whole-object GetObject answer's description of the object (its size is the body's).
pub fn source_from_get(out: &aws_sdk_s3::operation::get_object::GetObjectOutput) -> SourceObject {
    source_object!(out)
}

/// HEAD of the source. `Ok(None)` when the object (or version) is gone.
pub async fn head_source(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Option<SourceObject>, CopyError> {
    let res = s3
        .head_object()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await;
    let out = match res {
        Ok(out) => out,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(s3_err("HeadObject", bucket, key, e)),
    };
    Ok(Some(source_object!(out)))
}

/// Ok when the source bucket exists; an error naming it when it does not. A HeadObject 404
/// cannot tell a missing key from a missing bucket (a HEAD answer has no body), so a vanished
/// object is confirmed with HeadBucket before it is called gone: a missing bucket is a
/// permanent error, never "the source is gone".
pub async fn check_source_bucket(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<(), CopyError> {
    match s3.head_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(()),
        Err(e) if status_of(&e) == Some(404) => Err(CopyError::S3 {
            op: "HeadBucket",
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            message: format!("source bucket {bucket} does not exist"),
            class: s3_migrate_core::retry::ErrorClass::Permanent,
        }),
        // Another region (301) or no right to HeadBucket (403): the bucket is there.
        Err(e) if matches!(status_of(&e), Some(301 | 403)) => Ok(()),
        Err(e) if lacks_api(&e) => {
            tracing::warn!(bucket, "the source store has no HeadBucket; the bucket is taken to exist");
            Ok(())
        }
        Err(e) => Err(s3_err("HeadBucket", bucket, key, e)),
    }
}

/// The destination object as HEAD sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationObject {
    pub size: u64,
    pub etag: Option<String>,
    /// Whether its ETag can prove its bytes (from its encryption, see `verify`).
    pub check: IntegrityCheck,
    /// Last-Modified, seconds since the epoch.
    pub last_modified: Option<u64>,
}

/// The destination object, `None` when absent.
pub async fn head_destination(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<DestinationObject>, CopyError> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(out) => Ok(Some(DestinationObject {
            size: out.content_length().unwrap_or(0).max(0) as u64,
            etag: out.e_tag().map(str::to_owned),
            check: answer_check!(out, out.e_tag()),
            last_modified: out.last_modified().map(|t| t.secs().max(0) as u64),
        })),
        Err(e) if is_not_found(&e) => Ok(None),
        Err(e) => Err(s3_err("HeadObject", bucket, key, e)),
    }
}

/// Tags of the source object as a URL query string (`x-amz-tagging`), `None` when untagged.
pub async fn source_tagging(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    version_id: Option<&str>,
) -> Result<Option<String>, CopyError> {
    let out = match s3
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .set_version_id(version_id.map(str::to_owned))
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if lacks_api(&e) => {
            tracing::warn!(bucket, key, "the source store has no object tagging; copied without tags");
            return Ok(None);
        }
        Err(e) => return Err(s3_err("GetObjectTagging", bucket, key, e)),
    };
    if out.tag_set().is_empty() {
        return Ok(None);
    }
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    Ok(Some(out.tag_set().iter().map(|t| format!("{}={}", enc(t.key()), enc(t.value()))).collect::<Vec<_>>().join("&")))
}

#[cfg(test)]
mod tests {
    use super::copy_source;

    #[test]
    fn copy_source_is_fully_encoded() {
        assert_eq!(copy_source("b", "a/b c+d;e%f#g?h", None), "b/a/b%20c%2Bd%3Be%25f%23g%3Fh");
        assert_eq!(copy_source("b", "中/x.txt", Some("v+1")), "b/%E4%B8%AD/x.txt?versionId=v%2B1");
        assert_eq!(copy_source("b", "dir/", None), "b/dir/");
        assert_eq!(copy_source("b", "a-b_c.d~e", None), "b/a-b_c.d~e");
    }
}
