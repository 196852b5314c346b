//! One bucket pair: list both sides, merge-join them, and enqueue what must be copied.
//!
//! The pair's key space is split into ranges listed concurrently (see `s3_migrate_core::ranges`).
//! A pair whose last complete run's jobs are still being copied is not listed until they are
//! (see `s3_migrate_core::backlog`). In each range, decisions are flushed in batches of
//! [`FLUSH_AT`]: the ledger is asked once per batch (for versions copied and jobs already
//! queued), the jobs are sent, and those the last complete run may have sent too are marked
//! as queued. When the time budget runs out, each range's last source key whose job is safely
//! enqueued bounds what is left of it; the unfinished ranges become the pair's checkpoint, and
//! the next run continues them.

use crate::enqueue::Enqueuer;
use crate::error::SendError;
use crate::listing::{self, check_bucket, ListSpec, Page};
pub use crate::report::PairReport;
use futures::StreamExt;
use s3_migrate_core::archive::{ArchivedObjects, RestoreRequest};
use s3_migrate_core::backlog::{backlog, Backlog, Seen};
use s3_migrate_core::clock::Clock;
use s3_migrate_core::diff::{Compared, DestinationMapping, Entry, MergeJoin, Need};
use s3_migrate_core::ignore::IgnoreList;
use s3_migrate_core::ledger::{Ledger, PairCounts, SavedRun};
use s3_migrate_core::pack::Packing;
use s3_migrate_core::pairs::BucketPair;
use s3_migrate_core::ranges::{split, Checkpoint, KeyRange, SplitWalk, DEFAULT_MAX_PROBES};
use s3_migrate_core::store::ListVersion;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::mpsc::Receiver;
use tracing::{debug, error, info, warn};

/// Source entries decided before the ledger is asked and jobs are sent (BatchGetItem takes 100).
pub const FLUSH_AT: usize = 100;
/// Ledger writes in flight when marking jobs as queued.
pub(crate) const MARKS_IN_FLIGHT: usize = 16;

/// Where a dry run writes its jobs (JSON lines).
pub type JobsOut = Arc<Mutex<Box<dyn Write + Send>>>;

/// What a run does besides diffing.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Stop starting pages at this instant and save a checkpoint.
    pub deadline: Option<Instant>,
    /// Enqueue nothing, record nothing.
    pub dry_run: bool,
    pub jobs_out: Option<JobsOut>,
    /// Enqueue objects whose copy failed permanently (FAILED in the ledger) although their
    /// source did not change (`jobsender run --retry-failed`).
    pub retry_failed: bool,
    /// Enqueue objects still queued although their message may still exist
    /// (`jobsender run --requeue-queued`).
    pub requeue_queued: bool,
    /// Whether the job queue held no message as the run started: read once by
    /// [`run_all`] for all pairs; `None`: [`Sender::run_pair`] reads it.
    pub queue_empty: Option<bool>,
}

/// Everything a run needs, built once.
#[derive(Clone)]
pub struct Sender {
    pub src_s3: aws_sdk_s3::Client,
    pub des_s3: aws_sdk_s3::Client,
    /// The listing API each side's store answers (`list_objects_version`).
    pub lists: (ListVersion, ListVersion),
    pub ledger: Ledger,
    pub enqueuer: Enqueuer,
    pub ignore: Arc<IgnoreList>,
    /// `JobsenderCompareVersionId`.
    pub compare_versions: bool,
    /// `JobsenderCompareETag`.
    pub compare_etags: bool,
    /// `RequeueAfterSeconds`, or the queue's retention.
    pub requeue_after_secs: u64,
    /// `JobsenderParallelRanges`.
    pub parallel_ranges: usize,
    /// `ArchivedObjects`.
    pub archived_objects: ArchivedObjects,
    /// `RestoreTier`, `RestoreDays`.
    pub restore: RestoreRequest,
    /// `JobsenderPackObjects`, `ResumableThreshold`: how small objects are packed.
    pub packing: Packing,
    /// The time the backlog rule reads (the system's; a test's steps through hours).
    pub clock: Clock,
}

