//! Building the worker once: configuration, clients, ledger check, queue resolution.

use crate::copy::budget::BufferBudget;
use crate::copy::Copier;
use crate::message::Processor;
use crate::stats::Stats;
use anyhow::Context;
use s3_migrate_core::clients::{read_parameter, requester_pays, AwsClients, ClientError};
use s3_migrate_core::config::{CopyPath, WorkerConfig};
use s3_migrate_core::ignore::IgnoreList;
use s3_migrate_core::ledger::Ledger;
use s3_migrate_core::pairs::parse_pairs;
use s3_migrate_core::regions::RegionalClients;
use s3_migrate_core::scope::JobScope;
use std::sync::Arc;

/// Builds the processor from a loaded configuration and clients; checks that the ledger table
/// exists so a wrong `table_queue_name` fails at start with its name.
pub async fn processor(
    cfg: WorkerConfig,
    clients: &AwsClients,
    requeue_url: Option<String>,
) -> anyhow::Result<Processor> {
    let ledger = Ledger::new(clients.dynamodb.clone(), cfg.common.table.clone());
    ledger.check().await?;
    let scope = Arc::new(job_scope(&cfg, clients).await?);
    let ignore = Arc::new(ignore_list(&cfg, clients).await?);
    let path = cfg.copy_path();
    tracing::info!(source = %clients.src_store, destination = %clients.des_store, path = ?path, "stores");
    let buffers = Arc::new(BufferBudget::new(cfg.memory_budget_bytes));
    // Requester pays: every source request says so; a server-side copy reads the source
    // through the destination's client, so that one says it too.
    let payer = |c: &aws_sdk_s3::Client, reads_source: bool| {
        if cfg.common.requester_pays && reads_source {
            requester_pays(c)
        } else {
            c.clone()
        }
    };
    let (src, des) = (payer(&clients.src_s3, true), payer(&clients.des_s3, path == CopyPath::Server));
    let files = Arc::new(tokio::sync::Semaphore::new(cfg.max_parallel_file));
    Ok(Processor {
        files,
        copier: Copier {
            cfg: Arc::new(cfg),
            regions: Arc::new((RegionalClients::new(src.clone()), RegionalClients::new(des.clone()))),
            src,
            des,
            ledger,
            path,
            buffers,
            stats: Arc::new(Stats::default()),
            keys: clients.other_keys.clone(),
            stores: Arc::new((clients.src_store.clone(), clients.des_store.clone())),
        },
        scope,
        ignore,
        sqs: clients.sqs.clone(),
        requeue_url,
    })
}

/// What this deployment copies: the bucket pairs of `ssm_parameter_bucket` and the event
/// routes (see [`JobScope`]). A missing parameter is an error naming it, unless
/// `EventSourceBuckets` says this worker copies S3 events only.
pub async fn job_scope(cfg: &WorkerConfig, clients: &AwsClients) -> anyhow::Result<JobScope> {
    let pairs = match read_parameter(&clients.ssm, &cfg.bucket_parameter, true).await {
        Ok(text) => {
            parse_pairs(&text, &format!("SSM parameter {} (ssm_parameter_bucket)", cfg.bucket_parameter))?
        }
        Err(ClientError::ParameterNotFound { .. }) if !cfg.event_source_buckets.is_empty() => {
            tracing::info!(parameter = %cfg.bucket_parameter, "no bucket pairs: copying S3 events of EventSourceBuckets only");
            Vec::new()
        }
        Err(ClientError::ParameterNotFound { name }) => anyhow::bail!(
            "SSM parameter {name} (ssm_parameter_bucket) does not exist: the worker copies only what the bucket pairs \
             (or EventSourceBuckets, for S3 events) allow; create it with the pairs' JSON list or set EventSourceBuckets"
        ),
        Err(e) => return Err(e.into()),
    };
    Ok(JobScope::new(pairs, &cfg.event_source_buckets, cfg.event_destination.clone())?)
}

/// The ignore list of `ssm_parameter_ignore_list`, which S3 events honour as the jobsender's
/// listings do. A missing parameter ignores nothing; a glob that does not parse is an error
/// naming the parameter and the line.
pub async fn ignore_list(cfg: &WorkerConfig, clients: &AwsClients) -> anyhow::Result<IgnoreList> {
    match read_parameter(&clients.ssm, &cfg.ignore_parameter, true).await {
        Ok(text) => IgnoreList::parse(&text).with_context(|| {
            format!("ignore list from SSM parameter {} (ssm_parameter_ignore_list)", cfg.ignore_parameter)
        }),
        Err(ClientError::ParameterNotFound { .. }) => {
            tracing::info!(parameter = %cfg.ignore_parameter, "no ignore list parameter: nothing ignored");
            Ok(IgnoreList::default())
        }
        Err(e) => Err(e.into()),
    }
}
