//! `worker poll`: the worker off Lambda (EC2, ECS, a laptop). Long-polls the queue, works on
//! `MaxParallelFile` messages at once, keeps each message invisible while its object is in
//! progress, and deletes a message only once its job is finished.

use crate::message::{Disposition, Processor};
use crate::stats::StatsSnapshot;
use anyhow::Context;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use deleter::{Deleter, Deletes};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tracing::{info, info_span, warn, Instrument};

mod deleter;
mod schedule;

use schedule::{Schedule, Step};

/// How the poller behaves.
#[derive(Debug, Clone)]
pub struct PollOptions {
    pub queue_url: String,
    /// Stop once the queue has no visible, in-flight or delayed message and nothing is running.
    pub until_empty: bool,
    /// Long-poll wait in seconds (0..=20).
    pub wait_seconds: i32,
    /// Visibility timeout given to received messages and renewed while they are worked on.
    pub visibility_seconds: i32,
    /// Seconds before a failed message becomes visible again.
    pub retry_delay_seconds: i32,
}

/// What a poll run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PollSummary {
    pub consumed: u64,
    pub retried: u64,
}

/// Polls until stopped (Ctrl-C / SIGTERM) or, with `until_empty`, until the queue is empty.
pub async fn poll(processor: Arc<Processor>, opts: PollOptions) -> anyhow::Result<PollSummary> {
    let max = processor.copier.cfg.max_parallel_file;
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    let (deletes, deleter) = Deleter::start(processor.sqs.clone(), opts.queue_url.clone());
    let mut tasks: JoinSet<Disposition> = JoinSet::new();
    let mut summary = PollSummary::default();
    let progress = Progress::start(&processor);
    let mut shutdown = Box::pin(shutdown_signal());
    info!(queue_url = %opts.queue_url, max_parallel_file = max, "polling");
    let mut schedule = Schedule::new(max, opts.until_empty, opts.wait_seconds);
    loop {
        while let Some(done) = tasks.try_join_next() {
            tally(&mut summary, done);
        }
        let (max_messages, wait) = match schedule.next(tasks.len()) {
            Step::CheckEmpty => {
                // Our finished messages must be gone before the queue can read as empty.
                deletes.flush().await;
                if queue_is_empty(&processor.sqs, &opts.queue_url).await? {
                    break;
                }
                schedule.queue_not_empty();
                continue;
            }
            Step::WaitForOne => {
                tokio::select! {
                    done = tasks.join_next() => if let Some(done) = done { tally(&mut summary, done) },
                    _ = &mut shutdown => break,
                }
                continue;
            }
            Step::WaitForOneOrTick => {
                tokio::select! {
                    done = tasks.join_next() => if let Some(done) = done { tally(&mut summary, done) },
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {},
                    _ = &mut shutdown => break,
                }
                continue;
            }
            Step::Receive { max, wait_secs } => (max, wait_secs),
        };
        let received = tokio::select! {
            r = processor.sqs.receive_message()
                .queue_url(&opts.queue_url)
                .max_number_of_messages(max_messages as i32)
                .wait_time_seconds(wait)
                .visibility_timeout(opts.visibility_seconds)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send() => r,
            _ = &mut shutdown => break,
        };
        let messages = match received {
            Ok(out) => out.messages.unwrap_or_default(),
            Err(e) => {
                let class = s3_migrate_core::retry::classify(&e);
                let err = anyhow::anyhow!(s3_migrate_core::clients::error_chain(&e))
                    .context(format!("receiving from SQS queue {}", opts.queue_url));
                if class == s3_migrate_core::retry::ErrorClass::Permanent {
                    return Err(err);
                }
                warn!(error = %format!("{err:#}"), "receive failed, retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        schedule.received(messages.len(), tasks.len());
        for m in messages {
            tasks.spawn(work_on(processor.clone(), opts.clone(), m, slots.clone(), deletes.clone()));
        }
    }
    // Messages received ahead and still waiting for a slot are released, not worked off.
    slots.close();
    while let Some(done) = tasks.join_next().await {
        tally(&mut summary, done);
    }
    drop(deletes);
    let _ = deleter.await;
    progress.finish();
    info!(consumed = summary.consumed, retried = summary.retried, "poll finished");
    Ok(summary)
}

fn tally(summary: &mut PollSummary, done: Result<Disposition, tokio::task::JoinError>) {
    match done {
        Ok(Disposition::Consumed) => summary.consumed += 1,
        Ok(Disposition::Retry { .. }) => summary.retried += 1,
        Err(e) => {
            warn!(error = %e, "message task ended abnormally; the message will come back");
            summary.retried += 1;
        }
    }
}

async fn work_on(
    processor: Arc<Processor>,
    opts: PollOptions,
    m: Message,
    slots: Arc<tokio::sync::Semaphore>,
    deletes: Deletes,
) -> Disposition {
    let receives = m
        .attributes
        .as_ref()
        .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let id = m.message_id.unwrap_or_default();
    let receipt = m.receipt_handle.unwrap_or_default();
    let body = m.body.unwrap_or_default();
    let span = info_span!("message", message_id = %id);
    async move {
        // Kept invisible from receipt on, while it waits for a slot too.
        let received = Instant::now();
        let keep_alive = tokio::spawn(extend_visibility(
            processor.sqs.clone(),
            opts.queue_url.clone(),
            receipt.clone(),
            opts.visibility_seconds,
        ));
        let Ok(_slot) = slots.acquire().await else {
            // Stopping before its object started: give the message back at once.
            keep_alive.abort();
            let _ = processor
                .sqs
                .change_message_visibility()
                .queue_url(&opts.queue_url)
                .receipt_handle(&receipt)
                .visibility_timeout(0)
                .send()
                .await;
            return Disposition::Retry { reason: "poller stopping".into() };
        };
        // Handed on before SQS's visibility limit ends: past it the message would be seen again.
        let job_end = Instant::now() + Duration::from_secs(processor.copier.cfg.job_timeout_secs);
        let deadline = job_end.min(received + visibility_budget());
        let d = processor.process_delivery(&id, &body, receives, Some(deadline)).await;
        keep_alive.abort();
        match &d {
            Disposition::Consumed => {
                // Deleted in a batch; if that fails the job is finished and idempotent, so a
                // redelivery is skipped cheaply.
                deletes.delete(receipt);
            }
            Disposition::Retry { reason } => {
                warn!(reason = %reason, "message will be retried");
                let _ = processor
                    .sqs
                    .change_message_visibility()
                    .queue_url(&opts.queue_url)
                    .receipt_handle(&receipt)
                    .visibility_timeout(opts.retry_delay_seconds)
                    .send()
                    .await;
            }
        }
        d
    }
    .instrument(span)
    .await
}

/// SQS keeps a received message invisible for at most 12 hours from its receipt (SQS Developer
/// Guide, "Visibility timeout"); a ChangeMessageVisibility beyond that is refused.
const SQS_MAX_VISIBILITY_SECS: u64 = 12 * 3600;

/// Time kept before SQS's limit for in-flight parts to finish and the job to be handed on.
const HAND_ON_MARGIN_SECS: u64 = 15 * 60;

/// How long a job may run after its message was received: until [`HAND_ON_MARGIN_SECS`] before
/// SQS's limit, so that it is handed on as a fresh message while this one is still invisible.
fn visibility_budget() -> Duration {
    Duration::from_secs(SQS_MAX_VISIBILITY_SECS - HAND_ON_MARGIN_SECS)
}

/// The visibility timeout to ask for `elapsed` seconds after receipt (counted from the
/// receipt, as SQS counts its limit): the configured one, cut to what is left of the 12 hours;
/// `None` once nothing is left.
fn next_visibility(elapsed_secs: u64, visibility_seconds: i32) -> Option<i32> {
    let left = SQS_MAX_VISIBILITY_SECS.checked_sub(elapsed_secs).filter(|l| *l > 0)?;
    Some((visibility_seconds.max(0) as u64).min(left) as i32)
}

/// Renews a message's visibility every third of its timeout while its job runs, within SQS's
/// 12 hours.
async fn extend_visibility(sqs: aws_sdk_sqs::Client, url: String, receipt: String, visibility_seconds: i32) {
    let every = Duration::from_secs((visibility_seconds.max(3) / 3) as u64);
    let received = Instant::now();
    loop {
        tokio::time::sleep(every).await;
        let Some(timeout) = next_visibility(received.elapsed().as_secs(), visibility_seconds) else {
            warn!("message visibility reached SQS's 12-hour limit; no more extensions");
            return;
        };
        if let Err(e) = sqs
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(&receipt)
            .visibility_timeout(timeout)
            .send()
            .await
        {
            warn!(error = %s3_migrate_core::clients::error_chain(&e), "could not extend message visibility");
        }
    }
}

async fn queue_is_empty(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<bool> {
    let n = s3_migrate_core::queue::messages_in(sqs, url)
        .await
        .with_context(|| format!("reading the attributes of SQS queue {url}"))?;
    Ok(n == 0)
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    info!("stopping: finishing the messages in progress");
}

/// A progress bar on a terminal; nothing otherwise (log lines say it all).
struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    fn start(processor: &Processor) -> Self {
        if !std::io::stderr().is_terminal() {
            return Self { bar: None, ticker: None };
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        let stats = processor.copier.stats.clone();
        let b = bar.clone();
        let started = Instant::now();
        let ticker = tokio::spawn(async move {
            loop {
                let StatsSnapshot { bytes, parts, objects, failed } = stats.snapshot();
                let secs = started.elapsed().as_secs_f64().max(0.001);
                b.set_message(format!(
                    "{objects} objects, {parts} parts, {:.1} MiB ({:.1} MiB/s), {failed} failures",
                    bytes as f64 / 1048576.0,
                    bytes as f64 / 1048576.0 / secs
                ));
                b.tick();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        });
        Self { bar: Some(bar), ticker: Some(ticker) }
    }

    fn finish(self) {
        if let Some(t) = self.ticker {
            t.abort();
        }
        if let Some(b) = self.bar {
            b.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_extensions_stop_at_sqs_twelve_hours() {
        assert_eq!(next_visibility(0, 300), Some(300));
        assert_eq!(next_visibility(SQS_MAX_VISIBILITY_SECS - 100, 300), Some(100), "cut to what is left");
        assert_eq!(next_visibility(SQS_MAX_VISIBILITY_SECS, 300), None);
        assert_eq!(next_visibility(SQS_MAX_VISIBILITY_SECS + 5, 300), None);
        // A job is handed on a quarter of an hour before the limit, whatever the timeout.
        assert_eq!(visibility_budget(), Duration::from_secs(12 * 3600 - 900));
    }
}
