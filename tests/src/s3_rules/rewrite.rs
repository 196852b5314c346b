//! The rules' rewrites: of requests on their way to the emulator (ETags named in KMS terms,
//! damaged bodies) and of the emulator's answers (KMS ETags and headers, archive states,
//! regions, gateway ETags).

use super::xml::{element, map_blocks, map_elements, xml_unescape};
use super::{
    kms_etag, timestamp_etag, Archived, Request, RuleCounts, S3Rules, KMS_KEY_ARN, RESTORE_EXPIRY_HTTP,
    RESTORE_EXPIRY_XML,
};
use percent_encoding::percent_decode_str;
use std::sync::atomic::Ordering;

impl S3Rules {
    /// The request head with the ETags it names in terms of the emulator: a conditional read
    /// (`If-Match`, `If-None-Match`) of an object in a KMS bucket, or a copy conditional on
    /// such a source (`x-amz-copy-source-if-match`, `-if-none-match`), names the ETag the
    /// client saw, which S3 compares with the ETag it gave.
    pub fn rewrite_request_head(&self, req: &Request, head: &[u8]) -> Vec<u8> {
        let source_kms = req.copy_source().is_some_and(|(b, _)| self.kms_buckets.contains(&b));
        let own_kms = self.kms_buckets.contains(&req.bucket);
        if !source_kms && !own_kms {
            return head.to_vec();
        }
        let text = String::from_utf8_lossy(head);
        let lines: Vec<String> = text
            .split("\r\n")
            .map(|l| {
                let name = l.split_once(':').map(|(n, _)| n.trim().to_ascii_lowercase()).unwrap_or_default();
                let mapped = match name.as_str() {
                    "if-match" | "if-none-match" => own_kms,
                    "x-amz-copy-source-if-match" | "x-amz-copy-source-if-none-match" => source_kms,
                    _ => false,
                };
                if mapped {
                    kms_etag(l)
                } else {
                    l.to_owned()
                }
            })
            .collect();
        lines.join("\r\n").into_bytes()
    }

    /// True when the request's body must be read whole and passed to [`Self::rewrite_request_body`].
    pub fn rewrites_request(&self, req: &Request) -> bool {
        (self.kms_buckets.contains(&req.bucket) && req.method == "POST" && req.has_query("uploadId"))
            || (self.corrupt_uploads > 0 && req.is_object_write())
    }

    pub fn rewrite_request_body(&mut self, req: &Request, body: &mut Vec<u8>, counts: &RuleCounts) {
        if self.kms_buckets.contains(&req.bucket) && req.method == "POST" {
            // CompleteMultipartUpload names the parts by the ETags this bucket gave: map them back.
            let text = String::from_utf8_lossy(body).into_owned();
            *body = map_elements(&text, "ETag", kms_etag).into_bytes();
        }
        if self.corrupt_uploads > 0 && req.is_object_write() && !body.is_empty() {
            self.corrupt_uploads -= 1;
            counts.corrupted.fetch_add(1, Ordering::Relaxed);
            // Past an aws-chunked chunk header when there is one: a data byte, same length.
            let chunked = req.header("content-encoding").is_some_and(|v| v.contains("aws-chunked"));
            let at = if chunked { body.windows(2).position(|w| w == b"\r\n").map_or(0, |i| i + 2) } else { 0 };
            if let Some(b) = body.get_mut(at) {
                *b ^= 0x01;
            }
        }
    }

    /// True when the answer must be read whole and passed to [`Self::rewrite_answer`].
    pub fn rewrites_answer(&self, req: &Request) -> bool {
        self.gateway.timestamp_etags
            || self.kms_buckets.contains(&req.bucket)
            || self.archived.keys().any(|(b, _)| *b == req.bucket)
            || self.regions.contains_key(&req.bucket)
    }

