//! Queue records: what the jobsender writes when it sends a job that a later run might
//! send again (see `crate::backlog`), and takes back when the job could not be sent.

use super::update::{Cond, Update};
use super::{attr, nv, sv, Ledger, LedgerError, Status};
use crate::job::Job;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};

/// How long a queue record (and a checkpoint) lives unless a worker claims it: SQS keeps a
/// message at most 14 days, so a record older than that describes a job that no longer exists.
/// DynamoDB's TTL on `expireAt` removes it; the worker removes `expireAt` when it starts.
pub const QUEUE_RECORD_TTL_SECS: u64 = 14 * 86_400;

impl Ledger {
    /// Records that the jobsender enqueued an object at `now` whose record it read. A record
    /// still QUEUED (one the jobsender created) gets a fresh expiry; any other keeps its status
    /// (a running copy stays IN_PROGRESS) and gets none: the evidence of a copy (DONE, FAILED,
    /// the version and ETag copied) must outlive a job that ends without a ledger write.
    pub async fn mark_queued(&self, job: &Job, read_as_queued: bool, now: u64) -> Result<(), LedgerError> {
        let key = job.ledger_key();
        if read_as_queued {
            let res = mark_update(job, now)
                .set(attr::EXPIRE_AT, nv(now + QUEUE_RECORD_TTL_SECS))
                .when(Cond::Eq(attr::STATUS, sv(Status::Queued.as_str())))
                .apply(self.update(&key))
                .send()
                .await;
            // Not applied: a worker took it up since it was read; marked below, with no expiry.
            if self.updated(res)? {
                return Ok(());
            }
        }
        mark_update(job, now).apply(self.update(&key)).send().await.map_err(|e| self.err("UpdateItem", e))?;
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

/// What [`Ledger::mark_queued`] sets on any record: never an expiry.
fn mark_update(job: &Job, now: u64) -> Update {
    Update::new()
        .set(attr::QUEUED_TIME, nv(now))
        .set(attr::DES_BUCKET, sv(&job.des_bucket))
        .set(attr::DES_KEY, sv(&job.des_key))
        .set_if_absent(attr::STATUS, sv(Status::Queued.as_str()))
        .set_if_absent(attr::SIZE, nv(job.size))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marking_a_known_record_queued_never_sets_an_expiry() {
        let job = Job {
            src_bucket: "b".into(),
            src_key: "k".into(),
            des_bucket: "d".into(),
            des_key: "k".into(),
            ..Default::default()
        };
        let u = mark_update(&job, 5);
        assert!(!u.names().values().any(|n| n == attr::EXPIRE_AT), "{}", u.update_expression());
        assert!(u.condition_expression().is_none());
    }
}
