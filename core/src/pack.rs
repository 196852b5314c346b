//! Packed jobs: a run of small objects of one bucket pair in one queue message.
//!
//! A bucket of a million 16 KiB objects sent one message per object costs a million Lambda
//! invocations and three million SQS requests (send, receive, delete) before a byte moves.
//! The jobsender therefore packs objects up to `ResumableThreshold` (which the worker copies
//! in one request) into messages of up to `JobsenderPackObjects` objects:
//!
//! ```json
//! {"Src_bucket":"src","Des_bucket":"des","Objects":[
//!   {"Src_key":"a","Des_key":"p/a","Size":10,"versionId":"null","ETag":"\"..\""}, ...]}
//! ```
//!
//! Each object carries the single job's fields except the buckets, plus `failures`: how many
//! times the worker met a retryable error on it. A pack that partly fails is consumed and its
//! unfinished objects are sent again ([`regroup`]), so attempts are counted per object, not per
//! message. Larger objects, S3 events and the original single-object format are unchanged.

use crate::job::{Job, JobError};
use serde::{Deserialize, Serialize};

/// Default of `JobsenderPackObjects`: objects per pack.
pub const DEFAULT_PACK_OBJECTS: usize = 100;
/// Most objects a pack may hold (`JobsenderPackObjects` upper bound).
pub const MAX_PACK_OBJECTS: usize = 1000;
/// SQS's message size quota, and the most one SendMessageBatch may carry in total (SQS
/// `SendMessageBatch`: "the sum of all the individual message lengths").
pub const SQS_MAX_MESSAGE_BYTES: usize = 262_144;
/// Largest pack body the jobsender writes: under SQS's quota with room for the SQS message
/// attributes and for the worker to add `failures` counts when it sends a pack again.
pub const PACK_MAX_BODY_BYTES: usize = 200 * 1024;

/// Objects of one pair to copy, each as a [`Job`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    pub jobs: Vec<Job>,
}

/// One object on the wire: a job without its buckets.
#[derive(Serialize, Deserialize)]
struct WireObject {
    #[serde(flatten)]
    job: serde_json::Map<String, serde_json::Value>,
}

/// The wire form of a pack.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "Src_bucket")]
    src_bucket: String,
    #[serde(rename = "Des_bucket")]
    des_bucket: String,
    #[serde(rename = "Objects")]
    objects: Vec<WireObject>,
}

/// Why a pack body is not one.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("pack message is not valid: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("pack object {index} is not valid: {source}")]
    Object {
        index: usize,
        #[source]
        source: JobError,
    },
    #[error("pack message has no objects")]
    Empty,
}

impl Pack {
    /// True when a parsed message body is a pack (it has an `Objects` list).
    pub fn is_pack(value: &serde_json::Value) -> bool {
        value.get("Objects").is_some()
    }

    /// Reads a pack from a parsed body; every object is checked as a job is.
    pub fn from_value(value: serde_json::Value) -> Result<Self, PackError> {
        let wire: Wire = serde_json::from_value(value)?;
        if wire.objects.is_empty() {
            return Err(PackError::Empty);
        }
        let jobs = wire
            .objects
            .into_iter()
            .enumerate()
            .map(|(index, o)| {
                let mut fields = o.job;
                fields.insert("Src_bucket".into(), wire.src_bucket.clone().into());
                fields.insert("Des_bucket".into(), wire.des_bucket.clone().into());
                Job::from_value(serde_json::Value::Object(fields)).map_err(|source| PackError::Object { index, source })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Pack { jobs })
    }

    /// The message body. All jobs must be of one pair (as [`pack_jobs`] makes them).
    pub fn to_json(&self) -> String {
        let Some(first) = self.jobs.first() else {
            return String::new();
        };
        let objects = self
            .jobs
            .iter()
            .map(|j| {
                let mut job = match serde_json::to_value(j) {
                    Ok(serde_json::Value::Object(m)) => m,
                    _ => serde_json::Map::new(),
                };
                job.remove("Src_bucket");
                job.remove("Des_bucket");
                WireObject { job }
            })
            .collect();
        let wire = Wire { src_bucket: first.src_bucket.clone(), des_bucket: first.des_bucket.clone(), objects };
        // Strings and numbers always serialise.
        serde_json::to_string(&wire).unwrap_or_default()
    }
}

/// One queue message the jobsender sends: a single job or a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Single(Job),
    Pack(Pack),
}