    /// Rewrites an answer of the emulator: its headers (lower-cased names) and body.
    pub fn rewrite_answer(&self, req: &Request, headers: &mut Vec<(String, String)>, body: &mut Vec<u8>) {
        if let Some(region) = self.regions.get(&req.bucket) {
            // The emulator keeps every bucket in its own region; S3 names the bucket's.
            for (name, value) in headers.iter_mut() {
                if name == "x-amz-bucket-region" {
                    *value = region.clone();
                }
            }
        }
        if self.gateway.timestamp_etags {
            for (name, value) in headers.iter_mut() {
                if name == "etag" {
                    *value = timestamp_etag(value);
                }
            }
        }
        let kms = self.kms_buckets.contains(&req.bucket);
        if kms {
            for (name, value) in headers.iter_mut() {
                if name == "etag" {
                    *value = kms_etag(value);
                }
            }
            if headers.iter().any(|(n, _)| n == "etag")
                || req.method == "POST"
                || req.header("x-amz-copy-source").is_some()
            {
                headers.retain(|(n, _)| !n.starts_with("x-amz-server-side-encryption"));
                headers.push(("x-amz-server-side-encryption".into(), "aws:kms".into()));
                headers.push(("x-amz-server-side-encryption-aws-kms-key-id".into(), KMS_KEY_ARN.into()));
            }
        }
        if !req.key.is_empty() && matches!(req.method.as_str(), "HEAD" | "GET") {
            if let Some(state) = self.archived(&req.bucket, &req.key) {
                headers.retain(|(n, _)| n != "x-amz-storage-class");
                headers.push(("x-amz-storage-class".into(), state.storage_class().into()));
                if state == Archived::TieringArchive {
                    headers.push(("x-amz-archive-status".into(), "ARCHIVE_ACCESS".into()));
                }
                if state == Archived::Restored {
                    headers.push((
                        "x-amz-restore".into(),
                        format!("ongoing-request=\"false\", expiry-date=\"{RESTORE_EXPIRY_HTTP}\""),
                    ));
                }
            }
        }
        // Only XML answers are rewritten: an object's own bytes pass untouched.
        let xml = headers.iter().any(|(n, v)| n == "content-type" && v.contains("xml"));
        if body.is_empty() || !xml || (req.method == "GET" && !req.key.is_empty() && !req.has_query("uploadId")) {
            return;
        }
        let mut text = String::from_utf8_lossy(body).into_owned();
        if self.gateway.timestamp_etags {
            text = map_elements(&text, "ETag", timestamp_etag);
        }
        if kms {
            text = map_elements(&text, "ETag", kms_etag);
        }
        let listing = req.method == "GET" && req.key.is_empty();
        if listing && self.archived.keys().any(|(b, _)| *b == req.bucket) {
            let want_restore =
                req.header("x-amz-optional-object-attributes").is_some_and(|v| v.contains("RestoreStatus"));
            let block = |b: &str| -> String {
                let Some(key) = element(b, "Key").map(xml_unescape) else { return b.to_owned() };
                let key = if req.query.contains("encoding-type=url") {
                    percent_decode_str(&key).decode_utf8_lossy().into_owned()
                } else {
                    key
                };
                let Some(state) = self.archived(&req.bucket, &key) else { return b.to_owned() };
                let mut b = map_elements(b, "StorageClass", |_| state.storage_class().to_owned());
                if want_restore && state != Archived::TieringArchive {
                    let status = match state {
                        Archived::Restored => format!("<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress><RestoreExpiryDate>{RESTORE_EXPIRY_XML}</RestoreExpiryDate></RestoreStatus>"),
                        _ => "<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress></RestoreStatus>".to_owned(),
                    };
                    let at = b.rfind("</").unwrap_or(b.len());
                    b.insert_str(at, &status);
                }
                b
            };
            text = map_blocks(&text, "Contents", block);
            text = map_blocks(&text, "Version", block);
        }
        *body = text.into_bytes();
    }
}
