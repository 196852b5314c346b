//! What a queue message means: job messages and S3 event notifications share one queue.
//!
//! A body is one of
//! - a job message ([`Job`]),
//! - a pack of small objects' jobs ([`Pack`]),
//! - an S3 event notification (`{"Records": [...]}`), each record its own item,
//! - the `s3:TestEvent` S3 sends when notifications are configured,
//! - any of those wrapped in an SNS notification (`{"Type":"Notification","Message":"..."}`).

use crate::job::{listed_etag, Job, JobError};
use crate::keys::dest_key;
use crate::pack::{Pack, PackError};
use percent_encoding::percent_decode_str;
use serde::Deserialize;

/// Where objects named by S3 event notifications go (`Des_bucket_default`, `Des_prefix_default`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventDestination {
    pub des_bucket: Option<String>,
    pub des_prefix: String,
}

/// One thing to do for one message item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Copy an object.
    Copy(Job),
    /// Copy a pack of small objects of one pair.
    Pack(Pack),
    /// The source object was removed (`ObjectRemoved:*`, `LifecycleExpiration:*`): a delete
    /// marker, the object, or one version of it (`version_id`); `event_time` is when, in
    /// seconds since the epoch.
    Removed {
        src_bucket: String,
        src_key: String,
        des_bucket: String,
        des_key: String,
        version_id: Option<String>,
        event_time: Option<u64>,
    },
    /// `s3:TestEvent`: nothing to do.
    TestEvent { bucket: Option<String> },
    /// An S3 event we do not act on (restore, tagging, ACL, replication...).
    Ignored { event_name: String, key: String },
}

/// Why a message body cannot be understood. All of these are permanent: retrying the same
/// body cannot help, so the message belongs in the dead-letter queue.
#[derive(Debug, thiserror::Error)]
pub enum MessageError {
    #[error("message body is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error(transparent)]
    Job(#[from] JobError),
    #[error(transparent)]
    Pack(#[from] PackError),
    #[error("S3 event record {index} is not valid: {source}")]
    Record {
        index: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("S3 event record {index} key {key:?} is not valid percent-encoded UTF-8")]
    BadKey { index: usize, key: String },
    #[error("S3 event record {index} ({event_name}) has no `s3.object.size`")]
    NoSize { index: usize, event_name: String },
    #[error("S3 event for {bucket}/{key} arrived but `Des_bucket_default` is not set, so it has no destination")]
    NoDefaultDestination { bucket: String, key: String },
    #[error("SNS notification `Message` is not a string")]
    BadSns,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName")]
    event_name: String,
    #[serde(rename = "eventTime", default)]
    event_time: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: BucketEntity,
    object: ObjectEntity,
}

#[derive(Deserialize)]
struct BucketEntity {
    name: String,
}

#[derive(Deserialize)]
struct ObjectEntity {
    key: String,
    size: Option<u64>,
    #[serde(rename = "versionId")]
    version_id: Option<String>,
    #[serde(rename = "eTag")]
    etag: Option<String>,
}

/// Decodes an S3 event key: `+` means space, then percent-decoding (`a+b%2Bc%20d` -> `a b+c d`).
pub fn decode_event_key(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8().ok().map(|k| k.into_owned())
}

/// Seconds since the epoch of an RFC 3339 UTC time as S3 events give it
/// (`2026-11-22T00:00:00.000Z`); `None` when it is not one.
pub fn rfc3339_secs(s: &str) -> Option<u64> {
    let (date, time) = s.trim().strip_suffix('Z')?.split_once('T')?;
    let mut d = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.splitn(3, ':');
    let (h, min) = (t.next()?.parse::<i64>().ok()?, t.next()?.parse::<i64>().ok()?);
    let sec = t.next()?.split('.').next()?.parse::<i64>().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    // Days from the civil date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + min * 60 + sec).ok()
}

/// Parses one queue message body into the items it asks for.
pub fn parse_message(body: &str, dest: &EventDestination) -> Result<Vec<Incoming>, MessageError> {
    let value: serde_json::Value = serde_json::from_str(body).map_err(MessageError::NotJson)?;
    parse_value(value, dest)
}

fn parse_value(value: serde_json::Value, dest: &EventDestination) -> Result<Vec<Incoming>, MessageError> {
    if value.get("Type").and_then(|t| t.as_str()) == Some("Notification") {
        let inner = value.get("Message").and_then(|m| m.as_str()).ok_or(MessageError::BadSns)?;
        return parse_message(inner, dest);
    }
    if value.get("Event").and_then(|e| e.as_str()) == Some("s3:TestEvent") {
        let bucket = value.get("Bucket").and_then(|b| b.as_str()).map(str::to_owned);
        return Ok(vec![Incoming::TestEvent { bucket }]);
    }
    match value.get("Records") {
        Some(serde_json::Value::Array(records)) => {
            records.iter().enumerate().map(|(index, r)| parse_record(index, r, dest)).collect()
        }
        _ if Pack::is_pack(&value) => Ok(vec![Incoming::Pack(Pack::from_value(value)?)]),
        _ => Ok(vec![Incoming::Copy(Job::from_value(value)?)]),
    }
}

fn parse_record(index: usize, raw: &serde_json::Value, dest: &EventDestination) -> Result<Incoming, MessageError> {
    let record = Record::deserialize(raw).map_err(|source| MessageError::Record { index, source })?;
    let key = decode_event_key(&record.s3.object.key)
        .ok_or_else(|| MessageError::BadKey { index, key: record.s3.object.key.clone() })?;
    let bucket = record.s3.bucket.name;
    let version_id = record.s3.object.version_id.filter(|v| !v.is_empty() && v != "null");
    let name = record.event_name.as_str();
    let created = name.starts_with("ObjectCreated:");
    let removed = name.starts_with("ObjectRemoved:") || name.starts_with("LifecycleExpiration:");
    if !created && !removed {
        return Ok(Incoming::Ignored { event_name: record.event_name, key });
    }
    let Some(des_bucket) = dest.des_bucket.clone() else {
        return Err(MessageError::NoDefaultDestination { bucket, key });
    };
    let des_key = dest_key(&dest.des_prefix, &key);
    if removed {
        let event_time = record.event_time.as_deref().and_then(rfc3339_secs);
        return Ok(Incoming::Removed { src_bucket: bucket, src_key: key, des_bucket, des_key, version_id, event_time });
    }
    let size = record.s3.object.size.ok_or(MessageError::NoSize { index, event_name: record.event_name })?;
    let etag = listed_etag(record.s3.object.etag.as_deref());
    Ok(Incoming::Copy(Job {
        src_bucket: bucket,
        src_key: key,
        des_bucket,
        des_key,
        size,
        version_id,
        attempt: 0,
        etag,
        checksum_algorithm: None,
        failures: 0,
    }))
}

#[cfg(test)]
mod tests;
