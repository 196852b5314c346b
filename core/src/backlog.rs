//! Whether a pair's last jobsender run still has jobs in the queue, and which jobs need a
//! queue record: decided from two items per pair (the last complete run's figures and the
//! workers' counters), instead of one ledger write per enqueued object.
//!
//! A queue record exists only to stop a later run from enqueuing an object again while its
//! message still waits. So:
//! - While the last complete run's jobs are still being copied (the workers' counters moved
//!   since the last look and have not reached the run's figure), the pair is not listed again
//!   ([`Backlog::Wait`]): its new objects would wait behind those jobs in the queue anyway.
//!   This is the original's rule (no new jobs while the queue is not empty), per pair.
//! - Otherwise the pair is listed and its jobs sent. An object the last complete run may have
//!   enqueued (listed as modified before that run ended) gets a queue record, so a third run
//!   does not enqueue it once more; an object modified since cannot have been enqueued by a run
//!   and needs none ([`needs_queue_record`]). A first run writes none.
//!
//! Nothing is skipped on an inference: an object is left out only by a queue record, or while
//! the whole pair waits for a backlog that is moving, for at most `RequeueAfterSeconds` (the
//! queue's retention: no message older than that can exist). A backlog that stops moving
//! (some of its messages parked or lost) is listed again at once, and what is missing enqueued.

/// How long a backlog may show no progress before it counts as stopped: twice the longest a
/// pack or part run lasts before its counters move (a Lambda invocation's limit, 900 s; a
/// retry's longest SQS delay is also 900 s).
pub const STALL_AFTER_SECS: u64 = 1_800;

/// What the pair's ledger items say about its last complete run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastRun {
    /// When it ended (seconds since the epoch). Runs that wait for its backlog do not move
    /// it, so a backlog is waited for at most `RequeueAfterSeconds` after it.
    pub at: u64,
    /// Jobs it enqueued or found still queued.
    pub to_copy: u64,
    /// The workers' finished count (copied + failed) when it started: all it enqueued is
    /// finished once the count is `to_copy` past this.
    pub done_at_run: u64,
    /// The last time a run looked (its end, or a later waiting run), and the count then.
    pub looked_at: u64,
    pub done_at_look: u64,
}

/// What a run does with a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backlog {
    /// No complete run on record, or its jobs are finished, stopped moving, or so old that
    /// their messages may be gone: list the pair.
    List,
    /// The last complete run's jobs are still being copied: do not list the pair now.
    Wait {
        /// Jobs of that run not finished yet (as far as the counters tell).
        left: u64,
    },
}

/// Decides from the last complete run, the workers' finished count now (copied + failed, for
/// the pair's buckets) and the time now. `requeue_after` is `RequeueAfterSeconds`.
///
/// The counters are per bucket pair and also count copies from S3 events or from other prefix
/// pairs of the same buckets: they can only make a backlog look finished early (the pair is
/// listed, and its objects still queued get records), never hold it longer.
pub fn backlog(last: Option<&LastRun>, done_now: u64, now: u64, requeue_after: u64) -> Backlog {
    let Some(last) = last else { return Backlog::List };
    let finished = done_now.saturating_sub(last.done_at_run);
    let left = last.to_copy.saturating_sub(finished);
    let expired = now >= last.at.saturating_add(requeue_after);
    let moving = done_now > last.done_at_look || now < last.looked_at.saturating_add(STALL_AFTER_SECS);
    if left == 0 || expired || !moving {
        Backlog::List
    } else {
        Backlog::Wait { left }
    }
}