impl Message {
    /// The message body.
    pub fn to_json(&self) -> String {
        match self {
            Message::Single(job) => job.to_json(),
            Message::Pack(pack) => pack.to_json(),
        }
    }

    /// The jobs the message carries.
    pub fn jobs(&self) -> &[Job] {
        match self {
            Message::Single(job) => std::slice::from_ref(job),
            Message::Pack(pack) => &pack.jobs,
        }
    }
}

/// How objects are packed: at most `max_objects` (1 sends every object alone) of at most
/// `max_size` bytes each, in bodies of at most `max_body_bytes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packing {
    pub max_objects: usize,
    pub max_size: u64,
    pub max_body_bytes: usize,
}

/// Bytes one job adds to a pack body (its JSON without the buckets, plus a comma).
fn packed_len(job: &Job) -> usize {
    job.to_json().len() - job.src_bucket.len() - job.des_bucket.len() - r#""Src_bucket":"","Des_bucket":"","#.len() + 1
}

/// Splits the jobs of one flush into messages: objects up to `max_size` into packs of one pair
/// (in listing order, each within the object and byte caps), larger ones alone. A pack of one
/// object is sent as a single job, in the original format.
pub fn pack_jobs(jobs: Vec<Job>, packing: Packing) -> Vec<Message> {
    let mut out = Vec::new();
    let mut open: Vec<Job> = Vec::new();
    let mut open_bytes = 0;
    let close = |open: &mut Vec<Job>, out: &mut Vec<Message>| match open.len() {
        0 => {}
        1 => out.push(Message::Single(open.remove(0))),
        _ => out.push(Message::Pack(Pack { jobs: std::mem::take(open) })),
    };
    // Envelope: `{"Src_bucket":"..","Des_bucket":"..","Objects":[]}`.
    let envelope = |j: &Job| 45 + j.src_bucket.len() + j.des_bucket.len();
    for job in jobs {
        if packing.max_objects <= 1 || job.size > packing.max_size {
            out.push(Message::Single(job));
            continue;
        }
        let len = packed_len(&job);
        let other_pair = open.first().is_some_and(|f| f.src_bucket != job.src_bucket || f.des_bucket != job.des_bucket);
        let full = open.len() >= packing.max_objects || open_bytes + len > packing.max_body_bytes;
        if other_pair || full {
            close(&mut open, &mut out);
        }
        if open.is_empty() {
            open_bytes = envelope(&job);
        }
        open_bytes += len;
        open.push(job);
    }
    close(&mut open, &mut out);
    out
}

/// Groups the unfinished objects of a pack, each with the delay before it may be tried again,
/// into the packs to send: one per distinct delay, in the order first met. A pack of one stays
/// a pack, so its `failures` keep counting.
pub fn regroup(unfinished: Vec<(Job, u64)>) -> Vec<(Pack, u64)> {
    let mut groups: Vec<(u64, Vec<Job>)> = Vec::new();
    for (job, delay) in unfinished {
        match groups.iter_mut().find(|(d, _)| *d == delay) {
            Some((_, jobs)) => jobs.push(job),
            None => groups.push((delay, vec![job])),
        }
    }
    groups.into_iter().map(|(delay, jobs)| (Pack { jobs }, delay)).collect()
}

#[cfg(test)]
mod tests;

/// First delay before a packed object that failed with a retryable error is tried again.
pub const FIRST_RETRY_DELAY_SECS: u64 = 30;
/// Longest delay SQS gives a message (SendMessage `DelaySeconds`).
pub const SQS_MAX_DELAY_SECS: u64 = 900;

/// What becomes of a packed object after a retryable error, its `failures` so far counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Sent again in a pack after this many seconds (doubling from 30 s, at most SQS's 900).
    Retry { delay_secs: u64 },
    /// Failed `max_failures` times: parked in the dead-letter queue with its reason.
    Park,
}

/// The decision for an object that has now failed `failures` times (this one included),
/// with `MaxReceiveCount` = `max_failures`: the same number of tries SQS's redrive policy gives
/// a single job.
pub fn after_failure(failures: u32, max_failures: u32) -> AfterFailure {
    if failures >= max_failures {
        return AfterFailure::Park;
    }
    let doubling = 1u64 << failures.saturating_sub(1).min(16);
    AfterFailure::Retry { delay_secs: (FIRST_RETRY_DELAY_SECS * doubling).min(SQS_MAX_DELAY_SECS) }
}
