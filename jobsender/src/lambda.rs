//! The scheduled Lambda: run every pair within the invocation's time, log the summary as JSON
//! and EMF, and re-invoke itself when a pair stopped at a checkpoint.

use crate::report::{emf_lines, run_all};
use crate::run::{RunOptions, Sender};
use lambda_runtime::{service_fn, LambdaEvent};
use s3_migrate_core::pairs::BucketPair;
use s3_migrate_core::rotation::RotatingKeys;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::{info, warn};

/// Time kept back before the Lambda deadline to flush, checkpoint and re-invoke.
pub const LAMBDA_SAFETY_MARGIN: Duration = Duration::from_secs(60);

/// Everything the handler needs; pairs and ignore list are read once per cold start.
pub struct Handler {
    pub sender: Sender,
    pub pairs: Vec<BucketPair>,
    pub lambda: aws_sdk_lambda::Client,
    pub function_name: Option<String>,
    /// The other side's keys (`JobType` set): read again at each invocation, so a warm
    /// function uses rotated keys (see `s3_migrate_core::rotation`).
    pub keys: Option<RotatingKeys>,
}

/// Runs the Lambda runtime loop.
pub async fn run(h: Arc<Handler>) -> Result<(), lambda_runtime::Error> {
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let h = h.clone();
        async move {
            let left = event.context.deadline().duration_since(SystemTime::now()).unwrap_or_default();
            handle(&h, Instant::now() + left.saturating_sub(LAMBDA_SAFETY_MARGIN)).await
        }
    }))
    .await
}

/// One invocation: every pair until `deadline`, then a re-invocation if a pair stopped at a
/// checkpoint. An error names the failed pairs.
pub async fn handle(h: &Handler, deadline: Instant) -> Result<serde_json::Value, lambda_runtime::Error> {
    if let Some(keys) = &h.keys {
        // A HeadBucket refused for old keys has no body to say why (see
        // `s3_migrate_core::retry::keys_maybe_refused`): read them before, not after.
        if let Err(e) = keys.reread().await {
            warn!(error = %e, "could not read the other side's keys again; using the ones read before");
        }
    }
    let opts = RunOptions { deadline: Some(deadline), ..Default::default() };
    let reports = run_all(&h.sender, &h.pairs, &opts).await;
    for line in emf_lines(&reports) {
        println!("{line}");
    }
    let unfinished = reports.iter().any(|r| r.error.is_none() && !r.complete);
    if unfinished {
        continue_later(h).await;
    }
    let failed: Vec<_> = reports.iter().filter_map(|r| r.error.clone()).collect();
    if !failed.is_empty() {
        return Err(format!("{} bucket pair(s) failed: {}", failed.len(), failed.join("; ")).into());
    }
    Ok(serde_json::json!({ "pairs": reports, "continued": unfinished }))
}

/// Invokes this function again, asynchronously, to continue from the checkpoints.
async fn continue_later(h: &Handler) {
    let Some(name) = &h.function_name else {
        warn!("AWS_LAMBDA_FUNCTION_NAME is not set; the next scheduled run continues from the checkpoints");
        return;
    };
    let res = h
        .lambda
        .invoke()
        .function_name(name)
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .payload(aws_sdk_lambda::primitives::Blob::new(br#"{"continuation":true}"#.to_vec()))
        .send()
        .await;
    match res {
        Ok(_) => info!(function = %name, "re-invoked to continue from the checkpoints"),
        Err(e) => {
            warn!(error = %s3_migrate_core::clients::error_chain(&e), "could not re-invoke; the next scheduled run continues")
        }
    }
}