/// Whether an object enqueued now (with no ledger record yet) needs a queue record: when the
/// last complete run (ended `last_run_at`; none on record: `None`) may have enqueued it too,
/// that is when it was modified before that run ended (`last_modified` in seconds, as listed;
/// unknown counts as before).
pub fn needs_queue_record(last_run_at: Option<u64>, last_modified: Option<u64>) -> bool {
    last_run_at.is_some_and(|end| last_modified.is_none_or(|m| m <= end))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: u64 = 3_600;
    const DAYS4: u64 = 4 * 86_400;

    /// A run that ended at `at` after enqueuing 100 jobs, with 1,000 finished before it.
    fn last(at: u64) -> LastRun {
        LastRun { at, to_copy: 100, done_at_run: 1_000, looked_at: at, done_at_look: 1_000 }
    }

    #[test]
    fn a_pair_never_run_is_listed_and_records_nothing() {
        assert_eq!(backlog(None, 0, 10, DAYS4), Backlog::List);
        assert!(!needs_queue_record(None, Some(5)));
        assert!(!needs_queue_record(None, None));
    }

    #[test]
    fn a_backlog_being_copied_is_waited_for() {
        let l = last(HOUR);
        // Moved since the run: 40 of its 100 jobs finished.
        assert_eq!(backlog(Some(&l), 1_040, 2 * HOUR, DAYS4), Backlog::Wait { left: 60 });
        // Not moved, but the run ended less than the stall time ago: the workers may not have
        // finished a pack yet.
        assert_eq!(backlog(Some(&l), 1_000, HOUR + STALL_AFTER_SECS - 1, DAYS4), Backlog::Wait { left: 100 });
    }

    #[test]
    fn a_finished_backlog_is_listed_again() {
        let l = last(HOUR);
        assert_eq!(backlog(Some(&l), 1_100, HOUR + 60, DAYS4), Backlog::List);
        // More finished than it enqueued (S3 events, other prefixes of the same buckets).
        assert_eq!(backlog(Some(&l), 5_000, HOUR + 60, DAYS4), Backlog::List);
        // A run that enqueued nothing.
        let none = LastRun { to_copy: 0, ..l };
        assert_eq!(backlog(Some(&none), 1_000, HOUR + 60, DAYS4), Backlog::List);
    }

    #[test]
    fn a_backlog_that_stopped_moving_is_listed_again() {
        let l = last(HOUR);
        assert_eq!(backlog(Some(&l), 1_000, HOUR + STALL_AFTER_SECS, DAYS4), Backlog::List);
        // It moved before a later waiting run looked, not since.
        let looked = LastRun { looked_at: 2 * HOUR, done_at_look: 1_050, ..l };
        assert_eq!(backlog(Some(&looked), 1_050, 2 * HOUR + 60, DAYS4), Backlog::Wait { left: 50 });
        assert_eq!(backlog(Some(&looked), 1_050, 2 * HOUR + STALL_AFTER_SECS, DAYS4), Backlog::List);
        assert_eq!(backlog(Some(&looked), 1_051, 3 * HOUR, DAYS4), Backlog::Wait { left: 49 });
    }

    #[test]
    fn a_backlog_older_than_the_queue_retention_is_listed_again() {
        let l = last(HOUR);
        // Still moving, but its first messages may have expired.
        assert_eq!(backlog(Some(&l), 1_050, HOUR + DAYS4 - 1, DAYS4), Backlog::Wait { left: 50 });
        assert_eq!(backlog(Some(&l), 1_050, HOUR + DAYS4, DAYS4), Backlog::List);
        // Waiting runs do not extend it: only a later look.
        let looked = LastRun { looked_at: 3 * HOUR, done_at_look: 1_040, ..l };
        assert_eq!(backlog(Some(&looked), 1_050, HOUR + DAYS4, DAYS4), Backlog::List);
    }

    #[test]
    fn objects_the_last_run_may_have_enqueued_get_records() {
        let ended = Some(1_000);
        assert!(needs_queue_record(ended, Some(999)));
        assert!(needs_queue_record(ended, Some(1_000)), "same second: may have been listed");
        assert!(needs_queue_record(ended, None), "unknown: may have been listed");
        assert!(!needs_queue_record(ended, Some(1_001)), "modified after the run ended");
    }
}
