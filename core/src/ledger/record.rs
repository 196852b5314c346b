//! One object's row in the ledger table, and its conversion to and from DynamoDB items.
//!
//! Attribute names follow the original project where it had them (`Key`, `desBucket`,
//! `desKey`, `versionId`, `Size`, `tryTimes`, `startTime`, `endTime`, `spentTime`).

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Attribute names.
pub mod attr {
    pub const KEY: &str = "Key";
    pub const DES_BUCKET: &str = "desBucket";
    pub const DES_KEY: &str = "desKey";
    pub const VERSION_ID: &str = "versionId";
    pub const SIZE: &str = "Size";
    pub const STATUS: &str = "status";
    pub const UPLOAD_ID: &str = "uploadId";
    pub const PART_SIZE: &str = "partSize";
    pub const ETAG: &str = "etag";
    pub const TRY_TIMES: &str = "tryTimes";
    pub const START_TIME: &str = "startTime";
    pub const END_TIME: &str = "endTime";
    pub const SPENT_TIME: &str = "spentTime";
    pub const BYTES: &str = "bytes";
    pub const REASON: &str = "reason";
    pub const QUEUED_TIME: &str = "queuedTime";
    pub const EXPIRE_AT: &str = "expireAt";
    pub const CHECKPOINT: &str = "checkpoint";
    pub const LEASE_UNTIL: &str = "leaseUntil";
    pub const OWNER: &str = "owner";
    pub const ARCHIVED: &str = "archived";
    pub const COMPLETING_ETAG: &str = "completingEtag";
    pub const SRC_MODIFIED: &str = "srcModified";
    pub const COMPLETING_AT: &str = "completingAt";
    pub const FAILED_UNCHANGED: &str = "failedUnchanged";
    pub const COPIED: &str = "copied";
    pub const FAILED: &str = "failed";
    pub const LAST_FAILURE: &str = "lastFailure";
    pub const LAST_FAILURE_KEY: &str = "lastFailureKey";
    pub const EQUAL: &str = "equal";
    pub const TO_COPY: &str = "toCopy";
    pub const BYTES_TO_COPY: &str = "bytesToCopy";
    pub const COPIED_AT_RUN: &str = "copiedAtRun";
    pub const FAILED_AT_RUN: &str = "failedAtRun";
    pub const LOOKED_AT: &str = "lookedAt";
    pub const DONE_AT_LOOK: &str = "doneAtLook";
    pub const SKIPPED: &str = "skipped";
    pub const SKIPPED_AT_RUN: &str = "skippedAtRun";
    pub const RUN_STARTED_AT: &str = "runStartedAt";
    pub const STEP: &str = "step";
    pub const CLAIMED_AT: &str = "claimedAt";
    pub const ENDED_STEP: &str = "endedStep";
    pub const HANDED_ON: &str = "handedOn";
    pub const HANDED_AT: &str = "handedAt";
}

/// Where an object stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Queued,
    InProgress,
    Done,
    Failed,
    Skipped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "QUEUED",
            Status::InProgress => "IN_PROGRESS",
            Status::Done => "DONE",
            Status::Failed => "FAILED",
            Status::Skipped => "SKIPPED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "QUEUED" => Status::Queued,
            "IN_PROGRESS" => Status::InProgress,
            "DONE" => Status::Done,
            "FAILED" => Status::Failed,
            "SKIPPED" => Status::Skipped,
            _ => return None,
        })
    }
}

