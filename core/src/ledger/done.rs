//! Recording finished copies: one at a time with a conditional UpdateItem, or many at once
//! with BatchWriteItem (packs of small objects), both writing the same item.
//!
//! BatchWriteItem only puts whole items and takes no condition, so a batch write is made from
//! the item read at the start of the pack with the update applied in memory ([`done_item`]).
//! Records a worker is using (a multipart upload or an unexpired lease) are never put: they
//! are updated one by one as a single copy's are. What is left is the time between the read
//! and the write, seconds, in which only another copy of the same object can write; the worst
//! it can do is record the older of two copies, which the next jobsender run sees as a
//! changed ETag and copies again, never the reverse.

use super::update::{Cond, Update};
use super::{attr, now_secs, nv, sv, Item, Ledger, LedgerError, Status};
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};

/// Attributes a finished copy removes: upload, lease, failure reason, queue TTL, completion.
const CLEARED: [&str; 8] = [
    attr::UPLOAD_ID,
    attr::PART_SIZE,
    attr::REASON,
    attr::LEASE_UNTIL,
    attr::OWNER,
    attr::EXPIRE_AT,
    attr::COMPLETING_AT,
    attr::COMPLETING_ETAG,
];

/// A finished copy: what was copied where, and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// Ledger key of the source object.
    pub key: String,
    pub des_bucket: String,
    pub des_key: String,
    pub size: u64,
    pub version_id: Option<String>,
    pub etag: Option<String>,
    /// The source's Last-Modified (seconds), when known: a record of a newer source is kept.
    pub src_modified: Option<u64>,
    pub spent_secs: u64,
}

impl Done {
    /// The attributes a finished copy sets, at `now`.
    fn set(&self, now: u64) -> Vec<(&'static str, AttributeValue)> {
        let mut set = vec![
            (attr::STATUS, sv(Status::Done.as_str())),
            (attr::END_TIME, nv(now)),
            (attr::SPENT_TIME, nv(self.spent_secs)),
            (attr::BYTES, nv(self.size)),
            (attr::SIZE, nv(self.size)),
            (attr::VERSION_ID, sv(self.version_id.as_deref().unwrap_or(crate::job::NULL_VERSION))),
            (attr::ETAG, sv(self.etag.as_deref().unwrap_or(""))),
            (attr::DES_BUCKET, sv(&self.des_bucket)),
            (attr::DES_KEY, sv(&self.des_key)),
        ];
        if let Some(m) = self.src_modified {
            set.push((attr::SRC_MODIFIED, nv(m)));
        }
        set
    }
}

/// How a finished copy of a pack is recorded.
#[derive(Debug, Clone, PartialEq)]
pub enum DoneWrite {
    /// Put this whole item in a batch.
    Put(Item),
    /// A worker is using the record: update it with the conditional UpdateItem.
    Update,
    /// The record holds a copy of a newer source: leave it.
    Keep,
}

