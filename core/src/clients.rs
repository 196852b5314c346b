//! AWS client construction, done once per process.
//!
//! Our own side uses the default credential chain. When `JobType` is set, the other side's
//! keys come from the SSM SecureString named by `ssm_parameter_credentials`, a JSON object
//! `{"aws_access_key_id": "...", "aws_secret_access_key": "...", "region": "..."}` (the
//! original project's shape, `region` now optional) with optional fields describing an
//! S3-compatible store (`crate::store`): the destination uses them with `JobType=PUT`, the
//! source with `JobType=GET`. Each side's S3 client follows its store: endpoint (the other
//! side's from its SecureString only), path-style, checksums.

use crate::config::JobType;
use crate::rotation::RotatingKeys;
use crate::store::{Checksums, Store};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use std::fmt;

/// Name given to credentials read from the SecureString (shows in SDK debug output, never the keys).
const CREDENTIALS_PROVIDER_NAME: &str = "ssm-secure-string";

/// Signing region when the SecureString names none (S3-compatible stores mostly ignore it;
/// on AWS, HeadBucket then names each bucket's region, see `crate::regions`).
pub const DEFAULT_SIGNING_REGION: &str = "us-east-1";

/// Why clients could not be built. Each names the parameter; none carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("SSM parameter {name} (ssm_parameter_credentials) does not exist; create it as a SecureString holding {{\"aws_access_key_id\",\"aws_secret_access_key\",\"region\"}}")]
    ParameterNotFound { name: String },
    #[error("SSM parameter {name} could not be read: {reason}")]
    ParameterUnreadable { name: String, reason: String },
    #[error("SSM parameter {name} is not the credentials JSON: {reason}")]
    BadCredentials { name: String, reason: String },
    #[error("SQS queue {queue} (sqs_queue) could not be found or reached: {reason}")]
    Queue { queue: String, reason: String },
    #[error(transparent)]
    OwnStore(#[from] crate::config::ConfigError),
}

/// Keys of the other side, and its store. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct OtherSideCredentials {
    pub access_key_id: String,
    secret_access_key: String,
    pub region: String,
    pub store: Store,
}

impl fmt::Debug for OtherSideCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtherSideCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("region", &self.region)
            .field("store", &self.store)
            .finish()
    }
}

impl OtherSideCredentials {
    /// Parses the SecureString value. Errors name the field, never the value.
    pub fn parse(parameter: &str, value: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::BadCredentials { name: parameter.to_owned(), reason: reason.to_owned() };
        let json: serde_json::Value = serde_json::from_str(value).map_err(|_| bad("the value is not valid JSON"))?;
        let field = |f: &str| -> Result<String, ClientError> {
            json.get(f)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("field `{f}` is missing, empty or not a string")))
        };
        let region = match json.get("region") {
            None | Some(serde_json::Value::Null) => DEFAULT_SIGNING_REGION.to_owned(),
            Some(serde_json::Value::String(r)) if r.trim().is_empty() => DEFAULT_SIGNING_REGION.to_owned(),
            Some(_) => field("region")?,
        };
        Ok(Self {
            access_key_id: field("aws_access_key_id")?,
            secret_access_key: field("aws_secret_access_key")?,
            region,
            store: Store::from_json(&json).map_err(|e| bad(&e.to_string()))?,
        })
    }

    pub(crate) fn credentials(&self) -> Credentials {
        Credentials::new(&self.access_key_id, &self.secret_access_key, None, None, CREDENTIALS_PROVIDER_NAME)
    }

    /// The same keys with `earlier`'s region and store (fixed for the process: clients were
    /// built for them).
    pub(crate) fn keys_only(self, earlier: &Self) -> Self {
        Self { region: earlier.region.clone(), store: earlier.store.clone(), ..self }
    }
}

/// Every client the binaries use, built from one `SdkConfig` per side.
#[derive(Clone, Debug)]
pub struct AwsClients {
    /// Our own side's configuration (default chain).
    pub own: SdkConfig,
    pub src_s3: aws_sdk_s3::Client,
    pub des_s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ssm: aws_sdk_ssm::Client,
    /// True when one set of credentials serves both buckets (server-side copy is possible).
    pub same_credentials: bool,
    /// The other side's keys (`JobType` set), read again after a refusal (key rotation).
    pub other_keys: Option<RotatingKeys>,
    /// What each side's store can do (`crate::store`).
    pub src_store: Store,
    pub des_store: Store,
}

impl AwsClients {
    /// Loads our own side from the default chain (its store from the environment, see
    /// `crate::store`) and, for `JobType`, the other side from SSM.
    pub async fn build(job_type: Option<JobType>, credentials_parameter: &str) -> Result<Self, ClientError> {
        let own_store = Store::from_env(&crate::config::Env::from_process())?;
        Self::build_with(job_type, credentials_parameter, own_store).await
    }