/// What the ledger knows about one source object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectRecord {
    /// `src_bucket/src_key`.
    pub key: String,
    pub des_bucket: Option<String>,
    pub des_key: Option<String>,
    pub status: Option<Status>,
    /// Source size the record refers to.
    pub size: Option<u64>,
    /// Source version being copied (in progress) or copied (done).
    pub version_id: Option<String>,
    /// Source ETag being copied or copied.
    pub etag: Option<String>,
    /// Multipart upload in progress on the destination.
    pub upload_id: Option<String>,
    pub part_size: Option<u64>,
    pub try_times: u32,
    /// Seconds since the Unix epoch.
    pub start_time: Option<u64>,
    pub end_time: Option<u64>,
    pub spent_time: Option<u64>,
    pub bytes: Option<u64>,
    pub reason: Option<String>,
    /// When the jobsender last enqueued this object (seconds since the epoch).
    pub queued_time: Option<u64>,
    /// A running copy holds the object until this time (seconds since the epoch).
    pub lease_until: Option<u64>,
    /// Token of the copy holding the lease.
    pub owner: Option<String>,
    /// When the recorded upload was last sent CompleteMultipartUpload (seconds since the
    /// epoch), and the ETag S3 should then give the object when it is provable (see
    /// [`crate::ledger::Ledger::completing`]).
    pub completing_at: Option<u64>,
    pub completing_etag: Option<String>,
}

fn s(item: &Item, name: &str) -> Option<String> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

