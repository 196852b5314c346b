//! The scheduled Lambda: run every pair within the invocation's time, log the summary as JSON
//! and EMF, and hand the run on to a new invocation of itself when a pair stopped at a
//! checkpoint: one continuation chain at a time (`s3_migrate_core::chain`).

use crate::report::emf_lines;
use crate::run::{run_all, RunOptions, Sender};
use lambda_runtime::{service_fn, LambdaEvent};
use s3_migrate_core::chain::{Admit, Invocation};
use s3_migrate_core::pairs::BucketPair;
use s3_migrate_core::rotation::RotatingKeys;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tracing::{error, info, warn};

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
            handle(&h, &event.payload, Instant::now() + left.saturating_sub(LAMBDA_SAFETY_MARGIN)).await
        }
    }))
    .await
}

/// One invocation: claims its step of the continuation chain (`s3_migrate_core::chain`; a
/// refused invocation does nothing), runs every pair until `deadline`, then hands the chain on
/// if a pair stopped at a checkpoint. An invocation that handed on returns success, so Lambda
/// does not retry it (which would start a second chain); otherwise an error names the failed
/// pairs.
pub async fn handle(
    h: &Handler,
    event: &serde_json::Value,
    deadline: Instant,
) -> Result<serde_json::Value, lambda_runtime::Error> {
    let (ledger, clock) = (&h.sender.ledger, &h.sender.clock);
    let step = match ledger.claim_chain(Invocation::from_event(event), clock.now_secs()).await? {
        Admit::Claim { step } => step,
        Admit::Refuse { why } => {
            info!(reason = why, "not run: another invocation holds the continuation chain");
            return Ok(serde_json::json!({ "refused": why }));
        }
    };
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
    let continued = unfinished && hand_on(h, step).await;
    if !continued {
        if let Err(e) = ledger.end_step(step).await {
            warn!(step, error = %e, "could not record the end of this step of the chain");
        }
    }
    let failed: Vec<_> = reports.iter().filter_map(|r| r.error.clone()).collect();
    if !failed.is_empty() {
        let failed = format!("{} bucket pair(s) failed: {}", failed.len(), failed.join("; "));
        if !continued {
            return Err(failed.into());
        }
        // Not an error to Lambda: its retry would run this step again beside the continuation.
        error!(step, error = %failed, "the continuation lists the failed pairs again");
    }
    Ok(serde_json::json!({ "pairs": reports, "continued": continued, "step": step }))
}

/// Hands the chain on from `step`: recorded in the ledger (only while the chain is still this
/// step's), then the function invoked again, asynchronously, to continue from the checkpoints.
/// False when nothing was handed on; the next scheduled run continues then.
async fn hand_on(h: &Handler, step: u64) -> bool {
    let Some(name) = &h.function_name else {
        warn!("AWS_LAMBDA_FUNCTION_NAME is not set; the next scheduled run continues from the checkpoints");
        return false;
    };
    match h.sender.ledger.hand_on(step, h.sender.clock.now_secs()).await {
        Ok(true) => {}
        Ok(false) => {
            warn!(step, "the chain was taken over by a later invocation; it continues from the checkpoints");
            return false;
        }
        Err(e) => {
            warn!(step, error = %e, "could not record the hand-on; the next scheduled run continues");
            return false;
        }
    }
    let next = step + 1;
    let res = h
        .lambda
        .invoke()
        .function_name(name)
        .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
        .payload(aws_sdk_lambda::primitives::Blob::new(Invocation::continuation_event(next).to_string()))
        .send()
        .await;
    match res {
        Ok(_) => {
            info!(function = %name, step = next, "re-invoked to continue from the checkpoints");
            true
        }
        Err(e) => {
            warn!(error = %s3_migrate_core::clients::error_chain(&e), "could not re-invoke; the next scheduled run continues");
            if let Err(e) = h.sender.ledger.take_back_hand_on(next).await {
                warn!(error = %e, "could not take the hand-on back; the next scheduled run waits for it to expire");
            }
            false
        }
    }
}