#[derive(Default)]
pub(crate) struct Batch {
    pub(crate) candidates: Vec<Entry>,
    /// Equal in size: asked of the ledger whether the copy is of another version or ETag.
    pub(crate) version_checks: Vec<Entry>,
}

impl Batch {
    fn len(&self) -> usize {
        self.candidates.len() + self.version_checks.len()
    }
}

/// What one key range of a pair came to.
struct RangeOutcome {
    report: PairReport,
    /// What is left of the range when the time budget stopped it.
    remaining: Option<KeyRange>,
}

impl Sender {
    /// Diffs one pair and enqueues its jobs. Errors name the bucket, queue or table.
    ///
    /// The pair's key space is split into up to `parallel_ranges` ranges (or taken from the
    /// checkpoint of an unfinished run), each listed and merge-joined on its own, all at once.
    pub async fn run_pair(&self, pair: &BucketPair, opts: &RunOptions) -> Result<PairReport, SendError> {
        // Each bucket is checked once, and listed with a client of its own region.
        let this = Sender {
            src_s3: check_bucket(&self.src_s3, &pair.src_bucket, pair.src_region.as_deref()).await?,
            des_s3: check_bucket(&self.des_s3, &pair.des_bucket, pair.des_region.as_deref()).await?,
            ..self.clone()
        };
        this.run_checked_pair(pair, opts).await
    }

    /// [`Self::run_pair`] once both buckets are checked and the clients fit their regions.
    async fn run_checked_pair(&self, pair: &BucketPair, opts: &RunOptions) -> Result<PairReport, SendError> {
        let id = pair.id();
        let mapping = DestinationMapping::new(&pair.des_prefix);
        let saved = if opts.dry_run { None } else { self.ledger.checkpoint(&id).await? };
        let last = self.ledger.pair_counts(&id).await?;
        let last_run_at = last.as_ref().map(|c| c.at);
        let started_at = self.clock.now_secs();
        // An empty queue: no message of any earlier run exists, so no queue record holds.
        let queue_empty = match opts.queue_empty {
            Some(empty) => empty,
            None => self.enqueuer.queue_is_empty().await.unwrap_or(false),
        };
        // The workers' counters as this run starts: what they finish from now on is this run's
        // jobs (or an earlier run's), including what they copy while this run still lists.
        let at_start = self.ledger.progress(&pair.src_bucket, &pair.des_bucket).await?;
        if saved.is_none() && !opts.requeue_queued {
            let seen = Seen { done: at_start.finished(), at: started_at, queue_empty };
            let last_run = last.as_ref().map(PairCounts::last_run);
            if let Backlog::Wait { left, moved } = backlog(last_run.as_ref(), seen, self.requeue_after_secs) {
                info!(pair = %id, left, moved, "the last run's jobs are still being copied: the pair is listed once they are");
                if moved && !opts.dry_run {
                    if let Err(e) = self.ledger.set_pair_look(&id, seen.at, seen.done).await {
                        warn!(pair = %id, error = %e, "could not record that the pair's backlog was seen moving");
                    }
                }
                return Ok(PairReport { pair: id, waiting: left, complete: true, ..Default::default() });
            }
        }
        let opts = &RunOptions { requeue_queued: opts.requeue_queued || queue_empty, ..opts.clone() };
        let ranges = match &saved {
            Some(s) => {
                info!(pair = %id, ranges = s.checkpoint.ranges.len(), "continuing from checkpoint");
                s.checkpoint.ranges.clone()
            }
            None => self.plan_ranges(pair, &mapping).await?,
        };
        let outcomes =
            futures::future::join_all(ranges.into_iter().map(|r| self.run_range(pair, &mapping, r, last_run_at, opts)))
                .await;
        let mut report = PairReport { pair: id.clone(), ..Default::default() };
        let mut unfinished = Vec::new();
        for outcome in outcomes {
            // A failed range fails the pair and keeps the saved checkpoint: what the other
            // ranges enqueued is recorded as queued, so the next run does not send it again.
            let outcome = outcome?;
            report.absorb(&outcome.report);
            unfinished.extend(outcome.remaining);
        }
        report.complete = unfinished.is_empty();
        if opts.dry_run {
            return Ok(report);
        }
        // The run's figures, counted from its first invocation's start.
        let this_invocation = PairCounts {
            archived: report.archived,
            failed_unchanged: report.failed,
            equal: report.equal,
            to_copy: report.enqueued + report.already_queued,
            bytes_to_copy: report.bytes_to_copy,
            copied_at_run: at_start.copied,
            failed_at_run: at_start.failed,
            skipped_at_run: at_start.skipped,
            started_at,
            ..Default::default()
        };
        let so_far = match &saved {
            Some(s) => s.so_far.and(&this_invocation),
            None => this_invocation,
        };
        if !report.complete {
            let run = SavedRun { checkpoint: Checkpoint { ranges: unfinished }, so_far };
            self.ledger.set_checkpoint(&id, Some(&run), self.clock.now_secs()).await?;
            info!(pair = %id, "time budget reached, checkpoint saved");
            return Ok(report);
        }
        let at_end = match self.ledger.progress(&pair.src_bucket, &pair.des_bucket).await {
            Ok(p) => p,
            Err(e) => {
                warn!(pair = %id, error = %e, "could not read the pair's progress for status");
                at_start.clone()
            }
        };
        let at = self.clock.now_secs();
        let counts = PairCounts { at, looked_at: at, done_at_look: at_end.finished(), ..so_far };
        if let Err(e) = self.ledger.set_pair_counts(&id, counts).await {
            warn!(pair = %id, error = %e, "could not save the pair's figures for status");
        }
        if saved.is_some() {
            self.ledger.set_checkpoint(&id, None, at).await?;
        }
        Ok(report)
    }

