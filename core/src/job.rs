//! The SQS job message: one object to copy.
//!
//! Field names are the original project's (`Src_bucket`, `Src_key`, `Des_bucket`, `Des_key`,
//! `Size`, `versionId`), so jobs written by either implementation are read by the other.
//! `versionId` is the string `"null"` when the source has no version; in Rust that is `None`.
//! Unknown fields are tolerated. `attempt` is our addition: the number of times a long transfer
//! has been handed on to a fresh message after running out of time (absent means 0), and `ETag`
//! is the source ETag the listing or S3 event saw (absent when unknown), which lets a server-side
//! copy skip the source HEAD: `x-amz-copy-source-if-match` ties the copy to the listed object.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The literal S3 and the original project use for "no version".
pub const NULL_VERSION: &str = "null";

/// One object to copy from `src_bucket/src_key` to `des_bucket/des_key`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    #[serde(rename = "Src_bucket")]
    pub src_bucket: String,
    #[serde(rename = "Src_key")]
    pub src_key: String,
    #[serde(rename = "Des_bucket")]
    pub des_bucket: String,
    #[serde(rename = "Des_key")]
    pub des_key: String,
    /// Source size in bytes as seen when the job was made.
    #[serde(rename = "Size", deserialize_with = "size_from_number_or_string")]
    pub size: u64,
    /// Source version the job refers to; `None` serialises as `"null"`.
    #[serde(
        rename = "versionId",
        default,
        serialize_with = "version_to_string",
        deserialize_with = "version_from_string"
    )]
    pub version_id: Option<String>,
    /// Times this job was handed on after running out of time (our extension; absent means 0).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// Source ETag as listed, in its quoted form (our extension; absent when unknown).
    #[serde(rename = "ETag", default, skip_serializing_if = "Option::is_none", deserialize_with = "etag_from_string")]
    pub etag: Option<String>,
    /// The source's additional checksum algorithm as listed (`CRC32`, `SHA256`, ...; our
    /// extension; absent when the object has none or it is unknown): single-request copies
    /// keep it.
    #[serde(rename = "ChecksumAlgorithm", default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// Times the worker met a retryable error on this object of a pack (our extension; absent
    /// means 0): a pack is consumed and its unfinished objects sent again, so their attempts
    /// are counted here rather than by SQS's receive count (see `crate::pack`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub failures: u32,
}

/// Why a message body is not a job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("job message is not valid: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("job message field `{field}` is empty")]
    EmptyField { field: &'static str },
}

impl Job {
    /// Parses one job message body. A missing field is an error naming it.
    pub fn from_json(body: &str) -> Result<Self, JobError> {
        Self::from_value(serde_json::from_str(body)?)
    }

    /// Reads a job from an already parsed JSON value and checks that names are not empty.
    pub fn from_value(value: serde_json::Value) -> Result<Self, JobError> {
        let job: Job = serde_json::from_value(value)?;
        for (field, v) in [
            ("Src_bucket", &job.src_bucket),
            ("Src_key", &job.src_key),
            ("Des_bucket", &job.des_bucket),
            ("Des_key", &job.des_key),
        ] {
            if v.is_empty() {
                return Err(JobError::EmptyField { field });
            }
        }
        Ok(job)
    }

    /// The message body for SQS.
    pub fn to_json(&self) -> String {
        // A struct of strings and integers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The ledger key of the source object (see [`object_key`]).
    pub fn ledger_key(&self) -> String {
        object_key(&self.src_bucket, &self.src_key)
    }
}

/// The ledger key of a source object, `bucket/key`: the one place it is made. A key prefix
/// gives the ledger prefix of a pair's records.
pub fn object_key(bucket: &str, key: &str) -> String {
    format!("{bucket}/{key}")
}

/// An ETag in the quoted form S3 answers with (`"abc"`); S3 event notifications carry it bare.
pub fn quoted_etag(etag: &str) -> String {
    let bare = etag.trim().trim_matches('"');
    format!("\"{bare}\"")
}

/// An ETag as a listing, an S3 event or a job gives it (quoted, bare or empty), in the quoted
/// form; `None` when there is none.
pub fn listed_etag(raw: Option<&str>) -> Option<String> {
    raw.filter(|s| !s.trim().trim_matches('"').is_empty()).map(quoted_etag)
}

fn etag_from_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    Ok(listed_etag(v.as_deref()))
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn version_to_string<S: Serializer>(v: &Option<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v.as_deref().unwrap_or(NULL_VERSION))
}

fn version_from_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let v: Option<String> = Option::deserialize(d)?;
    Ok(v.filter(|s| !s.is_empty() && s != NULL_VERSION))
}