    /// Like [`AwsClients::build`] with our own side's store given.
    pub async fn build_with(
        job_type: Option<JobType>,
        credentials_parameter: &str,
        own_store: Store,
    ) -> Result<Self, ClientError> {
        let own = aws_config::defaults(BehaviorVersion::latest()).load().await;
        let ssm = aws_sdk_ssm::Client::new(&own);
        let own_s3 = s3_client(&own, &own_store);
        let other_keys = match job_type {
            None => None,
            Some(_) => Some(RotatingKeys::read(&ssm, credentials_parameter).await?),
        };
        let (src_s3, des_s3, src_store, des_store) = match (job_type, &other_keys) {
            (Some(side), Some(keys)) => {
                let other_store = keys.store();
                let other_s3 = s3_client(&other_side_config(keys).await, &other_store);
                match side {
                    JobType::Put => (own_s3, other_s3, own_store, other_store),
                    JobType::Get => (other_s3, own_s3, other_store, own_store),
                }
            }
            _ => (own_s3.clone(), own_s3, own_store.clone(), own_store),
        };
        Ok(Self {
            sqs: aws_sdk_sqs::Client::new(&own),
            dynamodb: aws_sdk_dynamodb::Client::new(&own),
            ssm,
            src_s3,
            des_s3,
            same_credentials: job_type.is_none(),
            other_keys,
            src_store,
            des_store,
            own,
        })
    }
}

/// Reads and parses the SecureString with the other side's keys.
pub async fn read_credentials(ssm: &aws_sdk_ssm::Client, parameter: &str) -> Result<OtherSideCredentials, ClientError> {
    let value = read_parameter(ssm, parameter, true).await?;
    OtherSideCredentials::parse(parameter, &value)
}

/// Reads one SSM parameter value (decrypted when asked).
pub async fn read_parameter(ssm: &aws_sdk_ssm::Client, name: &str, decrypt: bool) -> Result<String, ClientError> {
    use aws_sdk_ssm::error::ProvideErrorMetadata;
    let out = ssm.get_parameter().name(name).with_decryption(decrypt).send().await.map_err(|e| {
        match e.as_service_error() {
            Some(se) if se.is_parameter_not_found() => ClientError::ParameterNotFound { name: name.to_owned() },
            _ => ClientError::ParameterUnreadable {
                name: name.to_owned(),
                reason: e.message().map(str::to_owned).unwrap_or_else(|| error_chain(&e)),
            },
        }
    })?;
    out.parameter
        .and_then(|p| p.value)
        .ok_or_else(|| ClientError::ParameterUnreadable { name: name.to_owned(), reason: "it has no value".into() })
}

/// The other side's configuration: every request asks `keys` (no identity cache), so keys
/// read again after a rotation are used by the next request of every client built on it.
async fn other_side_config(keys: &RotatingKeys) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(keys.clone())
        .identity_cache(aws_config::identity::IdentityCache::no_cache())
        .region(Region::new(keys.region()))
        .load()
        .await
}

/// An S3 client for one side, path-style when an endpoint override is set.
///
/// Response checksum validation is asked for only where an operation requires it: a whole
/// object read is checked against its MD5 ETag by the worker, and ranged reads (every part of
/// a multipart copy) cannot be checked by the SDK anyway. Asking for `x-amz-checksum-mode` on
/// every GET made LocalStack compute a checksum (18% of its CPU on small objects, one A/B
/// pair). Uploads keep the SDK's default checksums besides their Content-MD5.
///
/// The SDK's stalled-stream protection is kept for downloads only. On uploads it fails a body
/// that has not been polled for 5 s, which a healthy upload on a slow or lossy link does
/// whenever the socket's send buffer is full (TCP wakes the writer only once much of it has
/// drained, and retransmission backoff stops a connection for seconds): aws-sdk-rust#1146.
/// Every part the worker sends is bounded by its deadline instead (`copy/multipart.rs`).
///
/// The endpoint is the store's, and only the store's: the other side never inherits our
/// environment's endpoint. With `checksums=md5` the SDK adds a checksum only where an operation
/// requires one, so bodies go without trailers or `aws-chunked` encoding.
pub fn s3_client(config: &SdkConfig, store: &Store) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation, StalledStreamProtectionConfig};
    let stall = StalledStreamProtectionConfig::enabled().upload_enabled(false).build();
    let mut s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(store.path_style)
        .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
        .stalled_stream_protection(stall);
    s3.set_endpoint_url(store.endpoint_url.clone());
    if store.checksums == Checksums::Md5 {
        s3 = s3.request_checksum_calculation(RequestChecksumCalculation::WhenRequired);
    }
    aws_sdk_s3::Client::from_conf(s3.build())
}