    /// Splits the pair's source key space by probing its listing (see [`SplitWalk`]); a pair
    /// whose two sides each fit one listing page stays one range.
    async fn plan_ranges(&self, pair: &BucketPair, mapping: &DestinationMapping) -> Result<Vec<KeyRange>, SendError> {
        let whole = || Ok(vec![KeyRange::default()]);
        if self.parallel_ranges < 2 {
            return whole();
        }
        let des_prefix = mapping.to_destination(&pair.src_prefix);
        let (src_small, des_small) = tokio::try_join!(
            listing::fits_one_page(&self.src_s3, self.lists.0, &pair.src_bucket, &pair.src_prefix),
            listing::fits_one_page(&self.des_s3, self.lists.1, &pair.des_bucket, &des_prefix),
        )?;
        if src_small && des_small {
            debug!(pair = %pair.id(), "each side fits one listing page: one range");
            return whole();
        }
        let mut walk = SplitWalk::new(&pair.src_prefix, self.parallel_ranges, DEFAULT_MAX_PROBES);
        while let Some(probe) = walk.next_probe() {
            let key = listing::first_key(&self.src_s3, self.lists.0, &pair.src_bucket, &probe).await?;
            walk.observe(key.as_deref());
        }
        let ranges = split(&KeyRange::default(), &walk.split_points());
        debug!(pair = %pair.id(), probes = walk.probes(), ranges = ranges.len(), "key space split");
        Ok(ranges)
    }

