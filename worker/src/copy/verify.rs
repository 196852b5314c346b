//! Integrity arithmetic: MD5s and S3's composite ETag of a multipart object.
//!
//! S3 reports a multipart object's ETag as `hex(md5(md5(part1) || ... || md5(partN)))-N`
//! when the parts are not KMS-encrypted. Part ETags are the hex MD5 of each part.

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
