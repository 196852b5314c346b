//! Building the jobsender once: bucket pairs, ignore list, queue and ledger, each checked
//! with an error that names it.

use crate::enqueue::Enqueuer;
use crate::run::Sender;
use anyhow::Context;
use s3_migrate_core::clients::{read_parameter, requester_pays, AwsClients};
use s3_migrate_core::clock::Clock;
use s3_migrate_core::config::JobsenderConfig;
use s3_migrate_core::ignore::IgnoreList;
use s3_migrate_core::ledger::Ledger;
use s3_migrate_core::pack::{Packing, PACK_MAX_BODY_BYTES};
use s3_migrate_core::pairs::{parse_pairs, BucketPair};
use std::path::Path;
use std::sync::Arc;

/// Text from `file` when given, else from the SSM parameter `parameter` (named by `variable`),
/// with a description of where it came from for error messages.
async fn read_text(
    clients: &AwsClients,
    file: Option<&Path>,
    parameter: &str,
    variable: &str,
) -> anyhow::Result<(String, String)> {
    Ok(match file {
        Some(f) => {
            (std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?, f.display().to_string())
        }
        None => {
            (read_parameter(&clients.ssm, parameter, true).await?, format!("SSM parameter {parameter} ({variable})"))
        }
    })
}

/// Bucket pairs from `file`, or else from the SSM parameter `ssm_parameter_bucket`.
pub async fn bucket_pairs(
    cfg: &JobsenderConfig,
    clients: &AwsClients,
    file: Option<&Path>,
) -> anyhow::Result<Vec<BucketPair>> {
    let (text, source) = read_text(clients, file, &cfg.bucket_parameter, "ssm_parameter_bucket").await?;
    Ok(parse_pairs(&text, &source)?)
}

/// The ignore list from `file`, or else from the SSM parameter `ssm_parameter_ignore_list`.
pub async fn ignore_list(
    cfg: &JobsenderConfig,
    clients: &AwsClients,
    file: Option<&Path>,
) -> anyhow::Result<IgnoreList> {
    let (text, source) = read_text(clients, file, &cfg.ignore_parameter, "ssm_parameter_ignore_list").await?;
    IgnoreList::parse(&text).with_context(|| format!("ignore list from {source}"))
}

/// The sender, with its ledger table checked.
pub async fn sender(
    cfg: &JobsenderConfig,
    clients: &AwsClients,
    ignore: IgnoreList,
    queue_url: String,
) -> anyhow::Result<Sender> {
    if cfg.compare_version_id && !clients.src_store.versioning {
        anyhow::bail!(
            "JobsenderCompareVersionId=true compares versions, but the source store has no versioning (versioning=false): set JobsenderCompareVersionId=false"
        );
    }
    tracing::info!(source = %clients.src_store, destination = %clients.des_store, "stores");
    let ledger = Ledger::new(clients.dynamodb.clone(), cfg.common.table.clone());
    ledger.check().await?;
    let requeue_after_secs = match cfg.requeue_after_secs {
        Some(secs) => secs,
        None => queue_retention_secs(&clients.sqs, &queue_url).await?,
    };
    Ok(Sender {
        src_s3: if cfg.common.requester_pays { requester_pays(&clients.src_s3) } else { clients.src_s3.clone() },
        des_s3: clients.des_s3.clone(),
        lists: (clients.src_store.list_version, clients.des_store.list_version),
        ledger,
        enqueuer: Enqueuer { sqs: clients.sqs.clone(), queue_url },
        ignore: Arc::new(ignore),
        compare_versions: cfg.compare_version_id,
        compare_etags: cfg.compare_etag,
        requeue_after_secs,
        parallel_ranges: cfg.parallel_ranges,
        archived_objects: cfg.archived_objects,
        restore: cfg.restore.clone(),
        packing: Packing {
            max_objects: cfg.pack_objects,
            max_size: cfg.pack_max_size,
            max_body_bytes: PACK_MAX_BODY_BYTES,
        },
        clock: Clock::system(),
    })
}

/// The queue's `MessageRetentionPeriod`: after it, no message of a job can still exist.
async fn queue_retention_secs(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> anyhow::Result<u64> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let out = sqs
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::MessageRetentionPeriod)
        .send()
        .await
        .with_context(|| format!("reading MessageRetentionPeriod of SQS queue {queue_url} (sqs_queue)"))?;
    let retention = out.attributes().and_then(|a| a.get(&QueueAttributeName::MessageRetentionPeriod));
    retention
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("SQS queue {queue_url} (sqs_queue) named no MessageRetentionPeriod"))
}
