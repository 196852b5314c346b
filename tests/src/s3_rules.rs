//! Named rules that make the emulator answer as real S3 does where LocalStack is kinder.
//!
//! The fault proxy ([`crate::fault_proxy`]) asks these rules about every request: whether to
//! answer it itself ([`S3Rules::answer`]), whether to rewrite the request body
//! ([`S3Rules::rewrite_request_body`]) and the answer ([`S3Rules::rewrite_answer`]). Each rule
//! names the AWS behaviour it mimics (S3 API reference, S3 User Guide):
//!
//! - **`kms_bucket`**: SSE-KMS default encryption. "Common Response Headers": objects encrypted
//!   with SSE-KMS or SSE-C have an ETag that is *not* an MD5 of their data, yet it is still 32
//!   hex digits. Every ETag the bucket gives (headers and XML: PutObject, CopyObject,
//!   UploadPart, UploadPartCopy, CompleteMultipartUpload, HeadObject, GetObject, ListParts,
//!   listings) has its hex digits complemented (a bijection, so ETags sent back in
//!   CompleteMultipartUpload are mapped back before they reach the emulator), and answers carry
//!   `x-amz-server-side-encryption: aws:kms`.
//! - **`archive`**: S3 Glacier Flexible Retrieval. "Working with archived objects": an
//!   archived object is listed and HEADed with storage class `GLACIER`; GetObject and a
//!   CopyObject/UploadPartCopy from it answer `403 InvalidObjectState` until it is restored; a
//!   restored copy is readable and HEAD shows `x-amz-restore: ongoing-request="false",
//!   expiry-date=...`; ListObjectsV2 shows `RestoreStatus` only when asked with
//!   `x-amz-optional-object-attributes: RestoreStatus`; RestoreObject answers `202 Accepted`.
//! - **`bucket_region`**: a bucket in another region. A request signed for another region
//!   answers `301 PermanentRedirect` with `x-amz-bucket-region` (HeadBucket: 301, no body);
//!   answers in the right region name it in `x-amz-bucket-region` too.
//! - **`requester_pays`**: "Downloading objects from Requester Pays buckets": any request without
//!   `x-amz-request-payer: requester` (on the request, or naming the bucket as copy source)
//!   answers `403 AccessDenied`.
//! - **`die_after_next_completion`**: a worker killed inside CompleteMultipartUpload (Lambda's
//!   hard timeout, a crash): the next CompleteMultipartUpload reaches S3 and completes, then
//!   every later request of that worker answers `503 SlowDown` until [`S3Rules::revive`], so
//!   it records nothing more. S3 keeps the completed object; the upload id is gone
//!   (`NoSuchUpload`).
//! - **`vanish_next_upload`**: a multipart upload aborted by someone else (a lifecycle rule's
//!   AbortIncompleteMultipartUpload, an operator) while parts are being sent: from the next
//!   UploadPart on, every UploadPart, ListParts and CompleteMultipartUpload of that upload
//!   answers `404 NoSuchUpload` (an AbortMultipartUpload still reaches the emulator).
//! - **`throttle_uploads`** ([`SharedRules::upload_bytes_per_sec`]): a slow link. UploadPart
//!   bodies reach S3 at most this many bytes a second.
//! - **`pause_uploads`** ([`SharedRules::upload_pause`]): a link that stops moving. After
//!   its first 64 KiB an UploadPart body makes no progress for a while, as a TCP connection
//!   does in retransmission backoff after a burst of losses (RFC 6298: the timeout doubles with
//!   each retransmission) or while a full send buffer drains on a slow link.
//! - **`slow_copies`** ([`SharedRules::copy_time`]): S3 answers a CopyObject once it has
//!   copied the object (S3 API reference, CopyObject: an error during the copy comes inside
//!   the 200 answer), which for a large or cross-region object takes a while. Each CopyObject
//!   reaches the emulator this long after it was sent.
//! - **`hold_next_put`** ([`Hold`]): a slow delivery. The next PutObject waits at the proxy
//!   until released, while other deliveries run; then it reaches S3 as it was sent.
//! - **`revoke_key`**: a rotated key. IAM User Guide, "Rotating access keys": once the old
//!   key is deactivated or deleted, S3 answers every request signed with it `403
//!   InvalidAccessKeyId` ("Error responses"; a HEAD answer has the status only, no body).
//! - **`kms_denied`**: an object encrypted with a KMS key the reader may not use. S3 User
//!   Guide, "Troubleshooting access denied (403 Forbidden) errors" (KMS): GetObject and a copy
//!   from it need `kms:Decrypt` and answer `403 AccessDenied` without it; HeadObject does not
//!   decrypt and still answers. A permanent failure of one object.
//! - **`failing_object`**: one object S3 cannot serve for a while (`500 InternalError`, "We
//!   encountered an internal error. Please try again."): every GetObject and copy from it,
//!   HEAD aside. A retryable failure that does not go away.
//! - **Gateway rules** ([`Gateway`]: `base_path`, `no_multipart`, `no_versioning`,
//!   `no_trailers`, `no_list_v2`, `timestamp_etags`): an S3-compatible store that lacks what
//!   S3 has; see `gateway.rs`.
//! - **`corrupt_next_uploads`**: bytes damaged on the wire. One data byte of the next N
//!   PutObject/UploadPart bodies is flipped (same length); S3 checks Content-MD5 and the
//!   trailing checksum on receipt and refuses such a body (`BadDigest`).

