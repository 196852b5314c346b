//! Building the jobsender once: bucket pairs, ignore list, queue and ledger, each checked
//! with an error that names it.

use crate::enqueue::Enqueuer;
use crate::run::Sender;
use anyhow::Context;
use s3_migrate_core::clients::{read_parameter, AwsClients};
use s3_migrate_core::config::JobsenderConfig;
use s3_migrate_core::ignore::IgnoreList;
use s3_migrate_core::ledger::Ledger;
use s3_migrate_core::pairs::{parse_pairs, BucketPair};
use std::path::Path;
use std::sync::Arc;

/// Bucket pairs from `file`, or else from the SSM parameter `ssm_parameter_bucket`.
pub async fn bucket_pairs(
    cfg: &JobsenderConfig,
    clients: &AwsClients,
    file: Option<&Path>,
) -> anyhow::Result<Vec<BucketPair>> {
    let (text, source) = match file {
        Some(f) => (
            std::fs::read_to_string(f).with_context(|| format!("reading bucket pairs file {}", f.display()))?,
            f.display().to_string(),
        ),
        None => (
            read_parameter(&clients.ssm, &cfg.bucket_parameter, true).await?,
            format!("SSM parameter {} (ssm_parameter_bucket)", cfg.bucket_parameter),
        ),
    };
    Ok(parse_pairs(&text, &source)?)
}

/// The ignore list from `file`, or else from the SSM parameter `ssm_parameter_ignore_list`.
pub async fn ignore_list(
    cfg: &JobsenderConfig,
    clients: &AwsClients,
    file: Option<&Path>,
) -> anyhow::Result<IgnoreList> {
    let (text, source) = match file {
        Some(f) => (
            std::fs::read_to_string(f).with_context(|| format!("reading ignore list file {}", f.display()))?,
            f.display().to_string(),
        ),
        None => (
            read_parameter(&clients.ssm, &cfg.ignore_parameter, true).await?,
            format!("SSM parameter {} (ssm_parameter_ignore_list)", cfg.ignore_parameter),
        ),
    };
    IgnoreList::parse(&text).with_context(|| format!("ignore list from {source}"))
}

/// The queue URL of `sqs_queue` (name or URL), checked to exist.
pub async fn queue_url(sqs: &aws_sdk_sqs::Client, name_or_url: &str) -> anyhow::Result<String> {
    let url = if name_or_url.starts_with("http://") || name_or_url.starts_with("https://") {
        name_or_url.to_owned()
    } else {
        sqs.get_queue_url()
            .queue_name(name_or_url)
            .send()
            .await
            .with_context(|| format!("SQS queue {name_or_url} (sqs_queue) could not be found"))?
            .queue_url
            .unwrap_or_default()
    };
    sqs.get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("SQS queue {url} (sqs_queue) could not be reached"))?;
    Ok(url)
}

/// The sender, with its ledger table checked.
pub async fn sender(
    cfg: &JobsenderConfig,
    clients: &AwsClients,
    ignore: IgnoreList,
    queue_url: String,
) -> anyhow::Result<Sender> {
    let ledger = Ledger::new(clients.dynamodb.clone(), cfg.common.table.clone());
    ledger.check().await?;
    Ok(Sender {
        src_s3: clients.src_s3.clone(),
        des_s3: clients.des_s3.clone(),
        ledger,
        enqueuer: Enqueuer { sqs: clients.sqs.clone(), queue_url },
        ignore: Arc::new(ignore),
        compare_versions: cfg.compare_version_id,
        requeue_after_secs: cfg.requeue_after_secs,
    })
}
