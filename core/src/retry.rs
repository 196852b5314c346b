//! What to do about a failed AWS request: try again, or stop and report.
//!
//! Throttling (`SlowDown`, `Throttling*`, `ProvisionedThroughputExceededException`...), 5xx,
//! time-outs and dropped connections are retryable; everything else (access denied, no such
//! bucket, validation errors) is permanent: retrying the same request cannot succeed.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use std::time::Duration;

/// Error codes that mean "slow down or try again" whatever the HTTP status says.
const RETRYABLE_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    // A body damaged or cut on the wire (S3 checked Content-MD5 or the trailing checksum on
    // receipt, or got fewer bytes than declared): sending it again can succeed.
    "BadDigest",
    "IncompleteBody",
];

/// Codes S3 gives when it does not accept the request's keys (S3 API reference, "Error
/// responses"): the access key id is inactive or unknown, or the secret is not the key's.
const KEYS_REFUSED_CODES: &[&str] = &["InvalidAccessKeyId", "SignatureDoesNotMatch"];

/// True when an answer may mean the keys were refused, as after a key rotation: one of
/// [`KEYS_REFUSED_CODES`], or a 403 without a code (HEAD answers have no body, so S3 cannot
/// say which 403 it is). A 403 that names another code (`AccessDenied`,
/// `InvalidObjectState`...) is about the request, not the keys.
pub fn keys_maybe_refused(status: Option<u16>, code: Option<&str>) -> bool {
    match code {
        Some(c) => KEYS_REFUSED_CODES.contains(&c),
        None => status == Some(403),
    }
}

/// Retry or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    Retryable,
    Permanent,
}

/// Classifies an HTTP status and error code (pure; see [`classify`] for SDK errors).
pub fn classify_status(status: Option<u16>, code: Option<&str>) -> ErrorClass {
    if code.is_some_and(|c| RETRYABLE_CODES.contains(&c)) {
        return ErrorClass::Retryable;
    }
    match status {
        // 501 Not Implemented: the store lacks the operation (S3-compatible gateways); asking
        // again cannot help.
        Some(501) => ErrorClass::Permanent,
        Some(429) | Some(500..=599) => ErrorClass::Retryable,
        Some(_) => ErrorClass::Permanent,
        None => ErrorClass::Retryable,
    }
}

/// Classifies an SDK error of any AWS service.
pub fn classify<E: ProvideErrorMetadata>(err: &SdkError<E>) -> ErrorClass {
    match err {
        SdkError::ConstructionFailure(_) => ErrorClass::Permanent,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => ErrorClass::Retryable,
        SdkError::ServiceError(ctx) => classify_status(Some(ctx.raw().status().as_u16()), ctx.err().code()),
        _ => ErrorClass::Retryable,
    }
}

/// HTTP status of a service error, when there was a response.
pub fn status_of<E>(err: &SdkError<E>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Full-jitter exponential backoff ("Exponential Backoff And Jitter", AWS Architecture Blog):
/// a delay drawn from `0..min(cap, base * 2^attempt)`. `unit` is a number in `0.0..1.0`.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let ceiling = base.saturating_mul(1u32 << attempt.min(20)).min(cap);
    ceiling.mul_f64(unit.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_keys_are_told_from_other_refusals() {
        assert!(keys_maybe_refused(Some(403), Some("InvalidAccessKeyId")));
        assert!(keys_maybe_refused(Some(403), Some("SignatureDoesNotMatch")));
        assert!(keys_maybe_refused(Some(403), None), "a HEAD's 403 has no body");
        assert!(!keys_maybe_refused(Some(403), Some("AccessDenied")));
        assert!(!keys_maybe_refused(Some(403), Some("InvalidObjectState")));
        assert!(!keys_maybe_refused(Some(404), None));
        assert!(!keys_maybe_refused(None, None), "no answer at all");
        assert_eq!(classify_status(Some(403), Some("InvalidAccessKeyId")), ErrorClass::Permanent, "unless re-read");
    }

    #[test]
    fn throttling_and_server_errors_are_retryable() {
        assert_eq!(classify_status(Some(503), Some("SlowDown")), ErrorClass::Retryable);
        assert_eq!(classify_status(Some(500), None), ErrorClass::Retryable);
        assert_eq!(classify_status(Some(429), None), ErrorClass::Retryable);
        assert_eq!(classify_status(Some(400), Some("ProvisionedThroughputExceededException")), ErrorClass::Retryable);
        assert_eq!(classify_status(Some(400), Some("RequestTimeout")), ErrorClass::Retryable);
        assert_eq!(classify_status(Some(400), Some("BadDigest")), ErrorClass::Retryable, "damaged on the wire");
        assert_eq!(classify_status(Some(400), Some("IncompleteBody")), ErrorClass::Retryable);
        assert_eq!(classify_status(None, None), ErrorClass::Retryable, "no response: connection trouble");
        assert_eq!(classify_status(Some(501), Some("NotImplemented")), ErrorClass::Permanent, "a store without it");
    }

    #[test]
    fn client_errors_are_permanent() {
        assert_eq!(classify_status(Some(403), Some("AccessDenied")), ErrorClass::Permanent);
        assert_eq!(classify_status(Some(404), Some("NoSuchBucket")), ErrorClass::Permanent);
        assert_eq!(classify_status(Some(400), Some("InvalidArgument")), ErrorClass::Permanent);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(5);
        assert_eq!(backoff(0, base, cap, 1.0), base);
        assert_eq!(backoff(3, base, cap, 1.0), Duration::from_millis(800));
        assert_eq!(backoff(30, base, cap, 1.0), cap);
        assert_eq!(backoff(3, base, cap, 0.0), Duration::ZERO);
        assert_eq!(backoff(3, base, cap, 0.5), Duration::from_millis(400));
    }
}
