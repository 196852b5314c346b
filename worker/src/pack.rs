//! A pack of small objects (`s3_migrate_core::pack`): their records read in one BatchGetItem,
//! the objects copied concurrently (`MaxParallelFile`), the finished ones recorded 25 to a
//! BatchWriteItem, and the message consumed. What is not finished is sent again on its own:
//! objects the time budget left unstarted or cut, and objects that failed with a retryable
//! error (their `failures` counted, after a backoff); an object that failed permanently or
//! `MaxReceiveCount` times is parked alone in the dead-letter queue with its reason. One bad
//! object never holds its neighbours back, and nothing is dropped: if any of this cannot be
//! sent or recorded, the whole message comes back, and what was copied is then skipped.

use crate::copy::Packed;
use crate::error::MessageError;
use crate::message::{End, Processor};
use futures::StreamExt;
use s3_migrate_core::ledger::{Item, ObjectRecord, Progress};
use s3_migrate_core::pack::{after_failure, regroup, AfterFailure, Pack};
use s3_migrate_core::Job;
use std::time::Instant;
use tracing::{error, info, info_span, warn, Instrument};

impl Processor {
    /// Works one pack until `deadline`; Err when the message must come back.
    pub(crate) async fn copy_pack(&self, pack: Pack, deadline: Option<Instant>) -> Result<(), MessageError> {
        let total = pack.jobs.len();
        // A pack is of one bucket pair.
        let buckets = pack.jobs.first().map(|j| (j.src_bucket.clone(), j.des_bucket.clone())).unwrap_or_default();
        let mut parked: Vec<(Job, String)> = Vec::new();
        // Objects that end without a copy or a failure: counted with the pack's copies.
        let mut skipped = 0u64;
        let mut todo = Vec::with_capacity(total);
        let mut seen = std::collections::HashSet::new();
        for job in pack.jobs {
            // An object named twice is copied once (and BatchWriteItem refuses a key twice).
            if !seen.insert(job.ledger_key()) {
                info!(key = %job.src_key, "named twice in the pack, copied once");
                continue;
            }
            if self.ignore.is_ignored(&job.src_bucket, &job.src_key) {
                info!(bucket = %job.src_bucket, key = %job.src_key, "on the ignore list, nothing to do");
                skipped += 1;
                continue;
            }
            match self.scope.check_job(&job) {
                Ok(()) => todo.push(job),
                Err(out) => {
                    error!(reason = %out, key = %job.src_key, "job refused");
                    self.count_failure(&job, &format!("refused: {out}")).await;
                    parked.push((job, out.to_string()));
                }
            }
        }
        let keys: Vec<String> = todo.iter().map(Job::ledger_key).collect();
        let records = self.copier.ledger.batch_get_items(&keys, true).await?;
        let ends: Vec<(Job, Option<Item>, End)> = futures::stream::iter(todo)
            .map(|job| {
                let old = records.get(&job.ledger_key()).cloned();
                async move {
                    let _slot = self.file_slot().await;
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        // Not started: sent again as it is.
                        let again = End::Again { job: job.clone(), delay: 0, why: "time budget reached" };
                        return (job, old, again);
                    }
                    let packed = Packed { record: old.as_ref().and_then(ObjectRecord::from_item) };
                    let span = info_span!("object", bucket = %job.src_bucket, key = %job.src_key);
                    let end = self.copy_end(&job, deadline, Some(&packed)).instrument(span).await;
                    (job, old, end)
                }
            })
            .buffer_unordered(self.copier.cfg.max_parallel_file)
            .collect()
            .await;
        let mut finished = Vec::new();
        let mut again = Vec::new();
        for (job, old, end) in ends {
            match end {
                End::Finished(Some(done)) => finished.push((old, done)),
                End::Finished(None) => {}
                End::Skipped => skipped += 1,
                End::Again { job, delay, .. } => again.push((job, delay)),
                End::Retryable(e) => {
                    let failures = job.failures + 1;
                    let job = Job { failures, ..job };
                    match after_failure(failures, self.copier.cfg.max_receive_count) {
                        AfterFailure::Retry { delay_secs } => again.push((job, delay_secs)),
                        AfterFailure::Park => {
                            let reason = format!("{e} (failed {failures} times)");
                            self.count_failure(&job, &reason).await;
                            parked.push((job, reason));
                        }
                    }
                }
                End::Permanent(e) => parked.push((job, e.to_string())),
            }
        }
        // Records first: if sending fails now, the message comes back and its copied objects
        // are recognised by their records instead of being copied again.
        if !finished.is_empty() {
            self.copier.ledger.done_many(&finished).await?;
        }
        if !finished.is_empty() || skipped > 0 {
            // One counter update for all the pack's copies and skips.
            let (src_bucket, des_bucket) = &buckets;
            let ended = Progress {
                copied: finished.len() as u64,
                bytes: finished.iter().map(|(_, d)| d.size).sum(),
                skipped,
                ..Default::default()
            };
            if let Err(e) = self.copier.ledger.add_progress(src_bucket, des_bucket, &ended).await {
                warn!(error = %e, "could not count the pack's copies for status");
            }
        }
        info!(
            objects = total,
            copied = finished.len(),
            skipped,
            sent_again = again.len(),
            parked = parked.len(),
            "pack worked"
        );
        for (job, reason) in parked {
            let span = info_span!("object", bucket = %job.src_bucket, key = %job.src_key);
            self.park_alone(&job, &reason).instrument(span).await?;
        }
        for (pack, delay) in regroup(again) {
            let why = if delay == 0 { "unfinished objects of a pack" } else { "objects of a pack to try again" };
            self.send_again(pack.to_json(), delay, why).await?;
        }
        Ok(())
    }

    /// Parks one object of a pack in the dead-letter queue as a single job with its reason.
    /// Without `DeadLetterQueueUrl`, it is sent alone as a single job instead, so that SQS's
    /// redrive policy parks it after `maxReceiveCount` receives, holding no other object back.
    async fn park_alone(&self, job: &Job, reason: &str) -> Result<(), MessageError> {
        if self.park(&job.to_json(), reason).await.is_ok() {
            return Ok(());
        }
        self.send_again(job.to_json(), 0, "an object of a pack that cannot be copied").await
    }
}
