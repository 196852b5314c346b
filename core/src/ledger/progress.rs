//! Counters per bucket pair that workers add to as objects finish: one UpdateItem per pack,
//! per large object and per failure, so `jobsender status` reads a few items per pair and
//! never the whole table. They live in the ledger table under keys starting with `#`, which
//! no `bucket/key` can.

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
    /// Objects whose copy failed permanently (or too often, in a pack).
    pub failed: u64,
    /// The last such failure: the source key and the reason.
    pub last_failure: Option<(String, String)>,
}

/// The counters' key of a bucket pair.
fn progress_key(src_bucket: &str, des_bucket: &str) -> String {
    format!("{PROGRESS_PREFIX}{src_bucket}>{des_bucket}")
}

impl Ledger {
    /// Adds to the counters of `src_bucket` to `des_bucket` (atomic `ADD`s: any number of
    /// workers at once), and records the failure given as the last one.
    pub async fn add_progress(&self, src_bucket: &str, des_bucket: &str, add: &Progress) -> Result<(), LedgerError> {
        let mut update = "ADD #c :c, #b :b, #f :f".to_owned();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(progress_key(src_bucket, des_bucket)))
            .expression_attribute_names("#c", attr::COPIED)
            .expression_attribute_names("#b", attr::BYTES)
            .expression_attribute_names("#f", attr::FAILED)
            .expression_attribute_values(":c", nv(add.copied))
            .expression_attribute_values(":b", nv(add.bytes))
            .expression_attribute_values(":f", nv(add.failed));
        if let Some((key, reason)) = &add.last_failure {
            update = format!("SET #lk = :lk, #lf = :lf {update}");
            let kept: String = reason.chars().take(REASON_CHARS).collect();
            req = req
                .expression_attribute_names("#lk", attr::LAST_FAILURE_KEY)
                .expression_attribute_values(":lk", sv(key))
                .expression_attribute_names("#lf", attr::LAST_FAILURE)
                .expression_attribute_values(":lf", sv(kept));
        }
        req.update_expression(update).send().await.map_err(|e| self.err("UpdateItem", e))?;
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
            last_failure: match (item.get(attr::LAST_FAILURE_KEY), item.get(attr::LAST_FAILURE)) {
                (Some(AttributeValue::S(k)), Some(AttributeValue::S(r))) => Some((k.clone(), r.clone())),
                _ => None,
            },
        })
    }
}
