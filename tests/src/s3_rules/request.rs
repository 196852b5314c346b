//! One request as the proxy read its head, and what the rules ask of it.

use percent_encoding::percent_decode_str;

/// One request as the proxy read its head (path-style addressing).
#[derive(Debug)]
pub struct Request {
    pub method: String,
    pub bucket: String,
    /// Percent-decoded key; empty for bucket-level requests.
    pub key: String,
    pub query: String,
    headers: Vec<(String, String)>,
}

impl Request {
    pub fn parse(head: &[u8]) -> Self {
        let text = String::from_utf8_lossy(head);
        let mut lines = text.split("\r\n");
        let mut first = lines.next().unwrap_or_default().split(' ');
        let method = first.next().unwrap_or_default().to_owned();
        let target = first.next().unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let path = path.trim_start_matches('/');
        let (bucket, key) = path.split_once('/').unwrap_or((path, ""));
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Self {
            method,
            bucket: bucket.to_owned(),
            key: percent_decode_str(key).decode_utf8_lossy().into_owned(),
            query: query.to_owned(),
            headers,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub(crate) fn has_query(&self, name: &str) -> bool {
        self.query.split('&').any(|p| p == name || p.starts_with(&format!("{name}=")))
    }

    /// The SigV4 credential scope: `key-id/date/region/service/aws4_request`.
    fn credential_scope(&self) -> Option<&str> {
        let auth = self.header("authorization")?;
        auth.split("Credential=").nth(1)?.split([',', ' ']).next()
    }

    /// The region the request was signed for.
    pub(crate) fn signed_region(&self) -> Option<&str> {
        self.credential_scope()?.split('/').nth(2)
    }

    /// The access key id the request was signed with.
    pub(crate) fn signed_key_id(&self) -> Option<&str> {
        self.credential_scope()?.split('/').next()
    }

    /// Bucket and key of `x-amz-copy-source`, decoded.
    pub(crate) fn copy_source(&self) -> Option<(String, String)> {
        let raw = self.header("x-amz-copy-source")?;
        let raw = raw.split_once("?versionId=").map_or(raw, |(p, _)| p);
        let decoded = percent_decode_str(raw.trim_start_matches('/')).decode_utf8_lossy().into_owned();
        let (b, k) = decoded.split_once('/')?;
        Some((b.to_owned(), k.to_owned()))
    }

    pub(crate) fn pays(&self) -> bool {
        self.header("x-amz-request-payer").is_some_and(|v| v.eq_ignore_ascii_case("requester"))
    }

    pub(crate) fn is_object_write(&self) -> bool {
        self.method == "PUT" && !self.key.is_empty() && self.header("x-amz-copy-source").is_none()
    }
}