fn size_from_number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Size {
        Number(u64),
        Text(String),
    }
    match Size::deserialize(d)? {
        Size::Number(n) => Ok(n),
        Size::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("`Size` must be a whole number of bytes, got {t:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> Job {
        Job {
            src_bucket: "src".into(),
            src_key: "a/b c+d.txt".into(),
            des_bucket: "des".into(),
            des_key: "p/a/b c+d.txt".into(),
            size: 42,
            version_id: Some("v1".into()),
            attempt: 0,
            etag: None,
            checksum_algorithm: Some("SHA256".into()),
            failures: 0,
        }
    }

    #[test]
    fn round_trip_keeps_every_field() {
        let j = job();
        assert_eq!(Job::from_json(&j.to_json()).unwrap(), j);
        let with_attempt = Job { attempt: 3, version_id: None, ..job() };
        assert_eq!(Job::from_json(&with_attempt.to_json()).unwrap(), with_attempt);
        let with_etag = Job { etag: Some("\"0cc175b9c0f1b6a831c399e269772661\"".into()), ..job() };
        assert_eq!(Job::from_json(&with_etag.to_json()).unwrap(), with_etag);
        let failed = Job { failures: 2, ..job() };
        assert_eq!(Job::from_json(&failed.to_json()).unwrap(), failed);
        assert!(!job().to_json().contains("failures"), "0 failures are not written");
    }

    #[test]
    fn etag_is_kept_quoted_and_optional() {
        let base = r#""Src_bucket":"s","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":1"#;
        let bare = Job::from_json(&format!(r#"{{{base},"ETag":"abc-2"}}"#)).unwrap();
        assert_eq!(bare.etag.as_deref(), Some("\"abc-2\""));
        let quoted = Job::from_json(&format!(r#"{{{base},"ETag":"\"abc\""}}"#)).unwrap();
        assert_eq!(quoted.etag.as_deref(), Some("\"abc\""));
        for absent in [format!("{{{base}}}"), format!(r#"{{{base},"ETag":""}}"#), format!(r#"{{{base},"ETag":null}}"#)]
        {
            assert_eq!(Job::from_json(&absent).unwrap().etag, None, "{absent}");
        }
        assert!(!job().to_json().contains("ETag"), "an unknown ETag is not written");
    }

    #[test]
    fn uses_the_original_field_names() {
        let v: serde_json::Value = serde_json::from_str(&job().to_json()).unwrap();
        for f in ["Src_bucket", "Src_key", "Des_bucket", "Des_key", "Size", "versionId"] {
            assert!(v.get(f).is_some(), "missing {f} in {v}");
        }
        assert!(v.get("attempt").is_none(), "attempt 0 is not written");
    }

    #[test]
    fn null_version_means_none_both_ways() {
        let body = r#"{"Src_bucket":"s","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":1,"versionId":"null"}"#;
        let j = Job::from_json(body).unwrap();
        assert_eq!(j.version_id, None);
        assert!(j.to_json().contains(r#""versionId":"null""#));
        let missing = r#"{"Src_bucket":"s","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":1}"#;
        assert_eq!(Job::from_json(missing).unwrap().version_id, None);
    }

    #[test]
    fn unknown_fields_are_tolerated() {
        let body =
            r#"{"Src_bucket":"s","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":1,"versionId":"x","extra":[1,2]}"#;
        assert_eq!(Job::from_json(body).unwrap().version_id.as_deref(), Some("x"));
    }

    #[test]
    fn size_as_string_is_accepted() {
        let body = r#"{"Src_bucket":"s","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":"1024"}"#;
        assert_eq!(Job::from_json(body).unwrap().size, 1024);
        let bad = r#"{"Src_bucket":"s","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":"big"}"#;
        assert!(Job::from_json(bad).unwrap_err().to_string().contains("Size"));
    }

    #[test]
    fn missing_field_is_named() {
        for field in ["Src_bucket", "Src_key", "Des_bucket", "Des_key", "Size"] {
            let mut v: serde_json::Value = serde_json::from_str(&job().to_json()).unwrap();
            v.as_object_mut().unwrap().remove(field);
            let err = Job::from_value(v).unwrap_err().to_string();
            assert!(err.contains(field), "{field}: {err}");
        }
    }

    #[test]
    fn empty_names_are_rejected() {
        let body = r#"{"Src_bucket":"","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":1}"#;
        assert!(Job::from_json(body).unwrap_err().to_string().contains("Src_bucket"));
    }

    #[test]
    fn not_json_is_malformed() {
        assert!(matches!(Job::from_json("hello"), Err(JobError::Malformed(_))));
    }

    #[test]
    fn ledger_key_is_bucket_slash_key() {
        assert_eq!(job().ledger_key(), "src/a/b c+d.txt");
    }
}
