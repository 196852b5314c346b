//! Whether a pair's last jobsender run still has jobs in the queue, and which jobs need a
//! queue record: decided from the job queue's depth and two items per pair (the last complete
//! run's figures and the workers' counters), instead of one ledger write per enqueued object.
//!
//! A queue record exists only to stop a later run from enqueuing an object again while its
//! message still waits. So:
//! - An empty job queue (no visible, in-flight or delayed message, read once per run from
//!   SQS) means no backlog: every pair is listed, and no queue record can name a message that
//!   still exists. This is the original's own rule.
//! - Otherwise, while the last complete run's jobs are still being copied (the workers'
//!   counters moved since the last look and have not reached the run's figure), the pair is
//!   not listed again ([`Backlog::Wait`]): its new objects would wait behind those jobs anyway.
//!   Every way a job ends counts (copied, failed, or ended without a copy: see
//!   `ledger::Progress`), so a drained backlog is never waited for.
//! - A backlog that shows no movement for [`STALL_AFTER_SECS`] (messages parked or lost, no
//!   worker running) is listed again: only a look that saw the counters move restarts that
//!   clock ([`Backlog::Wait::moved`]), so runs every few minutes still see a stall.
//! - Otherwise the pair is listed and its jobs sent. An object the last complete run may have
//!   enqueued (listed as modified before that run ended) gets a queue record, so a third run
//!   does not enqueue it once more; an object modified since cannot have been enqueued by a run
//!   and needs none ([`needs_queue_record`]). A first run writes none.
//!
//! Nothing is skipped on an inference: an object is left out only by a queue record, or while
//! the whole pair waits for a backlog that is moving, for at most `RequeueAfterSeconds` after
//! that run started (the queue's retention: no message older than that can exist).

/// How long a backlog may show no progress before it counts as stopped: twice the longest a
/// pack or part run lasts before its counters move (a Lambda invocation's limit, 900 s; a
/// retry's longest SQS delay is also 900 s).
pub const STALL_AFTER_SECS: u64 = 1_800;

/// What the pair's ledger items say about its last complete run (of one or more invocations).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LastRun {
    /// When its first invocation started (seconds since the epoch): its oldest message is no
    /// older, so it is waited for at most `RequeueAfterSeconds` after this.
    pub started_at: u64,
    /// When it ended.
    pub at: u64,
    /// Jobs it enqueued or found still queued, over all its invocations.
    pub to_copy: u64,
    /// The workers' finished count (every ending) when it started: all it enqueued is
    /// finished once the count is `to_copy` past this.
    pub done_at_run: u64,
    /// The last time a run saw the counters move (or the run's end), and the count then.
    pub looked_at: u64,
    pub done_at_look: u64,
}

/// What a run sees as it starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Seen {
    /// The workers' finished count now, for the pair's buckets (every way a job ends).
    pub done: u64,
    /// Seconds since the epoch.
    pub at: u64,
    /// The job queue has no visible, in-flight or delayed message.
    pub queue_empty: bool,
}

/// What a run does with a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backlog {
    /// The queue is empty, no complete run is on record, or its jobs are finished, stopped
    /// moving, or so old that their messages may be gone: list the pair.
    List,
    /// The last complete run's jobs are still being copied: do not list the pair now.
    Wait {
        /// Jobs of that run not finished yet (as far as the counters tell).
        left: u64,
        /// The counters moved since the last look: record this look (it restarts the stall
        /// clock). A look that saw no movement is not recorded.
        moved: bool,
    },
}