fn n(item: &Item, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// A string attribute value.
pub fn sv(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A number attribute value.
pub fn nv(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

impl ObjectRecord {
    /// Reads a record from an item; `None` when the item has no `Key`.
    pub fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            key: s(item, attr::KEY)?,
            des_bucket: s(item, attr::DES_BUCKET),
            des_key: s(item, attr::DES_KEY),
            status: s(item, attr::STATUS).as_deref().and_then(Status::parse),
            size: n(item, attr::SIZE),
            version_id: s(item, attr::VERSION_ID).filter(|v| v != crate::job::NULL_VERSION),
            etag: s(item, attr::ETAG).filter(|e| !e.is_empty()),
            upload_id: s(item, attr::UPLOAD_ID),
            part_size: n(item, attr::PART_SIZE),
            try_times: n(item, attr::TRY_TIMES).unwrap_or(0) as u32,
            start_time: n(item, attr::START_TIME),
            end_time: n(item, attr::END_TIME),
            spent_time: n(item, attr::SPENT_TIME),
            bytes: n(item, attr::BYTES),
            reason: s(item, attr::REASON),
            queued_time: n(item, attr::QUEUED_TIME),
            lease_until: n(item, attr::LEASE_UNTIL),
            owner: s(item, attr::OWNER),
            completing_at: n(item, attr::COMPLETING_AT),
            completing_etag: s(item, attr::COMPLETING_ETAG).filter(|e| !e.is_empty()),
        })
    }

    /// True when another copy (not `owner`) holds an unexpired lease at `now`.
    pub fn leased_by_other(&self, owner: &str, now: u64) -> bool {
        self.lease_until.is_some_and(|t| t > now) && self.owner.as_deref().is_some_and(|o| o != owner)
    }

    /// True when the jobsender enqueued this object less than `requeue_after` seconds ago (the
    /// queue's retention by default: its message may still exist) and no copy has finished
    /// since: the job is still in the queue or in progress. A copy run that started later
    /// (and may have handed the job on as a fresh message) counts as a later enqueue.
    pub fn queued_recently(&self, now: u64, requeue_after: u64) -> bool {
        let Some(queued) = self.queued_time else { return false };
        let last_message = self.start_time.map_or(queued, |started| started.max(queued));
        if now.saturating_sub(last_message) >= requeue_after {
            return false;
        }
        let finished = matches!(self.status, Some(Status::Done | Status::Failed | Status::Skipped));
        !(finished && self.end_time.is_some_and(|end| end >= queued))
    }

    /// With `JobsenderCompareVersionId`: true when the ledger recorded a DONE copy of another
    /// version than `latest`. No record, or no DONE, is no evidence of a difference.
    pub fn copied_other_version(&self, latest: Option<&str>) -> bool {
        self.status == Some(Status::Done) && self.version_id.as_deref() != latest
    }

    /// With `JobsenderCompareETag`: true when the ledger recorded a DONE copy of an object with
    /// another ETag than `listed` (a rewrite of the same size). No record, no DONE or no ETag on
    /// either side is no evidence of a difference.
    pub fn copied_other_etag(&self, listed: Option<&str>) -> bool {
        match (self.status, self.etag.as_deref(), listed) {
            (Some(Status::Done), Some(copied), Some(listed)) => copied != listed,
            _ => false,
        }
    }

    /// True when the object was copied at this size and version (or ETag when unversioned).
    pub fn is_done_for(&self, size: u64, version_id: Option<&str>, etag: Option<&str>) -> bool {
        self.status == Some(Status::Done) && self.describes(size, version_id, etag)
    }

    /// True when a copy of the object at this size and version (or ETag when unversioned)
    /// failed permanently: enqueueing it again would fail again, until the source changes.
    pub fn failed_for(&self, size: u64, version_id: Option<&str>, etag: Option<&str>) -> bool {
        self.status == Some(Status::Failed) && self.describes(size, version_id, etag)
    }

    /// True when the record's size and version (or ETag) are these.
    fn describes(&self, size: u64, version_id: Option<&str>, etag: Option<&str>) -> bool {
        if self.size != Some(size) {
            return false;
        }
        match (version_id, self.version_id.as_deref()) {
            (Some(v), Some(recorded)) => v == recorded,
            (Some(_), None) => false,
            (None, _) => etag.is_some() && etag == self.etag.as_deref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> Item {
        pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
    }

    #[test]
    fn reads_every_attribute() {
        let r = ObjectRecord::from_item(&item(&[
            (attr::KEY, sv("src/a")),
            (attr::DES_BUCKET, sv("des")),
            (attr::DES_KEY, sv("p/a")),
            (attr::STATUS, sv("IN_PROGRESS")),
            (attr::SIZE, nv(10)),
            (attr::VERSION_ID, sv("v1")),
            (attr::ETAG, sv("\"e\"")),
            (attr::UPLOAD_ID, sv("u")),
            (attr::PART_SIZE, nv(5)),
            (attr::TRY_TIMES, nv(2)),
            (attr::START_TIME, nv(100)),
            (attr::QUEUED_TIME, nv(90)),
        ]))
        .unwrap();
        assert_eq!(r.status, Some(Status::InProgress));
        assert_eq!((r.size, r.part_size, r.try_times), (Some(10), Some(5), 2));
        assert_eq!(r.upload_id.as_deref(), Some("u"));
        assert_eq!(r.version_id.as_deref(), Some("v1"));
        assert_eq!((r.start_time, r.queued_time), (Some(100), Some(90)));
    }

    #[test]
    fn null_version_and_missing_key() {
        let r = ObjectRecord::from_item(&item(&[(attr::KEY, sv("k")), (attr::VERSION_ID, sv("null"))])).unwrap();
        assert_eq!(r.version_id, None);
        assert!(ObjectRecord::from_item(&item(&[(attr::SIZE, nv(1))])).is_none());
    }

    #[test]
    fn lease_is_held_by_another_only_until_it_expires() {
        let r = ObjectRecord { key: "k".into(), lease_until: Some(100), owner: Some("a".into()), ..Default::default() };
        assert!(r.leased_by_other("b", 99));
        assert!(!r.leased_by_other("a", 99), "our own lease");
        assert!(!r.leased_by_other("b", 100), "expired");
        assert!(!ObjectRecord::default().leased_by_other("b", 0));
    }

    #[test]
    fn queued_recently_until_finished_or_old() {
        let q = ObjectRecord {
            key: "k".into(),
            queued_time: Some(1000),
            status: Some(Status::Queued),
            ..Default::default()
        };
        assert!(q.queued_recently(1500, 3600));
        assert!(!q.queued_recently(1000 + 3600, 3600), "old enough to enqueue again");
        let running = ObjectRecord { status: Some(Status::InProgress), ..q.clone() };
        assert!(running.queued_recently(1500, 3600));
        let done_after = ObjectRecord { status: Some(Status::Done), end_time: Some(1200), ..q.clone() };
        assert!(!done_after.queued_recently(1500, 3600), "finished since it was queued");
        let done_before = ObjectRecord { status: Some(Status::Done), end_time: Some(900), ..q.clone() };
        assert!(done_before.queued_recently(1500, 3600), "queued again after an older copy");
        assert!(!ObjectRecord::default().queued_recently(1500, 3600), "never queued");
        let handed_on = ObjectRecord { status: Some(Status::InProgress), start_time: Some(4000), ..q };
        assert!(handed_on.queued_recently(1000 + 3600, 3600), "a run at 4000 may have sent a fresh message");
        assert!(!handed_on.queued_recently(4000 + 3600, 3600));
    }

    #[test]
    fn other_version_only_with_a_done_record() {
        let done = ObjectRecord {
            key: "k".into(),
            status: Some(Status::Done),
            version_id: Some("v1".into()),
            ..Default::default()
        };
        assert!(!done.copied_other_version(Some("v1")));
        assert!(done.copied_other_version(Some("v2")));
        assert!(done.copied_other_version(None));
        let failed = ObjectRecord { status: Some(Status::Failed), ..done };
        assert!(!failed.copied_other_version(Some("v2")));
    }

    #[test]
    fn status_words_round_trip() {
        for st in [Status::Queued, Status::InProgress, Status::Done, Status::Failed, Status::Skipped] {
            assert_eq!(Status::parse(st.as_str()), Some(st));
        }
        assert_eq!(Status::parse("done"), None);
    }

    #[test]
    fn done_for_compares_size_and_version_or_etag() {
        let done = ObjectRecord {
            key: "k".into(),
            status: Some(Status::Done),
            size: Some(10),
            version_id: Some("v1".into()),
            etag: Some("e".into()),
            ..Default::default()
        };
        assert!(done.is_done_for(10, Some("v1"), None));
        assert!(!done.is_done_for(10, Some("v2"), None));
        assert!(!done.is_done_for(11, Some("v1"), None));
        assert!(done.is_done_for(10, None, Some("e")));
        assert!(!done.is_done_for(10, None, Some("f")));
        assert!(!done.is_done_for(10, None, None));
        let unversioned = ObjectRecord { version_id: None, ..done.clone() };
        assert!(!unversioned.is_done_for(10, Some("v1"), None));
        let failed = ObjectRecord { status: Some(Status::Failed), ..done };
        assert!(!failed.is_done_for(10, Some("v1"), None));
    }

    #[test]
    fn other_etag_only_with_a_done_record_and_both_etags() {
        let done = ObjectRecord {
            key: "k".into(),
            status: Some(Status::Done),
            etag: Some("\"a\"".into()),
            ..Default::default()
        };
        assert!(done.copied_other_etag(Some("\"b\"")), "rewritten at the same size");
        assert!(!done.copied_other_etag(Some("\"a\"")));
        assert!(!done.copied_other_etag(None), "the listing gave no ETag");
        assert!(!ObjectRecord { etag: None, ..done.clone() }.copied_other_etag(Some("\"b\"")), "none recorded");
        assert!(
            !ObjectRecord { status: Some(Status::Queued), ..done }.copied_other_etag(Some("\"b\"")),
            "not copied yet"
        );
    }

    #[test]
    fn failed_for_holds_until_the_source_changes() {
        let failed = ObjectRecord {
            key: "k".into(),
            status: Some(Status::Failed),
            size: Some(10),
            etag: Some("\"e\"".into()),
            ..Default::default()
        };
        assert!(failed.failed_for(10, None, Some("\"e\"")), "same size and ETag");
        assert!(!failed.failed_for(10, None, Some("\"f\"")), "rewritten at the same size");
        assert!(!failed.failed_for(11, None, Some("\"e\"")), "other size");
        assert!(!failed.failed_for(10, None, None), "unknown ETag proves nothing");
        assert!(!failed.failed_for(10, Some("v2"), Some("\"e\"")), "a version the record does not name");
        let versioned = ObjectRecord { version_id: Some("v1".into()), ..failed.clone() };
        assert!(versioned.failed_for(10, Some("v1"), None));
        assert!(!versioned.failed_for(10, Some("v2"), None));
        let done = ObjectRecord { status: Some(Status::Done), ..failed };
        assert!(!done.failed_for(10, None, Some("\"e\"")));
    }
}
