//! Gateway rules: what S3-compatible stores lack that S3 has. The proxy then stands for the
//! whole store (every bucket behind it):
//!
//! - **`base_path`**: the store answers under a base path (Alluxio's S3 proxy:
//!   `http://host:39999/api/v1/s3/`); requests outside it answer `404`.
//! - **`no_multipart`**: small storage gateways refuse multipart uploads: every multipart
//!   request (CreateMultipartUpload, UploadPart, ListParts, Complete) answers `501
//!   NotImplemented`.
//! - **`no_versioning`**: no versioning APIs (Alluxio, many gateways): ListObjectVersions,
//!   Get/PutBucketVersioning and any `versionId` answer `501 NotImplemented`.
//! - **`no_trailers`**: the SDK's 2025 default checksums (a trailer on an `aws-chunked` body) are
//!   refused with `400 InvalidArgument`, as Aliyun OSS does ("aws-chunked encoding is not
//!   supported with the specified x-amz-content-sha256 value"; Scality and older MinIO refuse
//!   trailing checksums alike).
//! - **`no_list_v2`**: only ListObjects (V1) is served; `list-type=2` answers `501`.
//! - **`no_extras`**: no HeadBucket and no object tagging (small gateways): both answer `501`.
//! - **`timestamp_etags`**: after a multipart upload the object's ETag is a timestamp, not
//!   S3's composite MD5 (Alluxio), in every answer that names it.

use super::{Answer, Request};

/// The gateway rules in force (all off by default).
#[derive(Debug, Default, Clone)]
pub struct Gateway {
    pub base_path: Option<String>,
    pub no_multipart: bool,
    pub no_versioning: bool,
    pub no_trailers: bool,
    pub no_list_v2: bool,
    pub no_extras: bool,
    pub timestamp_etags: bool,
}

const NOT_IMPLEMENTED: &str = "501 Not Implemented";

impl Gateway {
    /// The request head with the base path taken off its target; `None` when the target is not
    /// under the base path.
    pub fn strip_base_path(&self, head: &[u8]) -> Option<Vec<u8>> {
        let Some(base) = self.base_path.as_deref().map(|b| b.trim_end_matches('/')) else {
            return Some(head.to_vec());
        };
        let text = String::from_utf8_lossy(head);
        let (line, rest) = text.split_once("\r\n").unwrap_or((&text, ""));
        let mut parts = line.splitn(3, ' ');
        let (method, target, version) = (parts.next()?, parts.next()?, parts.next().unwrap_or("HTTP/1.1"));
        let stripped = target.strip_prefix(base)?;
        let stripped =
            if stripped.is_empty() || stripped.starts_with('?') { format!("/{stripped}") } else { stripped.to_owned() };
        if !stripped.starts_with('/') {
            return None;
        }
        Some(format!("{method} {stripped} {version}\r\n{rest}").into_bytes())
    }

    /// The answer the gateway gives itself, if any.
    pub fn answer(&self, req: &Request) -> Option<Answer> {
        let refuse =
            |status: &'static str, code: &'static str| Some(Answer { status, headers: vec![], code: Some(code) });
        let multipart = req.has_query("uploads") || req.has_query("uploadId");
        if self.no_multipart && multipart {
            return refuse(NOT_IMPLEMENTED, "NotImplemented");
        }
        let versioned = req.has_query("versions")
            || req.has_query("versioning")
            || req.has_query("versionId")
            || req.header("x-amz-copy-source").is_some_and(|s| s.contains("versionId="));
        if self.no_versioning && versioned {
            return refuse(NOT_IMPLEMENTED, "NotImplemented");
        }
        let trailer = req.header("x-amz-trailer").is_some()
            || req.header("content-encoding").is_some_and(|v| v.contains("aws-chunked"))
            || req.header("x-amz-content-sha256").is_some_and(|v| v.starts_with("STREAMING-"));
        if self.no_trailers && trailer {
            return refuse("400 Bad Request", "InvalidArgument");
        }
        if self.no_list_v2 && req.method == "GET" && req.key.is_empty() && req.query.contains("list-type=2") {
            return refuse(NOT_IMPLEMENTED, "NotImplemented");
        }
        let head_bucket = req.method == "HEAD" && req.key.is_empty();
        if self.no_extras && (head_bucket || req.has_query("tagging")) {
            return refuse(NOT_IMPLEMENTED, "NotImplemented");
        }
        None
    }
}

/// A multipart ETag (`"hex-N"`) as Alluxio gives it instead: a timestamp in milliseconds
/// (derived from the hex, so every answer names the same one). Other ETags are unchanged.
pub fn timestamp_etag(etag: &str) -> String {
    let quote = ["&quot;", "&#34;", "\""].into_iter().find(|q| etag.starts_with(q) && etag.ends_with(q)).unwrap_or("");
    let bare = &etag[quote.len()..etag.len() - quote.len()];
    let Some((hex, n)) = bare.split_once('-') else { return etag.to_owned() };
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) || !n.bytes().all(|b| b.is_ascii_digit()) {
        return etag.to_owned();
    }
    let millis = 1_700_000_000_000u64 + u64::from_str_radix(&hex[..8], 16).unwrap_or(0);
    format!("{quote}{millis}{quote}")
}
