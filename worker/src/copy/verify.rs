//! Integrity arithmetic: MD5s, S3's composite ETag of a multipart object, and when an ETag
//! proves anything at all.
//!
//! S3 API reference, "Common Response Headers" (ETag): an object that is plaintext or
//! SSE-S3-encrypted (`AES256`) has an ETag that is the MD5 of its data; one encrypted with
//! SSE-C, SSE-KMS or DSSE-KMS does not, although it is still 32 hex digits. So whether an ETag
//! is an MD5 is decided from the answer's encryption headers, never from its shape alone; but
//! an ETag without the shape (32 hex digits, `-N` after a multipart upload) is no MD5 whatever
//! the headers say: S3-compatible stores give others (Alluxio: a timestamp after multipart). S3 reports
//! a multipart object's ETag as `hex(md5(md5(part1) || ... || md5(partN)))-N` under the same
//! condition; part ETags are then the hex MD5 of each part.
//!
//! Where the ETag proves nothing, a copy rests on what S3 verified on receipt: the
//! `Content-MD5` of a PutObject, the trailing CRC32 of a piped UploadPart (S3 refuses a body
//! that does not match with `BadDigest`), or S3's own server-side copy.

use base64::Engine;
use md5::{Digest, Md5};

/// Base64 MD5 of `data`, for a `Content-MD5` header.
pub fn content_md5(data: &[u8]) -> (String, String) {
    let digest = Md5::digest(data);
    (base64::engine::general_purpose::STANDARD.encode(digest), format!("{digest:x}"))
}

/// The ETag without its quotes.
pub fn unquote(etag: &str) -> &str {
    etag.trim_matches('"')
}

/// True when an ETag is a plain MD5 (32 hex digits), as S3 gives for unencrypted or SSE-S3 data.
pub fn is_plain_md5(etag: &str) -> bool {
    let e = unquote(etag);
    e.len() == 32 && e.bytes().all(|b| b.is_ascii_hexdigit())
}

/// True when an ETag has an MD5's shape: 32 hex digits, or that and `-N` (a multipart
/// composite).
pub fn md5_shaped(etag: &str) -> bool {
    let e = unquote(etag);
    let hex =
        e.split_once('-')
            .map_or(e, |(hex, n)| if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) { hex } else { "" });
    is_plain_md5(hex)
}

/// Which check proved that the bytes written are the bytes read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrityCheck {
    /// The destination's ETag is the MD5 (or composite) of the bytes sent, and was compared.
    Etag,
    /// The ETag is not an MD5 (SSE-KMS, DSSE-KMS, SSE-C): S3 checked `Content-MD5` or the
    /// trailing checksum on receipt, or copied server-side.
    OnReceipt,
}

impl IntegrityCheck {
    /// The check an answer with these encryption headers and this ETag allows.
    pub fn for_answer(sse: Option<&str>, sse_customer_key: bool, etag: Option<&str>) -> Self {
        if etag_is_md5(sse, sse_customer_key) && etag.is_some_and(md5_shaped) {
            IntegrityCheck::Etag
        } else {
            IntegrityCheck::OnReceipt
        }
    }

    /// For logs.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrityCheck::Etag => "etag",
            IntegrityCheck::OnReceipt => "checksum-on-receipt",
        }
    }
}

/// True when an object answered with this `x-amz-server-side-encryption` value (`None` when
/// absent) and SSE-C algorithm has an ETag that is the MD5 of its data (or, multipart, the
/// composite of its parts' MD5s). Unknown encryption values count as "not an MD5": a missed
/// check is logged, a false failure would loop a healthy copy into the dead-letter queue.
pub fn etag_is_md5(sse: Option<&str>, sse_customer_key: bool) -> bool {
    !sse_customer_key && matches!(sse, None | Some("AES256"))
}

/// Compares a copy's ETag with `expected` (the hex MD5 its bytes should have, or the source's
/// MD5 ETag: `what` names it) where `check` says the ETag is an MD5; an `Integrity` error naming
/// both when they differ. No ETag, or no expectation, checks nothing.
pub(crate) fn check_copy_etag(
    job: &s3_migrate_core::Job,
    check: IntegrityCheck,
    copy_etag: Option<&str>,
    expected: Option<&str>,
    what: &str,
) -> Result<(), crate::error::CopyError> {
    match (check, copy_etag, expected) {
        (IntegrityCheck::Etag, Some(etag), Some(want)) if unquote(etag) != unquote(want) => {
            Err(crate::error::CopyError::Integrity {
                bucket: job.des_bucket.clone(),
                key: job.des_key.clone(),
                detail: format!("copy ETag {etag} differs from {what} {want}"),
            })
        }
        _ => Ok(()),
    }
}

