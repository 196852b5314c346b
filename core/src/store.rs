//! What one side's S3 store is and can do: AWS, or an S3-compatible store (MinIO, Ceph RGW,
//! Alluxio's S3 proxy, Aliyun OSS, Tencent COS, Qiniu Kodo, small gateways).
//!
//! The other side's store is described by optional fields of its SecureString beside the
//! original three; our own side by environment variables. Every field has a default that is
//! AWS's behaviour, so an AWS-to-AWS migration sets nothing:
//!
//! | SecureString field     | environment (own side)    | default                     |
//! |------------------------|---------------------------|-----------------------------|
//! | `endpoint_url`         | `AWS_ENDPOINT_URL_S3`     | AWS's endpoint for the region |
//! | `region`               | `AWS_REGION`              | `us-east-1` (signing region) |
//! | `path_style`           | `S3_PATH_STYLE`           | true with an endpoint URL    |
//! | `multipart`            | `S3_MULTIPART`            | true                          |
//! | `max_put_bytes`        | `S3_MAX_PUT_BYTES`        | 5 GiB (S3's PutObject limit) |
//! | `checksums`            | `S3_CHECKSUMS`            | `sdk`                         |
//! | `list_objects_version` | `S3_LIST_OBJECTS_VERSION` | 2                             |
//! | `versioning`           | `S3_VERSIONING`           | true                          |
//!
//! The endpoint URL may carry a base path (`http://host:39999/api/v1/s3`). The other side's
//! endpoint comes from its SecureString only, never from our environment. Listings never ask
//! for `encoding-type=url` (keys come as XML text), so stores without URL encoding need no
//! setting.

use crate::config::{ConfigError, Env};
use crate::units::GIB;

/// S3's largest PutObject (S3 User Guide, "Uploading objects": up to 5 GB in one PUT).
pub const S3_MAX_PUT_BYTES: u64 = 5 * GIB;

/// How request bodies are checked on their way into the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Checksums {
    /// The SDK's default: a CRC32 trailer on streamed bodies (`aws-chunked`), which AWS and
    /// current MinIO check on receipt.
    #[default]
    Sdk,
    /// Only `Content-Length` and `Content-MD5`, no trailers and no `aws-chunked` encoding: for
    /// stores that refuse them (older MinIO, OSS, COS, gateways). A part is then buffered to
    /// compute its MD5 before it is sent.
    Md5,
}

/// The listing API a store answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListVersion {
    /// ListObjects (V1), `marker` paging.
    V1,
    /// ListObjectsV2, `continuation-token` paging.
    #[default]
    V2,
}

/// One side's store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// Endpoint URL, base path included; `None`: AWS (or, for our own side, the SDK's usual
    /// resolution).
    pub endpoint_url: Option<String>,
    /// Path-style addressing (`host/bucket/key`).
    pub path_style: bool,
    /// Multipart uploads are accepted (CreateMultipartUpload, UploadPart...).
    pub multipart: bool,
    /// Largest single PUT the store takes (without multipart, larger objects cannot be copied).
    pub max_put_bytes: u64,
    pub checksums: Checksums,
    pub list_version: ListVersion,
    /// Versioning APIs exist (ListObjectVersions, `versionId`).
    pub versioning: bool,
}

impl Default for Store {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            path_style: false,
            multipart: true,
            max_put_bytes: S3_MAX_PUT_BYTES,
            checksums: Checksums::Sdk,
            list_version: ListVersion::V2,
            versioning: true,
        }
    }
}

/// A bad store setting; names the field (or variable) and what it takes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct StoreError {
    /// The SecureString field.
    pub field: &'static str,
    pub reason: String,
}

impl std::fmt::Display for Store {
    /// One line for the log: where the store is and what differs from S3.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.endpoint_url.as_deref().unwrap_or("aws"))?;
        if self.path_style {
            write!(f, " path-style")?;
        }
        if !self.multipart {
            write!(f, " no-multipart max-put={}", self.max_put_bytes)?;
        }
        if self.checksums == Checksums::Md5 {
            write!(f, " checksums=md5")?;
        }
        if self.list_version == ListVersion::V1 {
            write!(f, " list-v1")?;
        }
        if !self.versioning {
            write!(f, " no-versioning")?;
        }
        Ok(())
    }
}

impl Store {
    /// True when this is not AWS's own endpoint.
    pub fn is_custom(&self) -> bool {
        self.endpoint_url.is_some()
    }

