//! Per-pair bookkeeping of the jobsender: the last complete run's figures (for `status` and
//! `crate::backlog`), and the checkpoint of a run its time budget stopped.

use super::queued::QUEUE_RECORD_TTL_SECS;
use super::update::{Cond, Update};
use super::{attr, now_secs, nv, sv, Ledger, LedgerError, CHECKPOINT_PREFIX, PAIR_COUNTS_PREFIX};
use crate::ranges::Checkpoint;
use aws_sdk_dynamodb::types::AttributeValue;

/// A pair's figures from its last complete jobsender run (O(pairs) to read, for `status`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairCounts {
    /// Source objects in an archive storage class, not readable.
    pub archived: u64,
    /// Objects whose copy failed permanently and whose source has not changed.
    pub failed_unchanged: u64,
    /// When the run ended (seconds since the epoch).
    pub at: u64,
    /// Source objects already at the destination.
    pub equal: u64,
    /// Source objects to copy: enqueued by the run, or still queued from an earlier one.
    pub to_copy: u64,
    /// Their bytes (those the run enqueued).
    pub bytes_to_copy: u64,
    /// The bucket pair's [`crate::ledger::Progress::copied`] when the run started: what was
    /// copied since (its own jobs included, also those copied while it still listed) is the
    /// counter now less this.
    pub copied_at_run: u64,
    /// The counter's [`crate::ledger::Progress::failed`] when the run started.
    pub failed_at_run: u64,
    /// The last time a run looked at the pair (this run's end, or a later run that waited for
    /// its backlog), and the workers' finished count (copied + failed) then.
    pub looked_at: u64,
    pub done_at_look: u64,
}

impl PairCounts {
    /// What [`crate::backlog::backlog`] needs of it.
    pub fn last_run(&self) -> crate::backlog::LastRun {
        crate::backlog::LastRun {
            at: self.at,
            to_copy: self.to_copy,
            done_at_run: self.copied_at_run + self.failed_at_run,
            looked_at: self.looked_at,
            done_at_look: self.done_at_look,
        }
    }
}

impl Ledger {
    /// Saves what the last complete run of `pair` found that the object records do not show:
    /// archived objects (never enqueued, so never recorded) and unchanged failures.
    pub async fn set_pair_counts(&self, pair: &str, counts: PairCounts) -> Result<(), LedgerError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item(attr::KEY, sv(format!("{PAIR_COUNTS_PREFIX}{pair}")))
            .item(attr::ARCHIVED, nv(counts.archived))
            .item(attr::FAILED_UNCHANGED, nv(counts.failed_unchanged))
            .item(attr::END_TIME, nv(counts.at))
            .item(attr::EQUAL, nv(counts.equal))
            .item(attr::TO_COPY, nv(counts.to_copy))
            .item(attr::BYTES_TO_COPY, nv(counts.bytes_to_copy))
            .item(attr::COPIED_AT_RUN, nv(counts.copied_at_run))
            .item(attr::FAILED_AT_RUN, nv(counts.failed_at_run))
            .item(attr::LOOKED_AT, nv(counts.looked_at))
            .item(attr::DONE_AT_LOOK, nv(counts.done_at_look))
            .send()
            .await
            .map_err(|e| self.err("PutItem", e))?;
        Ok(())
    }

    /// What [`Ledger::set_pair_counts`] saved for `pair`, if a run completed.
    pub async fn pair_counts(&self, pair: &str) -> Result<Option<PairCounts>, LedgerError> {
        let item = self.item(&format!("{PAIR_COUNTS_PREFIX}{pair}")).await?;
        let n = |i: &super::Item, name: &str| match i.get(name) {
            Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
            _ => 0,
        };
        Ok(item.map(|i| PairCounts {
            archived: n(&i, attr::ARCHIVED),
            failed_unchanged: n(&i, attr::FAILED_UNCHANGED),
            at: n(&i, attr::END_TIME),
            equal: n(&i, attr::EQUAL),
            to_copy: n(&i, attr::TO_COPY),
            bytes_to_copy: n(&i, attr::BYTES_TO_COPY),
            copied_at_run: n(&i, attr::COPIED_AT_RUN),
            failed_at_run: n(&i, attr::FAILED_AT_RUN),
            // Saved by a release before backlogs were tracked: the run's end.
            looked_at: i.get(attr::LOOKED_AT).map_or(n(&i, attr::END_TIME), |_| n(&i, attr::LOOKED_AT)),
            done_at_look: n(&i, attr::DONE_AT_LOOK),
        }))
    }

    /// Records that a run looked at `pair` at `at` and waited for its backlog, the workers'
    /// finished count being `done` (the rest of the last complete run's figures stay).
    pub async fn set_pair_look(&self, pair: &str, at: u64, done: u64) -> Result<(), LedgerError> {
        let update =
            Update::new().set(attr::LOOKED_AT, nv(at)).set(attr::DONE_AT_LOOK, nv(done)).when(Cond::Exists(attr::KEY));
        update
            .apply(self.update(&format!("{PAIR_COUNTS_PREFIX}{pair}")))
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
