//! What the worker sets on every object it writes, besides what it keeps from the source.

use super::{ConfigError, Env};

/// Canned ACLs S3 accepts on PutObject, CopyObject and CreateMultipartUpload (S3 User Guide,
/// "Canned ACL").
pub const CANNED_ACLS: &[&str] = &[
    "private",
    "public-read",
    "public-read-write",
    "authenticated-read",
    "aws-exec-read",
    "bucket-owner-read",
    "bucket-owner-full-control",
];

/// Server-side encryption of written objects (`DestinationSSE`), S3's header values.
pub const DESTINATION_SSE: &[&str] = &["AES256", "aws:kms", "aws:kms:dsse"];

/// Destination settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationOptions {
    /// `DestinationSSE`: `AES256`, `aws:kms` or `aws:kms:dsse`. Default unset: the
    /// destination bucket's default encryption applies (S3 never carries the source's over).
    pub sse: Option<String>,
    /// `DestinationKMSKeyId`: the KMS key (id, alias or ARN) of `aws:kms` / `aws:kms:dsse`.
    /// Default unset: the AWS managed key `aws/s3`.
    pub kms_key_id: Option<String>,
    /// `DestinationBucketKey`: use an S3 Bucket Key for SSE-KMS. Default unset (the bucket's
    /// setting).
    pub bucket_key: Option<bool>,
    /// `DestinationACL`: a canned ACL, e.g. `bucket-owner-full-control` when the destination
    /// bucket belongs to another account with ACLs enabled. Default unset.
    pub acl: Option<String>,
    /// `CopyObjectLock`: copy the source's Object Lock mode, retain-until date and legal hold
    /// (the destination bucket must have Object Lock enabled). Default false.
    pub copy_object_lock: bool,
}

impl DestinationOptions {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let sse: Option<String> = env.choice(
            "DestinationSSE",
            None,
            &DESTINATION_SSE.iter().map(|s| (*s, Some((*s).to_owned()))).collect::<Vec<_>>(),
        )?;
        let kms = sse.as_deref().is_some_and(|s| s.starts_with("aws:kms"));
        let needs_kms = |var: &'static str, value: &str| ConfigError::Invalid {
            var,
            value: value.to_owned(),
            expected: "to be set only with DestinationSSE=aws:kms or aws:kms:dsse".into(),
        };
        let kms_key_id = env.optional("DestinationKMSKeyId").map(str::to_owned);
        if let Some(k) = kms_key_id.as_deref().filter(|_| !kms) {
            return Err(needs_kms("DestinationKMSKeyId", k));
        }
        let bucket_key = match env.optional("DestinationBucketKey") {
            None => None,
            Some(v) if !kms => return Err(needs_kms("DestinationBucketKey", v)),
            Some(_) => Some(env.flag("DestinationBucketKey", false)?),
        };
        let acl = env.choice(
            "DestinationACL",
            None,
            &CANNED_ACLS.iter().map(|s| (*s, Some((*s).to_owned()))).collect::<Vec<_>>(),
        )?;
        Ok(Self { sse, kms_key_id, bucket_key, acl, copy_object_lock: env.flag("CopyObjectLock", false)? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        Env::from_pairs(pairs.iter().map(|(k, v)| (*k, *v)))
    }

    #[test]
    fn defaults_set_nothing() {
        assert_eq!(DestinationOptions::from_env(&env(&[])).unwrap(), DestinationOptions::default());
    }

    #[test]
    fn kms_settings_need_kms_encryption() {
        let o = DestinationOptions::from_env(&env(&[
            ("DestinationSSE", "aws:kms"),
            ("DestinationKMSKeyId", "alias/migrate"),
            ("DestinationBucketKey", "true"),
            ("DestinationACL", "bucket-owner-full-control"),
            ("CopyObjectLock", "true"),
        ]))
        .unwrap();
        assert_eq!(o.sse.as_deref(), Some("aws:kms"));
        assert_eq!(o.kms_key_id.as_deref(), Some("alias/migrate"));
        assert_eq!((o.bucket_key, o.copy_object_lock), (Some(true), true));
        assert_eq!(o.acl.as_deref(), Some("bucket-owner-full-control"));
        for (var, value, with) in [
            ("DestinationKMSKeyId", "alias/x", "AES256"),
            ("DestinationBucketKey", "true", ""),
            ("DestinationSSE", "aws:kms:fast", ""),
            ("DestinationACL", "everyone", ""),
            ("CopyObjectLock", "sure", ""),
        ] {
            let mut pairs = vec![(var, value)];
            if !with.is_empty() {
                pairs.push(("DestinationSSE", with));
            }
            let e = DestinationOptions::from_env(&env(&pairs)).unwrap_err().to_string();
            assert!(e.contains(var) && e.contains(value), "{var}={value}: {e}");
        }
    }
}
