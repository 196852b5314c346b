//! Per-pair bookkeeping of the jobsender: the last complete run's figures (for `status` and
//! `crate::backlog`), and the checkpoint of a run its time budget stopped.

use super::queued::QUEUE_RECORD_TTL_SECS;
use super::update::{Cond, Update};
use super::{attr, nv, sv, Ledger, LedgerError, CHECKPOINT_PREFIX, PAIR_COUNTS_PREFIX};
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
    /// The counter's [`crate::ledger::Progress::skipped`] when the run started.
    pub skipped_at_run: u64,
    /// When the run's first invocation started (0: saved by a release that kept no start).
    pub started_at: u64,
    /// The last time a run saw the workers' counters move (this run's end, or a later run that
    /// waited for its backlog), and their finished count (every ending) then.
    pub looked_at: u64,
    pub done_at_look: u64,
}

impl PairCounts {
    /// What [`crate::backlog::backlog`] needs of it.
    pub fn last_run(&self) -> crate::backlog::LastRun {
        crate::backlog::LastRun {
            started_at: self.started_at,
            at: self.at,
            to_copy: self.to_copy,
            done_at_run: self.copied_at_run + self.failed_at_run + self.skipped_at_run,
            looked_at: self.looked_at,
            done_at_look: self.done_at_look,
        }
    }

    /// The figures of a run whose first invocations saved `self` at their checkpoint, with
    /// what a later invocation found added (`more`'s counts; the start stays the first's).
    pub fn and(&self, more: &PairCounts) -> PairCounts {
        PairCounts {
            archived: self.archived + more.archived,
            failed_unchanged: self.failed_unchanged + more.failed_unchanged,
            equal: self.equal + more.equal,
            to_copy: self.to_copy + more.to_copy,
            bytes_to_copy: self.bytes_to_copy + more.bytes_to_copy,
            ..*self
        }
    }

    /// The item's attributes, under `key`.
    fn to_item(self, key: String) -> super::Item {
        [
            (attr::KEY, sv(key)),
            (attr::ARCHIVED, nv(self.archived)),
            (attr::FAILED_UNCHANGED, nv(self.failed_unchanged)),
            (attr::END_TIME, nv(self.at)),
            (attr::EQUAL, nv(self.equal)),
            (attr::TO_COPY, nv(self.to_copy)),
            (attr::BYTES_TO_COPY, nv(self.bytes_to_copy)),
            (attr::COPIED_AT_RUN, nv(self.copied_at_run)),
            (attr::FAILED_AT_RUN, nv(self.failed_at_run)),
            (attr::SKIPPED_AT_RUN, nv(self.skipped_at_run)),
            (attr::RUN_STARTED_AT, nv(self.started_at)),
            (attr::LOOKED_AT, nv(self.looked_at)),
            (attr::DONE_AT_LOOK, nv(self.done_at_look)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Read back from [`PairCounts::to_item`]'s attributes; absent ones are 0.
    fn from_item(i: &super::Item) -> PairCounts {
        let n = |name: &str| match i.get(name) {
            Some(AttributeValue::N(v)) => v.parse().unwrap_or(0),
            _ => 0,
        };
        PairCounts {
            archived: n(attr::ARCHIVED),
            failed_unchanged: n(attr::FAILED_UNCHANGED),
            at: n(attr::END_TIME),
            equal: n(attr::EQUAL),
            to_copy: n(attr::TO_COPY),
            bytes_to_copy: n(attr::BYTES_TO_COPY),
            copied_at_run: n(attr::COPIED_AT_RUN),
            failed_at_run: n(attr::FAILED_AT_RUN),
            skipped_at_run: n(attr::SKIPPED_AT_RUN),
            started_at: n(attr::RUN_STARTED_AT),
            // Saved by a release before backlogs were tracked: the run's end.
            looked_at: i.get(attr::LOOKED_AT).map_or(n(attr::END_TIME), |_| n(attr::LOOKED_AT)),
            done_at_look: n(attr::DONE_AT_LOOK),
        }
    }
}

/// A run its time budget stopped: the key ranges left, and its figures so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedRun {
    pub checkpoint: Checkpoint,
    /// What the run's invocations so far found, from its first invocation's start.
    pub so_far: PairCounts,
}

impl Ledger {
    /// Saves what the last complete run of `pair` found that the object records do not show:
    /// archived objects (never enqueued, so never recorded) and unchanged failures.
    pub async fn set_pair_counts(&self, pair: &str, counts: PairCounts) -> Result<(), LedgerError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(counts.to_item(format!("{PAIR_COUNTS_PREFIX}{pair}"))))
            .send()
            .await
            .map_err(|e| self.err("PutItem", e))?;
        Ok(())
    }

    /// What [`Ledger::set_pair_counts`] saved for `pair`, if a run completed.
    pub async fn pair_counts(&self, pair: &str) -> Result<Option<PairCounts>, LedgerError> {
        let item = self.item(&format!("{PAIR_COUNTS_PREFIX}{pair}")).await?;
        Ok(item.as_ref().map(PairCounts::from_item))
    }

    /// Records that a run looked at `pair` at `at`, saw the workers' counters moved to `done`,
    /// and waited for its backlog (the rest of the last complete run's figures stay).
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

    /// What a jobsender run left unfinished for `pair`, if its time budget stopped it.
    pub async fn checkpoint(&self, pair: &str) -> Result<Option<SavedRun>, LedgerError> {
        let item = self.item(&format!("{CHECKPOINT_PREFIX}{pair}")).await?;
        Ok(item.and_then(|i| match i.get(attr::CHECKPOINT) {
            Some(AttributeValue::S(v)) => {
                Some(SavedRun { checkpoint: Checkpoint::decode(v), so_far: PairCounts::from_item(&i) })
            }
            _ => None,
        }))
    }

    /// Saves (`Some`) or clears (`None`) what a run of `pair` left unfinished, at `now`.
    pub async fn set_checkpoint(&self, pair: &str, saved: Option<&SavedRun>, now: u64) -> Result<(), LedgerError> {
        let key = format!("{CHECKPOINT_PREFIX}{pair}");
        let res = match saved {
            Some(s) => {
                let mut item = s.so_far.to_item(key);
                item.insert(attr::CHECKPOINT.to_owned(), sv(s.checkpoint.encode()));
                item.insert(attr::START_TIME.to_owned(), nv(now));
                item.insert(attr::EXPIRE_AT.to_owned(), nv(now + QUEUE_RECORD_TTL_SECS));
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| self.err("PutItem", e))
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_back_as_saved_and_add_up_across_invocations() {
        let first = PairCounts {
            archived: 1,
            failed_unchanged: 2,
            at: 0,
            equal: 3,
            to_copy: 40,
            bytes_to_copy: 400,
            copied_at_run: 7,
            failed_at_run: 8,
            skipped_at_run: 9,
            started_at: 1_000,
            looked_at: 0,
            done_at_look: 0,
        };
        assert_eq!(PairCounts::from_item(&first.to_item("k".into())), first);
        let second = PairCounts { to_copy: 2, equal: 5, copied_at_run: 99, started_at: 2_000, ..Default::default() };
        let whole = first.and(&second);
        assert_eq!((whole.to_copy, whole.equal, whole.bytes_to_copy), (42, 8, 400));
        assert_eq!((whole.copied_at_run, whole.started_at), (7, 1_000), "counted from the first invocation's start");
        assert_eq!(whole.last_run().done_at_run, 24);
    }
}