mod gateway;
mod request;
mod rewrite;
mod shared;
mod xml;

pub use gateway::{timestamp_etag, Gateway};
pub use request::Request;
pub use shared::{Hold, SharedRules};

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// The expiry date given to restored objects (any date in the future).
const RESTORE_EXPIRY_HTTP: &str = "Fri, 20 Dec 2030 00:00:00 GMT";
const RESTORE_EXPIRY_XML: &str = "2030-12-20T00:00:00.000Z";
/// The key ARN shown for SSE-KMS objects.
const KMS_KEY_ARN: &str = "arn:aws:kms:us-east-1:000000000000:key/00000000-0000-0000-0000-000000000000";

/// An answer the rules give instead of the emulator.
#[derive(Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: &'static str,
    pub headers: Vec<(&'static str, String)>,
    /// S3 error code for the XML body (no body for HEAD).
    pub code: Option<&'static str>,
}

/// An archived object's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archived {
    /// In GLACIER, not readable.
    Frozen,
    /// In GLACIER with a readable restored copy.
    Restored,
    /// In S3 Intelligent-Tiering's Archive Access tier: listed as `INTELLIGENT_TIERING` like
    /// any other object of that class, HEAD shows `x-amz-archive-status: ARCHIVE_ACCESS`, and a
    /// read answers `403 InvalidObjectState` (S3 User Guide, "Using S3 Intelligent-Tiering").
    TieringArchive,
}

impl Archived {
    fn storage_class(self) -> &'static str {
        match self {
            Archived::Frozen | Archived::Restored => "GLACIER",
            Archived::TieringArchive => "INTELLIGENT_TIERING",
        }
    }

    fn readable(self) -> bool {
        self == Archived::Restored
    }
}

/// What the rules did, for assertions.
#[derive(Debug, Default)]
pub struct RuleCounts {
    /// Object writes (PutObject, CopyObject, UploadPart, UploadPartCopy) per destination key.
    pub writes_by_key: std::sync::Mutex<HashMap<String, u64>>,
    pub redirects: AtomicU64,
    pub payer_denied: AtomicU64,
    pub archive_denied: AtomicU64,
    pub restores: AtomicU64,
    pub corrupted: AtomicU64,
    pub keys_refused: AtomicU64,
    /// Object writes (PutObject, UploadPart) that carried `Content-MD5`.
    pub writes_with_md5: AtomicU64,
    /// Object writes sent as `aws-chunked` bodies or with a checksum trailer.
    pub writes_with_trailer: AtomicU64,
}

