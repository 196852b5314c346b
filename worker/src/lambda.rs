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

/// When to stop starting parts: `JobTimeout` after now, and never later than the Lambda's
/// own deadline minus a safety margin.
pub fn deadline(job_timeout: Duration, lambda_deadline: Option<SystemTime>) -> Instant {
    let now = Instant::now();
    let by_timeout = now + job_timeout;
    match lambda_deadline.and_then(|d| d.duration_since(SystemTime::now()).ok()) {
        Some(left) => by_timeout.min(now + left.saturating_sub(LAMBDA_SAFETY_MARGIN)),
        None => by_timeout,
    }
}

/// Works one SQS batch and returns the ids of the messages that must come back.
pub async fn handle_batch(p: &Processor, event: SqsEvent, deadline: Instant) -> SqsBatchResponse {
    let parallel = p.copier.cfg.max_parallel_file;
    let results: Vec<(String, Disposition)> = futures::stream::iter(event.records)
        .map(|m| async move {
            let id = m.message_id.unwrap_or_default();
            let body = m.body.unwrap_or_default();
            let span = info_span!("message", message_id = %id);
            let d = p.process(&id, &body, Some(deadline)).instrument(span).await;
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
pub async fn run(p: Arc<Processor>) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let p = p.clone();
        async move {
            let limit = deadline(Duration::from_secs(p.copier.cfg.job_timeout_secs), Some(event.context.deadline()));
            Ok::<_, lambda_runtime::Error>(handle_batch(&p, event.payload, limit).await)
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_respects_job_timeout_and_lambda_limit() {
        let now = Instant::now();
        let d = deadline(Duration::from_secs(870), None);
        assert!(d >= now + Duration::from_secs(869) && d <= now + Duration::from_secs(871));
        let lambda_end = SystemTime::now() + Duration::from_secs(100);
        let d = deadline(Duration::from_secs(870), Some(lambda_end));
        assert!(d <= now + Duration::from_secs(71), "100 s left minus the 30 s margin");
        let d = deadline(Duration::from_secs(10), Some(lambda_end));
        assert!(d <= now + Duration::from_secs(11), "JobTimeout is the tighter bound");
    }
}
