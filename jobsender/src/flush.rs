//! One batch of a range's decisions: the ledger asked once for all its keys, each object
//! admitted or not (`s3_migrate_core::admit`, pure), the jobs made, packed and sent, and the
//! queue records written as the admission names them.

use crate::error::SendError;
use crate::run::{Batch, PairReport, RunOptions, Sender, MARKS_IN_FLIGHT};
use futures::StreamExt;
use s3_migrate_core::admit::{admit, Admission, Listed, QueueRecord, Rules};
use s3_migrate_core::archive::{Access, ArchivedObjects};
use s3_migrate_core::diff::{DestinationMapping, Entry};
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
        let listed: Vec<(Entry, Listed)> = batch
            .candidates
            .into_iter()
            .map(|e| (e, Listed::Differs))
            .chain(batch.version_checks.into_iter().map(|e| (e, Listed::SameSize)))
            .collect();
        if listed.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = listed.iter().map(|(e, _)| ledger_key(e)).collect();
        let records = self.ledger.batch_get(&keys).await?;
        let now = self.clock.now_secs();
        let rules = Rules {
            compare_versions: self.compare_versions,
            compare_etags: self.compare_etags,
            retry_failed: opts.retry_failed,
            requeue_queued: opts.requeue_queued,
            requeue_after_secs: self.requeue_after_secs,
            last_run_at,
            now,
        };
        let mut jobs = Vec::new();
        let mut frozen = Vec::new();
        // Jobs whose new queue record is written before they are sent, and known records
        // marked after (with a fresh expiry or none).
        let mut to_create: HashSet<String> = HashSet::new();
        let mut to_mark: Vec<(Job, bool)> = Vec::new();
        for (e, how) in listed {
            match admit(&e, how, records.get(&ledger_key(&e)), &rules) {
                Admission::Equal => report.equal += 1,
                Admission::Unreadable(access) => {
                    report.archived += 1;
                    if access == Access::Archived {
                        frozen.push(e);
                    }
                }
                Admission::FailedUnchanged => report.failed += 1,
                Admission::Queued => report.already_queued += 1,
                Admission::Send(record) => {
                    let job = job_of(pair, mapping, e);
                    match record {
                        QueueRecord::None => {}
                        QueueRecord::Create => {
                            to_create.insert(job.ledger_key());
                        }
                        QueueRecord::Mark { refresh_expiry } => to_mark.push((job.clone(), refresh_expiry)),
                    }
                    jobs.push(job);
                }
            }
        }
        // Objects that cannot be read now are counted, and restored when asked, never enqueued.
        if self.archived_objects == ArchivedObjects::Restore && !opts.dry_run && !frozen.is_empty() {
            let frozen: Vec<&Entry> = frozen.iter().collect();
            report.restores_requested += self.request_restores(&pair.src_bucket, &frozen).await;
        }
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
        // New records in batches before their jobs exist (a put replaces the whole item, so it
        // must not race a worker on one of them); the others updated one by one after sending,
        // keeping what a worker wrote.
        let new: Vec<&Job> = jobs.iter().filter(|j| to_create.contains(&j.ledger_key())).collect();
        if let Err(e) = self.ledger.put_queued(&new, now).await {
            warn!(error = %e, "could not record some new jobs as queued");
        }
        match self.enqueuer.send_all(&pack_jobs(jobs, self.packing)).await {
            Ok(sent) => report.enqueued += sent as u64,
            Err(e) => {
                if let SendError::Enqueue { unsent, .. } = &e {
                    for key in unsent.iter().filter(|k| to_create.contains(*k)) {
                        if let Err(e) = self.ledger.unmark_queued(key, now).await {
                            warn!(key = %key, error = %e, "could not take back the queue record of an unsent job");
                        }
                    }
                }
                return Err(e);
            }
        }
        let marks: Vec<_> = futures::stream::iter(to_mark)
            .map(|(j, refresh)| async move { self.ledger.mark_queued(&j, refresh, now).await })
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

/// The job of a listed source object of `pair`.
fn job_of(pair: &BucketPair, mapping: &DestinationMapping, e: Entry) -> Job {
    Job {
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
    }
}