/// The rules in force; see the module documentation.
#[derive(Debug, Default)]
pub struct S3Rules {
    kms_buckets: HashSet<String>,
    archived: HashMap<(String, String), Archived>,
    regions: HashMap<String, String>,
    requester_pays: HashSet<String>,
    corrupt_uploads: u64,
    die_after_completion: bool,
    dead: bool,
    vanish_next_upload: bool,
    vanished: HashSet<String>,
    revoked_keys: HashSet<String>,
    kms_denied: HashSet<(String, String)>,
    failing: HashSet<(String, String)>,
    /// What the store behind the proxy lacks.
    pub gateway: Gateway,
}

/// Complements the hex digits of the 32-digit MD5 run in an ETag (`"abc…"`, `abc…-3`); a
/// bijection, its own inverse.
pub fn kms_etag(etag: &str) -> String {
    let bytes = etag.as_bytes();
    let Some(start) = (0..bytes.len().saturating_sub(31)).find(|&i| {
        bytes[i..i + 32].iter().all(u8::is_ascii_hexdigit)
            && (i == 0 || !bytes[i - 1].is_ascii_hexdigit())
            && bytes.get(i + 32).is_none_or(|b| !b.is_ascii_hexdigit())
    }) else {
        return etag.to_owned();
    };
    let mut out = etag.to_owned().into_bytes();
    for b in &mut out[start..start + 32] {
        let v = (*b as char).to_digit(16).unwrap_or(0);
        *b = std::char::from_digit(15 - v, 16).unwrap_or('0') as u8;
    }
    String::from_utf8(out).unwrap_or_default()
}

impl RuleCounts {
    /// Object writes so far to `key` (any bucket).
    pub fn writes_to(&self, key: &str) -> u64 {
        self.writes_by_key.lock().map(|m| m.get(key).copied().unwrap_or(0)).unwrap_or(0)
    }
}

impl S3Rules {
    pub fn kms_bucket(&mut self, bucket: &str) {
        self.kms_buckets.insert(bucket.to_owned());
    }

    pub fn archive(&mut self, bucket: &str, key: &str, state: Archived) {
        self.archived.insert((bucket.to_owned(), key.to_owned()), state);
    }

    pub fn unarchive(&mut self, bucket: &str, key: &str) {
        self.archived.remove(&(bucket.to_owned(), key.to_owned()));
    }

    pub fn bucket_region(&mut self, bucket: &str, region: &str) {
        self.regions.insert(bucket.to_owned(), region.to_owned());
    }

    pub fn requester_pays(&mut self, bucket: &str) {
        self.requester_pays.insert(bucket.to_owned());
    }

    pub fn revoke_key(&mut self, access_key_id: &str) {
        self.revoked_keys.insert(access_key_id.to_owned());
    }

    pub fn kms_denied(&mut self, bucket: &str, key: &str) {
        self.kms_denied.insert((bucket.to_owned(), key.to_owned()));
    }

    pub fn failing_object(&mut self, bucket: &str, key: &str) {
        self.failing.insert((bucket.to_owned(), key.to_owned()));
    }

    pub fn vanish_next_upload(&mut self) {
        self.vanish_next_upload = true;
    }