    /// Lists, diffs and enqueues one key range of a pair.
    async fn run_range(
        &self,
        pair: &BucketPair,
        mapping: &DestinationMapping,
        range: KeyRange,
        last_run_at: Option<u64>,
        opts: &RunOptions,
    ) -> Result<RangeOutcome, SendError> {
        let mut report = PairReport::default();
        let mut src = listing::spawn(
            self.src_s3.clone(),
            ListSpec {
                bucket: pair.src_bucket.clone(),
                prefix: pair.src_prefix.clone(),
                range: range.clone(),
                list: self.lists.0,
                versions: self.compare_versions,
                mapping: None,
            },
        );
        let mut des = listing::spawn(
            self.des_s3.clone(),
            ListSpec {
                bucket: pair.des_bucket.clone(),
                prefix: mapping.to_destination(&pair.src_prefix),
                range: range.clone(),
                list: self.lists.1,
                versions: false,
                mapping: Some(mapping.clone()),
            },
        );
        let mut mj = MergeJoin::new();
        let mut batch = Batch::default();
        let mut last_decided: Option<String> = None;
        loop {
            mj.drain(|c| {
                let entry = match &c {
                    Compared::Missing(e)
                    | Compared::Equal(e)
                    | Compared::Identical(e)
                    | Compared::SizeDiffers { src: e, .. } => e,
                };
                last_decided = Some(entry.key.clone());
                if self.ignore.is_ignored(&pair.src_bucket, &entry.key) {
                    report.ignored += 1;
                    return;
                }
                match c {
                    Compared::Missing(e) | Compared::SizeDiffers { src: e, .. } => batch.candidates.push(e),
                    Compared::Equal(e) if self.compare_versions || (self.compare_etags && e.etag.is_some()) => {
                        batch.version_checks.push(e)
                    }
                    // Same bytes on both sides: a changed version only matters when asked.
                    Compared::Identical(e) if self.compare_versions => batch.version_checks.push(e),
                    Compared::Equal(_) | Compared::Identical(_) => report.equal += 1,
                }
            });
            if batch.len() >= FLUSH_AT {
                self.flush(pair, mapping, std::mem::take(&mut batch), last_run_at, &mut report, opts).await?;
            }
            let need = mj.need();
            if need == Need::Finished {
                break;
            }
            // The budget is honoured only once this run decided something, so every run
            // moves the checkpoint forward.
            if let Some(last) = last_decided.as_deref().filter(|_| opts.deadline.is_some_and(|d| Instant::now() >= d)) {
                self.flush(pair, mapping, std::mem::take(&mut batch), last_run_at, &mut report, opts).await?;
                return Ok(RangeOutcome { report, remaining: Some(range.continuing_after(last)) });
            }
            match need {
                Need::Source => {
                    let (page, last) = next_page(&mut src, &pair.src_bucket).await?;
                    mj.push_source(page, last);
                }
                Need::Destination => {
                    let (page, last) = next_page(&mut des, &pair.des_bucket).await?;
                    mj.push_destination(page, last);
                }
                Need::Finished => unreachable!("handled above"),
            }
        }
        self.flush(pair, mapping, batch, last_run_at, &mut report, opts).await?;
        Ok(RangeOutcome { report, remaining: None })
    }
}

/// Pairs diffed at once.
pub const PAIRS_IN_FLIGHT: usize = 4;

/// Runs every pair; a failed pair is reported with its error and does not stop the others.
pub async fn run_all(sender: &Sender, pairs: &[BucketPair], opts: &RunOptions) -> Vec<PairReport> {
    // The queue's depth is read once for every pair (`s3_migrate_core::backlog`).
    let queue_empty = match opts.queue_empty {
        Some(known) => Some(known),
        None => sender.enqueuer.queue_is_empty().await,
    };
    let opts = &RunOptions { queue_empty: Some(queue_empty.unwrap_or(false)), ..opts.clone() };
    futures::stream::iter(pairs)
        .map(|pair| async move {
            match sender.run_pair(pair, opts).await {
                Ok(r) => {
                    info!(
                        pair = %r.pair, to_copy = r.to_copy, bytes_to_copy = r.bytes_to_copy, equal = r.equal,
                        ignored = r.ignored, already_queued = r.already_queued, enqueued = r.enqueued,
                        archived = r.archived, restores_requested = r.restores_requested, failed = r.failed,
                        waiting = r.waiting, complete = r.complete, "pair compared"
                    );
                    r
                }
                Err(e) => {
                    error!(pair = %pair.id(), error = %e, "pair failed, nothing more enqueued for it");
                    PairReport { pair: pair.id(), error: Some(e.to_string()), ..Default::default() }
                }
            }
        })
        .buffered(PAIRS_IN_FLIGHT)
        .collect()
        .await
}

async fn next_page(rx: &mut Receiver<Page>, bucket: &str) -> Result<(Vec<Entry>, bool), SendError> {
    match rx.recv().await {
        Some(page) => page,
        None => Err(SendError::S3 { op: "List", bucket: bucket.to_owned(), message: "listing stopped early".into() }),
    }
}
