//! One batch of a range's decisions: the ledger asked once (versions copied, jobs already
//! queued or failed), the jobs made, packed and sent, and those that need it recorded as queued.

use crate::error::SendError;
use crate::run::{Batch, PairReport, RunOptions, Sender, MARKS_IN_FLIGHT};
use futures::StreamExt;
use s3_migrate_core::archive::{Access, ArchivedObjects};
use s3_migrate_core::backlog::needs_queue_record;
use s3_migrate_core::diff::{DestinationMapping, Entry};
use s3_migrate_core::ledger::Status;
use s3_migrate_core::pack::pack_jobs;
use s3_migrate_core::pairs::BucketPair;
use s3_migrate_core::Job;
use std::collections::HashSet;
use std::io::Write;
use tracing::warn;

impl Sender {
    pub(crate) async fn flush(
        &self,
        pair: &BucketPair,
        mapping: &DestinationMapping,
        batch: Batch,
        last_run_at: Option<u64>,
        report: &mut PairReport,
        opts: &RunOptions,
    ) -> Result<(), SendError> {
        let ledger_key = |e: &Entry| s3_migrate_core::job::object_key(&pair.src_bucket, &e.key);
        let mut candidates = batch.candidates;
        if !batch.version_checks.is_empty() {
            let keys: Vec<String> = batch.version_checks.iter().map(ledger_key).collect();
            let records = self.ledger.batch_get(&keys).await?;
            for e in batch.version_checks {
                let (version, etag) = (e.version_id.as_deref(), e.etag.as_deref().filter(|_| self.compare_etags));
                let changed = records.get(&ledger_key(&e)).is_some_and(|r| {
                    (self.compare_versions && r.copied_other_version(version)) || r.copied_other_etag(etag)
                });
                if changed {
                    candidates.push(e);
                } else {
                    report.equal += 1;
                }
            }
        }
        // Objects that cannot be read now are counted, and restored when asked, never enqueued.
        let (candidates, unreadable): (Vec<Entry>, Vec<Entry>) =
            candidates.into_iter().partition(|e| e.access == Access::Readable);
        report.archived += unreadable.len() as u64;
        if self.archived_objects == ArchivedObjects::Restore && !opts.dry_run {
            let frozen: Vec<&Entry> = unreadable.iter().filter(|e| e.access == Access::Archived).collect();
            report.restores_requested += self.request_restores(&pair.src_bucket, &frozen).await;
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = candidates.iter().map(ledger_key).collect();
        let records = self.ledger.batch_get(&keys).await?;
        let now = self.clock.now_secs();
        // New objects the last complete run may have enqueued too get queue records, so a later
        // run does not enqueue them a third time; the others need none (`backlog` module).
        let mut to_record: HashSet<String> = HashSet::new();
        let jobs: Vec<Job> = candidates
            .into_iter()
            .filter(|e| {
                let record = records.get(&ledger_key(e));
                let failed = !opts.retry_failed
                    && record.is_some_and(|r| r.failed_for(e.size, e.version_id.as_deref(), e.etag.as_deref()));
                let queued = !failed
                    && !opts.requeue_queued
                    && record.is_some_and(|r| r.queued_recently(now, self.requeue_after_secs));
                report.failed += u64::from(failed);
                report.already_queued += u64::from(queued);
                !failed && !queued
            })
            .inspect(|e| {
                if !records.contains_key(&ledger_key(e)) && needs_queue_record(last_run_at, e.last_modified) {
                    to_record.insert(ledger_key(e));
                }
            })
            .map(|e| Job {
                src_bucket: pair.src_bucket.clone(),
                des_bucket: pair.des_bucket.clone(),
                des_key: mapping.to_destination(&e.key),
                src_key: e.key,
                size: e.size,
                version_id: e.version_id,
                attempt: 0,
                etag: e.etag,
                checksum_algorithm: e.checksum_algorithm,
                failures: 0,
            })
            .collect();
        report.to_copy += jobs.len() as u64;
        report.bytes_to_copy += jobs.iter().map(|j| j.size).sum::<u64>();
        if let Some(out) = &opts.jobs_out {
            let mut w = out.lock().map_err(|_| std::io::Error::other("job list writer poisoned"))?;
            for j in &jobs {
                writeln!(w, "{}", j.to_json())?;
            }
        }
        if opts.dry_run || jobs.is_empty() {
            return Ok(());
        }
        // Objects the ledger has no record of get theirs (when they need one) in batches, before
        // their jobs exist (a put replaces the whole item, so it must not race a worker on one
        // of them); the others are updated one by one after sending, keeping what a worker wrote.
        let (known, new): (Vec<&Job>, Vec<&Job>) = jobs.iter().partition(|j| records.contains_key(&j.ledger_key()));
        let new: Vec<&Job> = new.into_iter().filter(|j| to_record.contains(&j.ledger_key())).collect();
        if let Err(e) = self.ledger.put_queued(&new, now).await {
            warn!(error = %e, "could not record some new jobs as queued");
        }
        // Only a record the jobsender created (still QUEUED) gets an expiry with its mark.
        let known: Vec<(Job, bool)> = known
            .into_iter()
            .map(|j| (j.clone(), records.get(&j.ledger_key()).is_some_and(|r| r.status == Some(Status::Queued))))
            .collect();
        let new_keys: HashSet<String> = new.iter().map(|j| j.ledger_key()).collect();
        match self.enqueuer.send_all(&pack_jobs(jobs, self.packing)).await {
            Ok(sent) => report.enqueued += sent as u64,
            Err(e) => {
                if let SendError::Enqueue { unsent, .. } = &e {
                    for key in unsent.iter().filter(|k| new_keys.contains(*k)) {
                        if let Err(e) = self.ledger.unmark_queued(key, now).await {
                            warn!(key = %key, error = %e, "could not take back the queue record of an unsent job");
                        }
                    }
                }
                return Err(e);
            }
        }
        let marks: Vec<_> = futures::stream::iter(known)
            .map(|(j, queued)| async move { self.ledger.mark_queued(&j, queued, now).await })
            .buffer_unordered(MARKS_IN_FLIGHT)
            .collect()
            .await;
        if let Some(Err(e)) = marks.into_iter().find(Result::is_err) {
            // The jobs are in the queue; without the mark a later run may enqueue them again,
            // which the worker skips cheaply. Worth a warning, not a failure.
            warn!(error = %e, "could not record some jobs as queued");
        }
        Ok(())
    }
}
