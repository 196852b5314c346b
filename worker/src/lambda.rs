//! The SQS-triggered Lambda: messages of a batch are worked concurrently (`MaxParallelFile`)
//! and only the failed ones are reported (`ReportBatchItemFailures`), so the rest are deleted.

use crate::message::{Disposition, Processor};
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use futures::StreamExt;
use lambda_runtime::{service_fn, LambdaEvent};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::{info_span, warn, Instrument};

/// Time kept back before the Lambda deadline to save progress and hand jobs on.
pub const LAMBDA_SAFETY_MARGIN: Duration = Duration::from_secs(30);

/// How far in the past a Lambda deadline must lie to be no deadline at all (see [`deadline`]).
const NOT_A_DEADLINE: Duration = Duration::from_secs(86_400);

/// When to stop starting parts: `JobTimeout` after now, and never later than the Lambda's
/// own deadline minus a safety margin.
pub fn deadline(job_timeout: Duration, lambda_deadline: Option<SystemTime>) -> Instant {
    let now = Instant::now();
    let by_timeout = now + job_timeout;
    match lambda_deadline.map(|d| d.duration_since(SystemTime::now())) {
        Some(Ok(left)) => by_timeout.min(now + left.saturating_sub(LAMBDA_SAFETY_MARGIN)),
        // Not a deadline Lambda gives (epoch milliseconds): a runtime emulator's relative
        // timeout, such as cargo-lambda's 600000, reads as 1970. `JobTimeout` alone bounds it.
        Some(Err(past)) if past.duration() > NOT_A_DEADLINE => by_timeout,
        // A deadline already past leaves no time at all (not: no deadline).
        Some(Err(_)) => now,
        None => by_timeout,
    }
}

/// Works one SQS batch and returns the ids of the messages that must come back.
pub async fn handle_batch(processor: &Processor, event: SqsEvent, deadline: Instant) -> SqsBatchResponse {
    let parallel = processor.copier.cfg.max_parallel_file;
    let results: Vec<(String, Disposition)> = futures::stream::iter(event.records)
        .map(|m| async move {
            let id = m.message_id.unwrap_or_default();
            let body = m.body.unwrap_or_default();
            let receives = m.attributes.get("ApproximateReceiveCount").and_then(|n| n.parse().ok()).unwrap_or(1);
            let span = info_span!("message", message_id = %id);
            let d = processor.process_delivery(&id, &body, receives, Some(deadline)).instrument(span).await;
            (id, d)
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let mut response = SqsBatchResponse::default();
    for (id, d) in results {
        if let Disposition::Retry { reason } = d {
            warn!(message_id = %id, reason = %reason, "message will be retried");
            response.add_failure(id);
        }
    }
    response
}

/// Runs the Lambda runtime loop.
pub async fn run(processor: Arc<Processor>) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let processor = processor.clone();
        async move {
            let limit =
                deadline(Duration::from_secs(processor.copier.cfg.job_timeout_secs), Some(event.context.deadline()));
            Ok::<_, lambda_runtime::Error>(handle_batch(&processor, event.payload, limit).await)
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_job_timeout_off_lambda() {
        let before = Instant::now();
        let d = deadline(Duration::from_secs(870), None);
        let after = Instant::now();
        assert!(d >= before + Duration::from_secs(870) && d <= after + Duration::from_secs(870), "{:?}", d - before);
    }

    #[test]
    fn deadline_keeps_the_margin_before_the_lambda_deadline() {
        let before = Instant::now();
        let d = deadline(Duration::from_secs(870), Some(SystemTime::now() + Duration::from_secs(100)));
        let after = Instant::now();
        // 100 s left minus the 30 s margin: 70 s, give or take the time the test took.
        assert!(d >= before + Duration::from_secs(69), "{:?}: not cut short", d - before);
        assert!(d <= after + Duration::from_secs(70), "{:?}: the margin is kept", d - before);
    }

    #[test]
    fn deadline_is_the_job_timeout_when_it_is_tighter() {
        let before = Instant::now();
        let d = deadline(Duration::from_secs(10), Some(SystemTime::now() + Duration::from_secs(100)));
        let after = Instant::now();
        assert!(d >= before + Duration::from_secs(10) && d <= after + Duration::from_secs(10), "{:?}", d - before);
    }

    #[test]
    fn deadline_is_now_when_the_lambda_deadline_is_within_the_margin_or_past() {
        let before = Instant::now();
        for left in [Duration::from_secs(20), Duration::ZERO] {
            let d = deadline(Duration::from_secs(870), Some(SystemTime::now() + left));
            assert!(d >= before && d <= Instant::now() + Duration::from_millis(50), "{left:?}: {:?}", d - before);
        }
        let past = deadline(Duration::from_secs(870), Some(SystemTime::now() - Duration::from_secs(5)));
        assert!(
            past <= Instant::now() + Duration::from_millis(50),
            "a past deadline is now, not no deadline: {:?}",
            past - before
        );
    }

    #[test]
    fn a_runtime_emulators_relative_deadline_is_no_deadline() {
        // cargo-lambda's runtime API sends `Lambda-Runtime-Deadline-Ms: 600000`.
        let before = Instant::now();
        let d = deadline(Duration::from_secs(870), Some(SystemTime::UNIX_EPOCH + Duration::from_millis(600_000)));
        assert!(d >= before + Duration::from_secs(870) && d <= Instant::now() + Duration::from_secs(870));
    }
}
