//! Whether a listed source object is sent as a job: the jobsender's admission, decided once
//! from the entry, how the merge-join left it, the ledger's record of it and the run's rules.
//! Pure; `jobsender/src/flush.rs` reads the records and does what the answer names.

use crate::archive::Access;
use crate::backlog::needs_queue_record;
use crate::diff::Entry;
use crate::ledger::{ObjectRecord, Status};

/// How the merge-join left an entry for admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    /// Missing at the destination, or of another size there.
    Differs,
    /// The same size at the destination: sent only if the ledger's copy was of another version
    /// (`JobsenderCompareVersionId`) or ETag (`JobsenderCompareETag`).
    SameSize,
}

/// What a run admits by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// `JobsenderCompareVersionId`.
    pub compare_versions: bool,
    /// `JobsenderCompareETag`.
    pub compare_etags: bool,
    /// `jobsender run --retry-failed`: send objects FAILED although unchanged.
    pub retry_failed: bool,
    /// `jobsender run --requeue-queued`, or an empty job queue: a queue record holds nothing back.
    pub requeue_queued: bool,
    /// `RequeueAfterSeconds`, or the queue's retention.
    pub requeue_after_secs: u64,
    /// When the pair's last complete run ended (`None`: no run on record).
    pub last_run_at: Option<u64>,
    /// Seconds since the epoch.
    pub now: u64,
}

/// What the ledger gets when a job is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueRecord {
    /// Nothing: no run can have sent it before (see [`needs_queue_record`]).
    None,
    /// A new queue record, written before the job is sent (the ledger has none).
    Create,
    /// The existing record marked queued after sending; its expiry refreshed only if the
    /// jobsender created it (still QUEUED), so a worker's evidence never expires.
    Mark { refresh_expiry: bool },
}

/// What becomes of one listed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The copy is of this version and ETag: nothing to do.
    Equal,
    /// In an archive tier, not readable now: counted (and restored when asked), never sent.
    Unreadable(Access),
    /// Its copy failed for good at this size, version and ETag: not sent until one changes.
    FailedUnchanged,
    /// Sent by an earlier run whose message may still exist.
    Queued,
    /// Sent as a job, with what its record gets.
    Send(QueueRecord),
}

