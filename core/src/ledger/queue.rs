//! The jobsender's writes: objects enqueued, and checkpoints of unfinished pairs.

use super::{attr, now_secs, nv, sv, Ledger, LedgerError, Status, CHECKPOINT_PREFIX};
use crate::ranges::Checkpoint;
use aws_sdk_dynamodb::types::AttributeValue;

/// How long a queue record (and a checkpoint) lives unless a worker claims it: SQS keeps a
/// message at most 14 days, so a record older than that describes a job that no longer exists.
/// DynamoDB's TTL on `expireAt` removes it; the worker removes `expireAt` when it starts.
pub const QUEUE_RECORD_TTL_SECS: u64 = 14 * 86_400;

impl Ledger {
    /// Records that the jobsender enqueued an object now. A new record becomes QUEUED; an
    /// existing one keeps its status (a running copy stays IN_PROGRESS).
    pub async fn mark_queued(&self, key: &str, des_bucket: &str, des_key: &str, size: u64) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression(
                "SET #q = :q, #db = :db, #dk = :dk, #st = if_not_exists(#st, :queued), #size = if_not_exists(#size, :size), #exp = :exp",
            )
            .expression_attribute_names("#exp", attr::EXPIRE_AT)
            .expression_attribute_values(":exp", nv(now_secs() + QUEUE_RECORD_TTL_SECS))
            .expression_attribute_names("#q", attr::QUEUED_TIME)
            .expression_attribute_names("#db", attr::DES_BUCKET)
            .expression_attribute_names("#dk", attr::DES_KEY)
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_names("#size", attr::SIZE)
            .expression_attribute_values(":q", nv(now_secs()))
            .expression_attribute_values(":db", sv(des_bucket))
            .expression_attribute_values(":dk", sv(des_key))
            .expression_attribute_values(":queued", sv(Status::Queued.as_str()))
            .expression_attribute_values(":size", nv(size))
            .send()
            .await
            .map_err(|e| self.err("UpdateItem", e))?;
        Ok(())
    }

    /// The key ranges a jobsender run left unfinished for `pair`, if a run stopped early.
    pub async fn checkpoint(&self, pair: &str) -> Result<Option<Checkpoint>, LedgerError> {
        let item = self.item(&format!("{CHECKPOINT_PREFIX}{pair}")).await?;
        Ok(item.and_then(|i| match i.get(attr::CHECKPOINT) {
            Some(AttributeValue::S(v)) => Some(Checkpoint::decode(v)),
            _ => None,
        }))
    }

    /// Saves (`Some`) or clears (`None`) the checkpoint of `pair`.
    pub async fn set_checkpoint(&self, pair: &str, checkpoint: Option<&Checkpoint>) -> Result<(), LedgerError> {
        let key = format!("{CHECKPOINT_PREFIX}{pair}");
        let res = match checkpoint {
            Some(c) => self
                .client
                .put_item()
                .table_name(&self.table)
                .item(attr::KEY, sv(key))
                .item(attr::CHECKPOINT, sv(c.encode()))
                .item(attr::START_TIME, nv(now_secs()))
                .item(attr::EXPIRE_AT, nv(now_secs() + QUEUE_RECORD_TTL_SECS))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("PutItem", e)),
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(attr::KEY, sv(key))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("DeleteItem", e)),
        };
        res
    }
}
