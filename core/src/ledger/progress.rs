//! Counters per bucket pair that workers add to as objects finish: one UpdateItem per pack,
//! per large object and per failure, so `jobsender status` reads a few items per pair and
//! never the whole table. They live in the ledger table under keys starting with `#`, which
//! no `bucket/key` can.

use super::update::Update;
use super::{attr, nv, sv, Ledger, LedgerError};
use aws_sdk_dynamodb::types::AttributeValue;

/// Key prefix of the progress counters.
const PROGRESS_PREFIX: &str = "#progress#";
/// Longest failure reason kept.
const REASON_CHARS: usize = 500;

/// What the workers have finished for one bucket pair, since the ledger table was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// Objects copied.
    pub copied: u64,
    /// Bytes of the objects copied.
    pub bytes: u64,
    /// Objects whose copy failed permanently, too often (a pack's object, or a message's last
    /// receive before the dead-letter queue), or whose job was refused and parked.
    pub failed: u64,
    /// Jobs that ended without a copy: already copied, source gone, superseded by a newer
    /// write, on the ignore list.
    pub skipped: u64,
    /// The last such failure: the source key and the reason.
    pub last_failure: Option<(String, String)>,
}

impl Progress {
    /// Every job that ended, however: what a backlog is measured against
    /// (`crate::backlog`).
    pub fn finished(&self) -> u64 {
        self.copied + self.failed + self.skipped
    }
}

/// The UpdateItem of [`Ledger::add_progress`]: atomic `ADD`s, and the last failure `SET`.
fn progress_update(add: &Progress) -> Update {
    let mut update = Update::new();
    if let Some((key, reason)) = &add.last_failure {
        let kept: String = reason.chars().take(REASON_CHARS).collect();
        update = update.set(attr::LAST_FAILURE_KEY, sv(key)).set(attr::LAST_FAILURE, sv(kept));
    }
    update = update.add(attr::COPIED, nv(add.copied)).add(attr::BYTES, nv(add.bytes)).add(attr::FAILED, nv(add.failed));
    // Only when there is one: the counters' item of an older release stays as it was.
    if add.skipped > 0 {
        update = update.add(attr::SKIPPED, nv(add.skipped));
    }
    update
}

/// The counters' key of a bucket pair.
fn progress_key(src_bucket: &str, des_bucket: &str) -> String {
    format!("{PROGRESS_PREFIX}{src_bucket}>{des_bucket}")
}

impl Ledger {
    /// Adds to the counters of `src_bucket` to `des_bucket` (atomic `ADD`s: any number of
    /// workers at once), and records the failure given as the last one.
    pub async fn add_progress(&self, src_bucket: &str, des_bucket: &str, add: &Progress) -> Result<(), LedgerError> {
        let update = progress_update(add);
        update
            .apply(self.update(&progress_key(src_bucket, des_bucket)))
            .send()
            .await
            .map_err(|e| self.err("UpdateItem", e))?;
        Ok(())
    }

    /// The counters of `src_bucket` to `des_bucket` (zero when nothing finished yet).
    pub async fn progress(&self, src_bucket: &str, des_bucket: &str) -> Result<Progress, LedgerError> {
        let Some(item) = self.item(&progress_key(src_bucket, des_bucket)).await? else {
            return Ok(Progress::default());
        };
        let n = |name: &str| match item.get(name) {
            Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
            _ => 0,
        };
        Ok(Progress {
            copied: n(attr::COPIED),
            bytes: n(attr::BYTES),
            failed: n(attr::FAILED),
            skipped: n(attr::SKIPPED),
            last_failure: match (item.get(attr::LAST_FAILURE_KEY), item.get(attr::LAST_FAILURE)) {
                (Some(AttributeValue::S(k)), Some(AttributeValue::S(r))) => Some((k.clone(), r.clone())),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_added_and_a_failure_is_set() {
        let copied = Progress { copied: 3, bytes: 30, ..Default::default() };
        assert_eq!(progress_update(&copied).update_expression(), "ADD #n0 :v0, #n1 :v1, #n2 :v2");
        let failed = Progress { failed: 1, last_failure: Some(("k".into(), "x".repeat(600))), ..Default::default() };
        let u = progress_update(&failed);
        assert_eq!(u.update_expression(), "SET #n0 = :v0, #n1 = :v1 ADD #n2 :v2, #n3 :v3, #n4 :v4");
        assert_eq!(u.values()[":v1"], sv("x".repeat(REASON_CHARS)), "the reason is cut");
        let skipped = Progress { skipped: 2, ..Default::default() };
        assert_eq!(progress_update(&skipped).update_expression(), "ADD #n0 :v0, #n1 :v1, #n2 :v2, #n3 :v3");
        assert_eq!(Progress { copied: 1, failed: 2, skipped: 3, ..Default::default() }.finished(), 6);
    }
}