    /// The other side's store from its SecureString JSON (fields optional).
    pub fn from_json(json: &serde_json::Value) -> Result<Self, StoreError> {
        let text = |f: &str| -> Option<String> {
            match json.get(f) {
                Some(serde_json::Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
                Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                _ => None,
            }
        };
        let fields = StoreFields {
            endpoint_url: text("endpoint_url"),
            path_style: text("path_style"),
            multipart: text("multipart"),
            max_put_bytes: text("max_put_bytes"),
            checksums: text("checksums"),
            list_objects_version: text("list_objects_version"),
            versioning: text("versioning"),
        };
        fields.parse()
    }

    /// Our own side's store from the environment.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let get = |v: &str| env.optional(v).map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        let fields = StoreFields {
            endpoint_url: get("AWS_ENDPOINT_URL_S3").or_else(|| get("AWS_ENDPOINT_URL")),
            path_style: get("S3_PATH_STYLE"),
            multipart: get("S3_MULTIPART"),
            max_put_bytes: get("S3_MAX_PUT_BYTES"),
            checksums: get("S3_CHECKSUMS"),
            list_objects_version: get("S3_LIST_OBJECTS_VERSION"),
            versioning: get("S3_VERSIONING"),
        };
        fields.parse().map_err(|e| {
            let var = env_var(e.field);
            ConfigError::Invalid { var, value: env.get(var).unwrap_or_default().to_owned(), expected: e.reason }
        })
    }
}

/// The environment variable of a field.
fn env_var(field: &str) -> &'static str {
    match field {
        "endpoint_url" => "AWS_ENDPOINT_URL_S3",
        "path_style" => "S3_PATH_STYLE",
        "multipart" => "S3_MULTIPART",
        "max_put_bytes" => "S3_MAX_PUT_BYTES",
        "checksums" => "S3_CHECKSUMS",
        "list_objects_version" => "S3_LIST_OBJECTS_VERSION",
        _ => "S3_VERSIONING",
    }
}

/// What Alluxio's S3 proxy lists under `<key>` while a multipart upload of it is open: a
/// directory of the parts, not an object.
const ALLUXIO_MULTIPART_TMP: &str = "_s3_multipart_tmp/";

/// True when a listed key is a store's own artefact, never an object to copy or compare.
pub fn is_listing_artefact(key: &str) -> bool {
    key.contains(ALLUXIO_MULTIPART_TMP)
}

/// What to set when a store answers `501 NotImplemented` to `op`: the store lacks it.
pub fn not_implemented_hint(op: &str) -> &'static str {
    match op {
        "CreateMultipartUpload" | "UploadPart" | "UploadPartCopy" | "ListParts" | "CompleteMultipartUpload" => {
            "the store has no multipart upload: set multipart=false for it (S3_MULTIPART=false on our side)"
        }
        "ListObjectVersions" | "GetBucketVersioning" => {
            "the store has no versioning: set versioning=false for it and JobsenderCompareVersionId=false"
        }
        "ListObjectsV2" => "the store has no ListObjectsV2: set list_objects_version=1 for it",
        "GetObjectTagging" => "the store has no tagging: set CopyTags=false",
        _ => "the store does not implement this request",
    }
}

/// The endpoint as the SDK needs it: no trailing `/` after the host, but one after a base path
/// (the SDK appends the bucket to the path as it is: `…/api/v1/s3` would give `…/api/v1/s3bucket`).
fn normalized_endpoint(url: &str) -> String {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        None => url.to_owned(),
        Some(i) => {
            let (host, path) = url.split_at(after_scheme + i);
            let path = path.trim_end_matches('/');
            if path.is_empty() {
                host.to_owned()
            } else {
                format!("{host}{path}/")
            }
        }
    }
}

/// The fields as given, before parsing.
struct StoreFields {
    endpoint_url: Option<String>,
    path_style: Option<String>,
    multipart: Option<String>,
    max_put_bytes: Option<String>,
    checksums: Option<String>,
    list_objects_version: Option<String>,
    versioning: Option<String>,
}