/// Adds `x-amz-request-payer: requester` to every request of a client, before it is signed.
///
/// S3 User Guide, "Downloading objects from Requester Pays buckets": every request to such a
/// bucket (listings, HEAD, GET, tagging, and a copy naming it as source) must carry this
/// header, or S3 answers 403. Set on the source side's client (`RequestPayer=requester`), it
/// covers every request either binary makes there, present and future, from one setting; a
/// bucket that is not requester-pays ignores the header.
#[derive(Debug)]
struct RequesterPays;

impl aws_sdk_s3::config::Intercept for RequesterPays {
    fn name(&self) -> &'static str {
        "RequesterPays"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _components: &aws_sdk_s3::config::RuntimeComponents,
        _cfg: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        context.request_mut().headers_mut().insert("x-amz-request-payer", "requester");
        Ok(())
    }
}

/// `client` with every request marked as paid by the requester (see [`RequesterPays`]).
pub fn requester_pays(client: &aws_sdk_s3::Client) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(client.config().to_builder().interceptor(RequesterPays).build())
}

/// Formats an error with its whole source chain on one line.
pub fn error_chain<E: std::error::Error + ?Sized>(e: &E) -> String {
    // Walk the source chain: SDK errors keep the useful part (connection refused, timeout) there.
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// The URL of a queue given by name or URL, checked to exist and be reachable.
pub async fn queue_url(sqs: &aws_sdk_sqs::Client, name_or_url: &str) -> Result<String, ClientError> {
    let fail = |reason: String| ClientError::Queue { queue: name_or_url.to_owned(), reason };
    let url = if name_or_url.starts_with("http://") || name_or_url.starts_with("https://") {
        name_or_url.to_owned()
    } else {
        sqs.get_queue_url()
            .queue_name(name_or_url)
            .send()
            .await
            .map_err(|e| fail(error_chain(&e)))?
            .queue_url
            .ok_or_else(|| fail("no URL returned".into()))?
    };
    sqs.get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| fail(error_chain(&e)))?;
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str =
        r#"{"aws_access_key_id":"AKIDEXAMPLE","aws_secret_access_key":"s3cr3t/Key+","region":"cn-north-1"}"#;

    #[test]
    fn parses_the_original_shape() {
        let c = OtherSideCredentials::parse("p", GOOD).unwrap();
        assert_eq!(c.access_key_id, "AKIDEXAMPLE");
        assert_eq!(c.region, "cn-north-1");
        assert_eq!(c.secret_access_key, "s3cr3t/Key+");
    }

    #[test]
    fn region_is_optional_and_store_fields_are_read() {
        let c = OtherSideCredentials::parse(
            "p",
            r#"{"aws_access_key_id":"a","aws_secret_access_key":"s","region":"","endpoint_url":"http://minio:9000","multipart":false}"#,
        )
        .unwrap();
        assert_eq!(c.region, DEFAULT_SIGNING_REGION);
        assert_eq!(c.store.endpoint_url.as_deref(), Some("http://minio:9000"));
        assert!(c.store.path_style && !c.store.multipart);
        let c = OtherSideCredentials::parse("p", r#"{"aws_access_key_id":"a","aws_secret_access_key":"s"}"#).unwrap();
        assert_eq!((c.region.as_str(), c.store), (DEFAULT_SIGNING_REGION, Store::default()));
    }

    #[test]
    fn debug_hides_the_secret() {
        let c = OtherSideCredentials::parse("p", GOOD).unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("AKIDEXAMPLE"));
    }

    #[test]
    fn errors_name_the_field_and_never_the_secret() {
        for (value, field) in [
            (r#"{"aws_secret_access_key":"s3cr3t","region":"r"}"#, "aws_access_key_id"),
            (r#"{"aws_access_key_id":"a","region":"r"}"#, "aws_secret_access_key"),
            (r#"{"aws_access_key_id":"a","aws_secret_access_key":"s3cr3t","region":7}"#, "region"),
            (r#"{"aws_access_key_id":"a","aws_secret_access_key":"s3cr3t","multipart":"sometimes"}"#, "multipart"),
            (r#"{"aws_access_key_id":"a","aws_secret_access_key":"","region":"r"}"#, "aws_secret_access_key"),
        ] {
            let err = OtherSideCredentials::parse("creds", value).unwrap_err().to_string();
            assert!(err.contains(field) && err.contains("creds"), "{err}");
            assert!(!err.contains("s3cr3t"), "{err}");
        }
        let err = OtherSideCredentials::parse("creds", "s3cr3t not json").unwrap_err().to_string();
        assert!(err.contains("not valid JSON") && !err.contains("s3cr3t"), "{err}");
    }
}