/// Decides from the last complete run and what the run sees now. `requeue_after` is
/// `RequeueAfterSeconds`.
///
/// The counters are per bucket pair and also count copies from S3 events or from other prefix
/// pairs of the same buckets: they can only make a backlog look finished early (the pair is
/// listed, and its objects still queued get records), never hold it longer.
pub fn backlog(last: Option<&LastRun>, seen: Seen, requeue_after: u64) -> Backlog {
    let Some(last) = last.filter(|_| !seen.queue_empty) else { return Backlog::List };
    let finished = seen.done.saturating_sub(last.done_at_run);
    let left = last.to_copy.saturating_sub(finished);
    let oldest = if last.started_at > 0 { last.started_at.min(last.at) } else { last.at };
    let expired = seen.at >= oldest.saturating_add(requeue_after);
    let moved = seen.done > last.done_at_look;
    let stalled = !moved && seen.at >= last.looked_at.saturating_add(STALL_AFTER_SECS);
    if left == 0 || expired || stalled {
        Backlog::List
    } else {
        Backlog::Wait { left, moved }
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
    const MIN: u64 = 60;
    const DAYS4: u64 = 4 * 86_400;

    /// A run that ended at `at` after enqueuing 100 jobs, with 1,000 finished before it.
    fn last(at: u64) -> LastRun {
        LastRun { started_at: at - MIN, at, to_copy: 100, done_at_run: 1_000, looked_at: at, done_at_look: 1_000 }
    }

    /// What a run sees at `at` with `done` finished and jobs in the queue.
    fn busy(done: u64, at: u64) -> Seen {
        Seen { done, at, queue_empty: false }
    }

    #[test]
    fn a_pair_never_run_is_listed_and_records_nothing() {
        assert_eq!(backlog(None, busy(0, 10), DAYS4), Backlog::List);
        assert!(!needs_queue_record(None, Some(5)));
        assert!(!needs_queue_record(None, None));
    }

    #[test]
    fn a_backlog_being_copied_is_waited_for() {
        let l = last(HOUR);
        // Moved since the run: 40 of its 100 jobs finished.
        assert_eq!(backlog(Some(&l), busy(1_040, 2 * HOUR), DAYS4), Backlog::Wait { left: 60, moved: true });
        // Not moved, but the run ended less than the stall time ago: the workers may not have
        // finished a pack yet. Nothing to record.
        assert_eq!(
            backlog(Some(&l), busy(1_000, HOUR + STALL_AFTER_SECS - 1), DAYS4),
            Backlog::Wait { left: 100, moved: false }
        );
    }

    #[test]
    fn an_empty_queue_lists_the_pair_whatever_the_counters_say() {
        let l = last(HOUR);
        // One job ended in a way nothing counted (say a message lost): the counters are one
        // short, but the queue holds nothing of this run.
        let seen = Seen { done: 1_099, at: HOUR + MIN, queue_empty: true };
        assert_eq!(backlog(Some(&l), seen, DAYS4), Backlog::List);
        assert_eq!(
            backlog(Some(&l), Seen { queue_empty: false, ..seen }, DAYS4),
            Backlog::Wait { left: 1, moved: true }
        );
    }

    #[test]
    fn a_finished_backlog_is_listed_again() {
        let l = last(HOUR);
        assert_eq!(backlog(Some(&l), busy(1_100, HOUR + 60), DAYS4), Backlog::List);
        // More finished than it enqueued (S3 events, other prefixes of the same buckets).
        assert_eq!(backlog(Some(&l), busy(5_000, HOUR + 60), DAYS4), Backlog::List);
        // A run that enqueued nothing.
        let none = LastRun { to_copy: 0, ..l };
        assert_eq!(backlog(Some(&none), busy(1_000, HOUR + 60), DAYS4), Backlog::List);
    }

    #[test]
    fn a_backlog_that_stopped_moving_is_listed_again() {
        let l = last(HOUR);
        assert_eq!(backlog(Some(&l), busy(1_000, HOUR + STALL_AFTER_SECS), DAYS4), Backlog::List);
        // It moved before a later waiting run looked, not since.
        let looked = LastRun { looked_at: 2 * HOUR, done_at_look: 1_050, ..l };
        assert_eq!(backlog(Some(&looked), busy(1_050, 2 * HOUR + 60), DAYS4), Backlog::Wait { left: 50, moved: false });
        assert_eq!(backlog(Some(&looked), busy(1_050, 2 * HOUR + STALL_AFTER_SECS), DAYS4), Backlog::List);
        assert_eq!(backlog(Some(&looked), busy(1_051, 3 * HOUR), DAYS4), Backlog::Wait { left: 49, moved: true });
    }

    /// Runs every ten minutes over a backlog that never moves: none of them restarts the stall
    /// clock (a look that saw nothing move is not recorded), so the pair is listed 30 minutes
    /// after the last movement, not never.
    #[test]
    fn looks_every_ten_minutes_do_not_hide_a_stall() {
        let mut l = last(HOUR);
        let mut listed_at = None;
        for step in 1..=6 {
            let at = HOUR + step * 10 * MIN;
            match backlog(Some(&l), busy(1_000, at), DAYS4) {
                Backlog::List => {
                    listed_at = Some(at);
                    break;
                }
                Backlog::Wait { moved, .. } => {
                    if moved {
                        l = LastRun { looked_at: at, done_at_look: 1_000, ..l };
                    }
                }
            }
        }
        assert_eq!(listed_at, Some(HOUR + STALL_AFTER_SECS));
    }

    #[test]
    fn a_backlog_older_than_the_queue_retention_is_listed_again() {
        let l = last(HOUR);
        let started = l.started_at;
        // Still moving, but its first messages (sent from its start) may have expired.
        assert_eq!(backlog(Some(&l), busy(1_050, started + DAYS4 - 1), DAYS4), Backlog::Wait { left: 50, moved: true });
        assert_eq!(backlog(Some(&l), busy(1_050, started + DAYS4), DAYS4), Backlog::List);
        // Waiting runs do not extend it: only a later look.
        let looked = LastRun { looked_at: 3 * HOUR, done_at_look: 1_040, ..l };
        assert_eq!(backlog(Some(&looked), busy(1_050, started + DAYS4), DAYS4), Backlog::List);
        // A record of a release that kept no start: its end bounds it.
        let old = LastRun { started_at: 0, ..l };
        assert_eq!(backlog(Some(&old), busy(1_050, HOUR + DAYS4 - 1), DAYS4), Backlog::Wait { left: 50, moved: true });
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
