//! Queue records: what the jobsender writes when it sends a job that a later run might
//! send again (see `crate::backlog`), and takes back when the job could not be sent.

use super::update::{Cond, Update};
use super::{attr, now_secs, nv, sv, Ledger, LedgerError, Status};
use crate::job::Job;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

/// How long a queue record (and a checkpoint) lives unless a worker claims it: SQS keeps a
/// message at most 14 days, so a record older than that describes a job that no longer exists.
/// DynamoDB's TTL on `expireAt` removes it; the worker removes `expireAt` when it starts.
pub const QUEUE_RECORD_TTL_SECS: u64 = 14 * 86_400;

impl Ledger {
    /// Records that the jobsender enqueued an object now. A new record becomes QUEUED; an
    /// existing one keeps its status (a running copy stays IN_PROGRESS).
    pub async fn mark_queued(&self, key: &str, des_bucket: &str, des_key: &str, size: u64) -> Result<(), LedgerError> {
        let now = now_secs();
        let update = Update::new()
            .set(attr::QUEUED_TIME, nv(now))
            .set(attr::DES_BUCKET, sv(des_bucket))
            .set(attr::DES_KEY, sv(des_key))
            .set_if_absent(attr::STATUS, sv(Status::Queued.as_str()))
            .set_if_absent(attr::SIZE, nv(size))
            .set(attr::EXPIRE_AT, nv(now + QUEUE_RECORD_TTL_SECS));
        update.apply(self.update(key)).send().await.map_err(|e| self.err("UpdateItem", e))?;
        Ok(())
    }

    /// Creates the queue records of jobs whose objects the ledger has no record of, 25 to a
    /// BatchWriteItem instead of one UpdateItem each. A put replaces the whole item, so this is
    /// only for keys just read as absent and not yet enqueued (no worker of ours can hold
    /// them); `queued_at` is what [`Ledger::unmark_queued`] checks.
    pub async fn put_queued(&self, jobs: &[&Job], queued_at: u64) -> Result<(), LedgerError> {
        let mut puts: Vec<WriteRequest> = Vec::with_capacity(jobs.len());
        for j in jobs {
            let put = PutRequest::builder()
                .item(attr::KEY, sv(j.ledger_key()))
                .item(attr::QUEUED_TIME, nv(queued_at))
                .item(attr::DES_BUCKET, sv(&j.des_bucket))
                .item(attr::DES_KEY, sv(&j.des_key))
                .item(attr::STATUS, sv(Status::Queued.as_str()))
                .item(attr::SIZE, nv(j.size))
                .item(attr::EXPIRE_AT, nv(queued_at + QUEUE_RECORD_TTL_SECS))
                .build()
                .map_err(|e| self.request_error("BatchWriteItem", e))?;
            puts.push(WriteRequest::builder().put_request(put).build());
        }
        self.batch_write(puts, "queue records").await
    }

    /// Takes back a [`Ledger::put_queued`] record whose job could not be sent, so the next run
    /// enqueues it instead of waiting `RequeueAfterSeconds`. Only a record still exactly as put
    /// is removed.
    pub async fn unmark_queued(&self, key: &str, queued_at: u64) -> Result<(), LedgerError> {
        let only_as_put = Update::new()
            .when(Cond::Eq(attr::STATUS, sv(Status::Queued.as_str())))
            .when(Cond::Eq(attr::QUEUED_TIME, nv(queued_at)));
        let res = only_as_put
            .apply_to_delete(self.client.delete_item().table_name(&self.table).key(attr::KEY, sv(key)))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(()),
            Err(e) => Err(self.err("DeleteItem", e)),
        }
    }
}