    /// The upload id a request names (`uploadId=`), if any.
    fn upload_id<'a>(&self, req: &'a Request) -> Option<&'a str> {
        req.query.split('&').find_map(|p| p.strip_prefix("uploadId="))
    }

    /// Marks the next UploadPart's upload as gone (see `vanish_next_upload`).
    pub fn note(&mut self, req: &Request) {
        if self.vanish_next_upload && req.method == "PUT" && req.has_query("partNumber") {
            if let Some(id) = self.upload_id(req) {
                self.vanished.insert(id.to_owned());
                self.vanish_next_upload = false;
            }
        }
    }

    pub fn die_after_next_completion(&mut self) {
        self.die_after_completion = true;
    }

    pub fn revive(&mut self) {
        self.dead = false;
    }

    /// Called once a request was sent on to the emulator.
    pub fn forwarded(&mut self, req: &Request) {
        if self.die_after_completion && req.method == "POST" && req.has_query("uploadId") {
            self.die_after_completion = false;
            self.dead = true;
        }
    }

    /// True when the answer of this forwarded request is lost (the worker died meanwhile).
    pub fn dead(&self) -> bool {
        self.dead
    }

    pub fn corrupt_next_uploads(&mut self, n: u64) {
        self.corrupt_uploads = n;
    }

    fn archived(&self, bucket: &str, key: &str) -> Option<Archived> {
        self.archived.get(&(bucket.to_owned(), key.to_owned())).copied()
    }

    /// The answer the rules give themselves, if any (the request then never reaches the emulator).
    pub fn answer(&self, req: &Request, counts: &RuleCounts) -> Option<Answer> {
        if self.dead {
            return Some(Answer { status: "503 Slow Down", headers: vec![], code: Some("SlowDown") });
        }
        if req.method == "PUT" && !req.key.is_empty() && !req.has_query("tagging") {
            if let Ok(mut by_key) = counts.writes_by_key.lock() {
                *by_key.entry(req.key.clone()).or_default() += 1;
            }
        }
        if req.is_object_write() {
            if req.header("content-md5").is_some() {
                counts.writes_with_md5.fetch_add(1, Ordering::Relaxed);
            }
            if req.header("x-amz-trailer").is_some()
                || req.header("content-encoding").is_some_and(|v| v.contains("aws-chunked"))
            {
                counts.writes_with_trailer.fetch_add(1, Ordering::Relaxed);
            }
        }
        if let Some(refused) = self.gateway.answer(req) {
            return Some(refused);
        }
        if req.signed_key_id().is_some_and(|k| self.revoked_keys.contains(k)) {
            counts.keys_refused.fetch_add(1, Ordering::Relaxed);
            return Some(Answer { status: "403 Forbidden", headers: vec![], code: Some("InvalidAccessKeyId") });
        }
        if req.method != "DELETE" && self.upload_id(req).is_some_and(|id| self.vanished.contains(id)) {
            return Some(Answer { status: "404 Not Found", headers: vec![], code: Some("NoSuchUpload") });
        }
        if let Some(region) = self.regions.get(&req.bucket) {
            if req.signed_region() != Some(region.as_str()) {
                counts.redirects.fetch_add(1, Ordering::Relaxed);
                return Some(Answer {
                    status: "301 Moved Permanently",
                    headers: vec![("x-amz-bucket-region", region.clone())],
                    code: Some("PermanentRedirect"),
                });
            }
        }
        let source = req.copy_source();
        let payer_needed = self.requester_pays.contains(&req.bucket)
            || source.as_ref().is_some_and(|(b, _)| self.requester_pays.contains(b));
        if payer_needed && !req.pays() {
            counts.payer_denied.fetch_add(1, Ordering::Relaxed);
            return Some(Answer { status: "403 Forbidden", headers: vec![], code: Some("AccessDenied") });
        }
        if req.method == "POST" && req.has_query("restore") && self.archived(&req.bucket, &req.key).is_some() {
            counts.restores.fetch_add(1, Ordering::Relaxed);
            return Some(Answer { status: "202 Accepted", headers: vec![], code: None });
        }
        let read = match (&source, req.method.as_str()) {
            (Some((b, k)), "PUT") => self.archived(b, k),
            (None, "GET") if !req.key.is_empty() && !req.has_query("tagging") => self.archived(&req.bucket, &req.key),
            _ => None,
        };
        let object_read = match (&source, req.method.as_str()) {
            (Some(bk), "PUT") => Some(bk.clone()),
            (None, "GET") if !req.key.is_empty() && !req.has_query("tagging") && !req.has_query("uploadId") => {
                Some((req.bucket.clone(), req.key.clone()))
            }
            _ => None,
        };
        if object_read.as_ref().is_some_and(|bk| self.kms_denied.contains(bk)) {
            return Some(Answer { status: "403 Forbidden", headers: vec![], code: Some("AccessDenied") });
        }
        if object_read.as_ref().is_some_and(|bk| self.failing.contains(bk)) {
            return Some(Answer { status: "500 Internal Server Error", headers: vec![], code: Some("InternalError") });
        }
        if read.is_some_and(|a| !a.readable()) {
            counts.archive_denied.fetch_add(1, Ordering::Relaxed);
            return Some(Answer { status: "403 Forbidden", headers: vec![], code: Some("InvalidObjectState") });
        }
        None
    }
}

#[cfg(test)]
mod tests;