/// The composite ETag S3 should give an object assembled from parts with these ETags;
/// `None` when a part ETag is not a plain MD5 (SSE-KMS, SSE-C).
pub fn composite_etag<'a>(part_etags: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut hasher = Md5::new();
    let mut count = 0;
    for etag in part_etags {
        let hex = unquote(etag);
        if !is_plain_md5(hex) {
            return None;
        }
        let mut bytes = [0u8; 16];
        for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).ok()?;
            bytes[i] = u8::from_str_radix(s, 16).ok()?;
        }
        hasher.update(bytes);
        count += 1;
    }
    Some(format!("{:x}-{count}", hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_of_known_data() {
        let (b64, hex) = content_md5(b"hello");
        assert_eq!(hex, "5d41402abc4b2a76b9719d911017c592");
        assert_eq!(b64, "XUFAKrxLKna5cZ2REBfFkg==");
    }

    #[test]
    fn plain_md5_detection() {
        assert!(is_plain_md5("\"5d41402abc4b2a76b9719d911017c592\""));
        assert!(!is_plain_md5("\"5d41402abc4b2a76b9719d911017c592-2\""));
        assert!(!is_plain_md5("xyz"));
    }

    #[test]
    fn only_plaintext_and_sse_s3_etags_are_md5s() {
        assert!(etag_is_md5(None, false));
        assert!(etag_is_md5(Some("AES256"), false));
        for sealed in ["aws:kms", "aws:kms:dsse", "aws:some-future-mode"] {
            assert!(!etag_is_md5(Some(sealed), false), "{sealed}");
        }
        assert!(!etag_is_md5(None, true), "SSE-C");
        assert!(!etag_is_md5(Some("AES256"), true), "SSE-C");
        let md5 = Some("\"5d41402abc4b2a76b9719d911017c592\"");
        assert_eq!(IntegrityCheck::for_answer(Some("aws:kms"), false, md5), IntegrityCheck::OnReceipt);
        assert_eq!(IntegrityCheck::for_answer(Some("AES256"), false, md5), IntegrityCheck::Etag);
        assert_eq!(
            IntegrityCheck::for_answer(None, false, Some("5d41402abc4b2a76b9719d911017c592-3")),
            IntegrityCheck::Etag
        );
        for other in [Some("\"1703844565516\""), Some("abc"), Some("5d41402abc4b2a76b9719d911017c592-x"), None] {
            assert_eq!(IntegrityCheck::for_answer(None, false, other), IntegrityCheck::OnReceipt, "{other:?}");
        }
    }

    #[test]
    fn a_copy_etag_is_compared_only_where_it_is_an_md5() {
        let job = s3_migrate_core::Job { des_bucket: "b".into(), des_key: "k".into(), ..Default::default() };
        let (a, b) = ("\"5d41402abc4b2a76b9719d911017c592\"", "7d793037a0760186574b0282f2f435e7");
        assert!(
            check_copy_etag(&job, IntegrityCheck::Etag, Some(a), Some("5d41402abc4b2a76b9719d911017c592"), "x").is_ok()
        );
        let err =
            check_copy_etag(&job, IntegrityCheck::Etag, Some(a), Some(b), "the source ETag").unwrap_err().to_string();
        assert!(err.contains("s3://b/k") && err.contains(b) && err.contains("the source ETag"), "{err}");
        assert!(check_copy_etag(&job, IntegrityCheck::OnReceipt, Some(a), Some(b), "x").is_ok(), "not an MD5");
        assert!(check_copy_etag(&job, IntegrityCheck::Etag, None, Some(b), "x").is_ok());
        assert!(check_copy_etag(&job, IntegrityCheck::Etag, Some(a), None, "x").is_ok());
    }

    #[test]
    fn composite_of_two_parts() {
        // md5("hello") and md5("world"); composite = md5(bin1 || bin2) + "-2".
        let a = content_md5(b"hello").1;
        let b = content_md5(b"world").1;
        let mut joined = Vec::new();
        for h in [&a, &b] {
            joined.extend((0..16).map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap()));
        }
        let expected = format!("{}-2", content_md5(&joined).1);
        assert_eq!(composite_etag([format!("\"{a}\"").as_str(), b.as_str()]), Some(expected));
        assert_eq!(composite_etag(["not-md5"]), None);
    }
}