/// Decides one listed object (see [`Admission`]).
pub fn admit(entry: &Entry, listed: Listed, record: Option<&ObjectRecord>, rules: &Rules) -> Admission {
    if listed == Listed::SameSize {
        let etag = entry.etag.as_deref().filter(|_| rules.compare_etags);
        let changed = record.is_some_and(|r| {
            (rules.compare_versions && r.copied_other_version(entry.version_id.as_deref())) || r.copied_other_etag(etag)
        });
        if !changed {
            return Admission::Equal;
        }
    }
    if entry.access != Access::Readable {
        return Admission::Unreadable(entry.access);
    }
    let (version, etag) = (entry.version_id.as_deref(), entry.etag.as_deref());
    match record {
        Some(r) if !rules.retry_failed && r.failed_for(entry.size, version, etag) => Admission::FailedUnchanged,
        Some(r) if !rules.requeue_queued && r.queued_recently(rules.now, rules.requeue_after_secs) => Admission::Queued,
        Some(r) => Admission::Send(QueueRecord::Mark { refresh_expiry: r.status == Some(Status::Queued) }),
        None if needs_queue_record(rules.last_run_at, entry.last_modified) => Admission::Send(QueueRecord::Create),
        None => Admission::Send(QueueRecord::None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Admission::*;
    use Listed::*;

    const NOW: u64 = 1_000_000;
    const DAYS4: u64 = 4 * 86_400;

    fn rules() -> Rules {
        Rules {
            compare_versions: false,
            compare_etags: true,
            retry_failed: false,
            requeue_queued: false,
            requeue_after_secs: DAYS4,
            last_run_at: Some(NOW - 3_600),
            now: NOW,
        }
    }

    fn entry() -> Entry {
        Entry { etag: Some("\"e1\"".into()), last_modified: Some(NOW - 7_200), ..Entry::new("k", 10) }
    }

    fn record(status: Status) -> ObjectRecord {
        ObjectRecord {
            key: "b/k".into(),
            status: Some(status),
            size: Some(10),
            etag: Some("\"e1\"".into()),
            version_id: Some("v1".into()),
            ..Default::default()
        }
    }

    /// What the row is, the entry, how it was listed, its record, the rules, the answer.
    type Row<'a> = (&'a str, &'a Entry, Listed, Option<&'a ObjectRecord>, &'a Rules, Admission);

    #[test]
    fn one_row_per_outcome() {
        let r = rules();
        let e = entry();
        let done = record(Status::Done);
        let rewritten = Entry { etag: Some("\"e2\"".into()), ..e.clone() };
        let other_version = Entry { version_id: Some("v2".into()), ..e.clone() };
        let failed = record(Status::Failed);
        let queued = ObjectRecord { queued_time: Some(NOW - 86_400), ..record(Status::Queued) };
        let queued_long_ago = ObjectRecord { queued_time: Some(NOW - DAYS4), ..queued.clone() };
        let archived = Entry { access: Access::Archived, ..e.clone() };
        let restoring = Entry { access: Access::Restoring, ..rewritten.clone() };
        let new_since = Entry { last_modified: Some(NOW - 60), ..e.clone() };
        let versions = Rules { compare_versions: true, ..r };
        let no_etags = Rules { compare_etags: false, ..r };
        let retry = Rules { retry_failed: true, ..r };
        let requeue = Rules { requeue_queued: true, ..r };
        let first_run = Rules { last_run_at: None, ..r };
        #[rustfmt::skip]
        let rows: &[Row] = &[
            ("same size, copied with this ETag", &e, SameSize, Some(&done), &r, Equal),
            ("same size, no record", &e, SameSize, None, &r, Equal),
            ("same size, rewritten (another ETag)", &rewritten, SameSize, Some(&done), &r, Send(QueueRecord::Mark { refresh_expiry: false })),
            ("same size, rewritten, ETags not compared", &rewritten, SameSize, Some(&done), &no_etags, Equal),
            ("same size, another version, versions compared", &other_version, SameSize, Some(&done), &versions, Send(QueueRecord::Mark { refresh_expiry: false })),
            ("same size, another version, versions not compared", &other_version, SameSize, Some(&done), &r, Equal),
            ("missing, archived", &archived, Differs, None, &r, Unreadable(Access::Archived)),
            ("rewritten, being restored", &restoring, SameSize, Some(&done), &r, Unreadable(Access::Restoring)),
            ("missing, failed unchanged", &e, Differs, Some(&failed), &r, FailedUnchanged),
            ("missing, failed unchanged, --retry-failed", &e, Differs, Some(&failed), &retry, Send(QueueRecord::Mark { refresh_expiry: false })),
            ("missing, failed at another ETag", &rewritten, Differs, Some(&failed), &r, Send(QueueRecord::Mark { refresh_expiry: false })),
            ("missing, queued a day ago", &e, Differs, Some(&queued), &r, Queued),
            ("missing, queued a day ago, --requeue-queued", &e, Differs, Some(&queued), &requeue, Send(QueueRecord::Mark { refresh_expiry: true })),
            ("missing, queued longer ago than the retention", &e, Differs, Some(&queued_long_ago), &r, Send(QueueRecord::Mark { refresh_expiry: true })),
            ("missing, no record, the last run may have sent it", &e, Differs, None, &r, Send(QueueRecord::Create)),
            ("missing, no record, modified since the last run", &new_since, Differs, None, &r, Send(QueueRecord::None)),
            ("missing, no record, first run", &e, Differs, None, &first_run, Send(QueueRecord::None)),
        ];
        for (what, entry, listed, record, rules, want) in rows {
            assert_eq!(admit(entry, *listed, *record, rules), *want, "{what}");
        }
    }
}
