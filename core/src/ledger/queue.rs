//! The jobsender's writes: objects enqueued, and checkpoints of unfinished pairs.

use super::{attr, now_secs, nv, sv, Ledger, LedgerError, Status, CHECKPOINT_PREFIX};
use aws_sdk_dynamodb::types::AttributeValue;

impl Ledger {
    /// Records that the jobsender enqueued an object now. A new record becomes QUEUED; an
    /// existing one keeps its status (a running copy stays IN_PROGRESS).
    pub async fn mark_queued(&self, key: &str, des_bucket: &str, des_key: &str, size: u64) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression("SET #q = :q, #db = :db, #dk = :dk, #st = if_not_exists(#st, :queued), #size = if_not_exists(#size, :size)")
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

    /// The last source key a jobsender run compared for `pair`, if a run stopped early.
    pub async fn checkpoint(&self, pair: &str) -> Result<Option<String>, LedgerError> {
        let item = self.item(&format!("{CHECKPOINT_PREFIX}{pair}")).await?;
        Ok(item.and_then(|i| match i.get(attr::CHECKPOINT) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        }))
    }

    /// Saves (`Some`) or clears (`None`) the checkpoint of `pair`.
    pub async fn set_checkpoint(&self, pair: &str, last_key: Option<&str>) -> Result<(), LedgerError> {
        let key = format!("{CHECKPOINT_PREFIX}{pair}");
        let res = match last_key {
            Some(last) => self
                .client
                .put_item()
                .table_name(&self.table)
                .item(attr::KEY, sv(key))
                .item(attr::CHECKPOINT, sv(last))
                .item(attr::START_TIME, nv(now_secs()))
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