fn number(item: &Item, name: &str) -> Option<u64> {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

/// The conditional UpdateItem of [`Ledger::done`]: the copy's fields set, what a finished
/// record no longer needs removed, and, with the source's Last-Modified, only over a record of
/// the same or an older source.
pub(crate) fn done_update(done: &Done, now: u64) -> Update {
    let mut update = Update::new();
    if let Some(modified) = done.src_modified {
        update = update
            .when(Cond::Any(vec![Cond::Absent(attr::SRC_MODIFIED), Cond::AtMost(attr::SRC_MODIFIED, nv(modified))]));
    }
    for (name, value) in done.set(now) {
        update = update.set(name, value);
    }
    CLEARED.into_iter().fold(update, Update::remove)
}

/// What recording `done` over `old` (the item as read, `None` when there was none) comes to
/// at `now`: the item [`Ledger::done`] would leave, or why it must not be put blind.
pub fn done_item(old: Option<&Item>, done: &Done, now: u64) -> DoneWrite {
    let mut item = old.cloned().unwrap_or_default();
    let in_use = item.contains_key(attr::UPLOAD_ID) || number(&item, attr::LEASE_UNTIL).is_some_and(|l| l > now);
    if in_use {
        return DoneWrite::Update;
    }
    if let (Some(new), Some(recorded)) = (done.src_modified, number(&item, attr::SRC_MODIFIED)) {
        if recorded > new {
            return DoneWrite::Keep;
        }
    }
    for name in CLEARED {
        item.remove(name);
    }
    item.insert(attr::KEY.to_owned(), sv(&done.key));
    for (name, value) in done.set(now) {
        item.insert(name.to_owned(), value);
    }
    DoneWrite::Put(item)
}

impl Ledger {
    /// Records a finished copy. With the source's Last-Modified, only if no copy of a newer
    /// source was recorded meanwhile: the ledger always ends on the newest copy. False when
    /// one was.
    pub async fn done(&self, done: &Done) -> Result<bool, LedgerError> {
        let res = done_update(done, now_secs()).apply(self.update(&done.key)).send().await;
        self.updated(res)
    }

    /// Records the finished copies of a pack: each over the item read before it was copied
    /// (`None`: there was none), 25 to a BatchWriteItem; records in use are updated one by one
    /// and records of a newer source kept (see [`done_item`]). The number of records written.
    pub async fn done_many(&self, finished: &[(Option<Item>, Done)]) -> Result<usize, LedgerError> {
        let now = now_secs();
        let mut puts = Vec::new();
        let mut written = 0;
        for (old, done) in finished {
            match done_item(old.as_ref(), done, now) {
                DoneWrite::Put(item) => {
                    let put = PutRequest::builder()
                        .set_item(Some(item))
                        .build()
                        .map_err(|e| self.request_error("BatchWriteItem", e))?;
                    puts.push(WriteRequest::builder().put_request(put).build());
                }
                DoneWrite::Update => written += usize::from(self.done(done).await?),
                DoneWrite::Keep => {}
            }
        }
        written += puts.len();
        self.batch_write(puts, "records of finished copies").await?;
        Ok(written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(src_modified: Option<u64>) -> Done {
        Done {
            key: "src/k".into(),
            des_bucket: "des".into(),
            des_key: "p/k".into(),
            size: 7,
            version_id: None,
            etag: Some("\"e\"".into()),
            src_modified,
            spent_secs: 1,
        }
    }

    fn queued() -> Item {
        Item::from([
            (attr::KEY.to_owned(), sv("src/k")),
            (attr::STATUS.to_owned(), sv("QUEUED")),
            (attr::QUEUED_TIME.to_owned(), nv(100)),
            (attr::EXPIRE_AT.to_owned(), nv(900)),
            (attr::REASON.to_owned(), sv("old failure")),
            (attr::TRY_TIMES.to_owned(), nv(2)),
        ])
    }

    #[test]
    fn a_queued_record_becomes_done_keeping_what_the_update_keeps() {
        let DoneWrite::Put(item) = done_item(Some(&queued()), &done(Some(50)), 1000) else { panic!() };
        assert_eq!(item[attr::STATUS], sv("DONE"));
        assert_eq!(item[attr::VERSION_ID], sv("null"));
        assert_eq!(item[attr::ETAG], sv("\"e\""));
        assert_eq!(item[attr::SIZE], nv(7));
        assert_eq!(item[attr::BYTES], nv(7));
        assert_eq!(item[attr::END_TIME], nv(1000));
        assert_eq!(item[attr::SRC_MODIFIED], nv(50));
        assert_eq!((item[attr::DES_BUCKET].clone(), item[attr::DES_KEY].clone()), (sv("des"), sv("p/k")));
        assert_eq!(item[attr::QUEUED_TIME], nv(100), "what the update does not touch stays");
        assert_eq!(item[attr::TRY_TIMES], nv(2));
        for gone in [attr::EXPIRE_AT, attr::REASON] {
            assert!(!item.contains_key(gone), "{gone} is removed");
        }
    }

    #[test]
    fn no_record_gives_a_fresh_item() {
        let DoneWrite::Put(item) = done_item(None, &done(None), 5) else { panic!() };
        assert_eq!(item[attr::KEY], sv("src/k"));
        assert!(!item.contains_key(attr::SRC_MODIFIED));
        assert_eq!(item.len(), 10);
    }

    #[test]
    fn a_record_in_use_is_updated_not_put() {
        let mut upload = queued();
        upload.insert(attr::UPLOAD_ID.into(), sv("u"));
        assert_eq!(done_item(Some(&upload), &done(None), 1000), DoneWrite::Update);
        let mut leased = queued();
        leased.insert(attr::LEASE_UNTIL.into(), nv(1001));
        assert_eq!(done_item(Some(&leased), &done(None), 1000), DoneWrite::Update);
        leased.insert(attr::LEASE_UNTIL.into(), nv(1000));
        assert!(matches!(done_item(Some(&leased), &done(None), 1000), DoneWrite::Put(_)), "an expired lease");
    }

    #[test]
    fn a_record_of_a_newer_source_is_kept() {
        let mut newer = queued();
        newer.insert(attr::SRC_MODIFIED.into(), nv(60));
        assert_eq!(done_item(Some(&newer), &done(Some(50)), 1000), DoneWrite::Keep);
        assert!(matches!(done_item(Some(&newer), &done(Some(60)), 1000), DoneWrite::Put(_)), "the same source");
        assert!(matches!(done_item(Some(&newer), &done(None), 1000), DoneWrite::Put(_)), "unknown age");
    }
}