impl StoreFields {
    fn parse(self) -> Result<Store, StoreError> {
        let bad = |field: &'static str, reason: &str| StoreError { field, reason: reason.to_owned() };
        let flag = |f: &'static str, v: Option<String>, default: bool| -> Result<bool, StoreError> {
            match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
                None => Ok(default),
                Some("true" | "1" | "yes") => Ok(true),
                Some("false" | "0" | "no") => Ok(false),
                Some(_) => Err(bad(f, "must be true or false")),
            }
        };
        if let Some(url) = &self.endpoint_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(bad("endpoint_url", "must be an http:// or https:// URL"));
            }
        }
        let endpoint_url = self.endpoint_url.as_deref().map(normalized_endpoint);
        let max_put_bytes = match self.max_put_bytes {
            None => S3_MAX_PUT_BYTES,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=S3_MAX_PUT_BYTES).contains(n))
                .ok_or_else(|| bad("max_put_bytes", "must be a number of bytes from 1 to 5368709120"))?,
        };
        let checksums = match self.checksums.as_deref().map(str::to_ascii_lowercase).as_deref() {
            None | Some("sdk") => Checksums::Sdk,
            Some("md5") => Checksums::Md5,
            Some(_) => return Err(bad("checksums", "must be sdk or md5")),
        };
        let list_version = match self.list_objects_version.as_deref() {
            None | Some("2") => ListVersion::V2,
            Some("1") => ListVersion::V1,
            Some(_) => return Err(bad("list_objects_version", "must be 1 or 2")),
        };
        Ok(Store {
            path_style: flag("path_style", self.path_style, endpoint_url.is_some())?,
            multipart: flag("multipart", self.multipart, true)?,
            versioning: flag("versioning", self.versioning, true)?,
            endpoint_url,
            max_put_bytes,
            checksums,
            list_version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_fields_are_aws() {
        let s = Store::from_json(&serde_json::json!({ "aws_access_key_id": "a" })).unwrap();
        assert_eq!(s, Store::default());
        assert!(!s.is_custom());
        let s = Store::from_env(&Env::from_pairs([("AWS_REGION", "us-east-1")])).unwrap();
        assert_eq!(s, Store::default());
    }

    #[test]
    fn a_gateway_is_described_by_its_fields() {
        let s = Store::from_json(&serde_json::json!({
            "endpoint_url": "http://alluxio:39999/api/v1/s3/",
            "multipart": false,
            "max_put_bytes": "1048576",
            "checksums": "md5",
            "list_objects_version": 1,
            "versioning": false,
        }))
        .unwrap();
        assert_eq!(s.endpoint_url.as_deref(), Some("http://alluxio:39999/api/v1/s3/"));
        assert!(s.path_style, "path-style by default with an endpoint");
        assert!(!s.multipart && !s.versioning);
        assert_eq!((s.max_put_bytes, s.checksums, s.list_version), (1_048_576, Checksums::Md5, ListVersion::V1));
        assert_eq!(
            s.to_string(),
            "http://alluxio:39999/api/v1/s3/ path-style no-multipart max-put=1048576 checksums=md5 list-v1 no-versioning"
        );
        assert_eq!(Store::default().to_string(), "aws");
        let s = Store::from_json(
            &serde_json::json!({ "endpoint_url": "https://oss-cn-hangzhou.aliyuncs.com", "path_style": false }),
        )
        .unwrap();
        assert!(!s.path_style, "explicit settings win");
    }

    #[test]
    fn an_open_upload_of_alluxio_is_no_object() {
        assert!(is_listing_artefact("data/big.bin_s3_multipart_tmp/"));
        assert!(is_listing_artefact("data/big.bin_s3_multipart_tmp/1"));
        assert!(!is_listing_artefact("data/big.bin"));
        assert!(!is_listing_artefact("data/s3_multipart_tmp.txt"));
    }

    #[test]
    fn not_implemented_names_the_setting() {
        assert!(not_implemented_hint("CreateMultipartUpload").contains("multipart=false"));
        assert!(not_implemented_hint("ListObjectVersions").contains("JobsenderCompareVersionId=false"));
        assert!(not_implemented_hint("ListObjectsV2").contains("list_objects_version=1"));
        assert!(not_implemented_hint("GetObjectTagging").contains("CopyTags=false"));
    }

    #[test]
    fn an_endpoint_keeps_its_base_path_with_one_slash_after_it() {
        for (given, want) in [
            ("http://minio:9000", "http://minio:9000"),
            ("http://minio:9000/", "http://minio:9000"),
            ("http://alluxio:39999/api/v1/s3", "http://alluxio:39999/api/v1/s3/"),
            ("https://gw/s3//", "https://gw/s3/"),
        ] {
            assert_eq!(normalized_endpoint(given), want);
        }
    }

    #[test]
    fn bad_values_name_the_field_or_variable() {
        for (json, field) in [
            (serde_json::json!({ "endpoint_url": "minio:9000" }), "endpoint_url"),
            (serde_json::json!({ "multipart": "maybe" }), "multipart"),
            (serde_json::json!({ "max_put_bytes": "6000000000" }), "max_put_bytes"),
            (serde_json::json!({ "max_put_bytes": 0 }), "max_put_bytes"),
            (serde_json::json!({ "checksums": "crc64" }), "checksums"),
            (serde_json::json!({ "list_objects_version": 3 }), "list_objects_version"),
        ] {
            let e = Store::from_json(&json).unwrap_err();
            assert_eq!(e.field, field, "{e}");
        }
        let e = Store::from_env(&Env::from_pairs([("S3_CHECKSUMS", "none")])).unwrap_err().to_string();
        assert!(e.contains("S3_CHECKSUMS") && e.contains("sdk or md5") && e.contains("none"), "{e}");
        let e = Store::from_env(&Env::from_pairs([("AWS_ENDPOINT_URL_S3", "localhost:9000")])).unwrap_err().to_string();
        assert!(e.contains("AWS_ENDPOINT_URL_S3"), "{e}");
    }
}
