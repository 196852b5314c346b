//! Building the worker once: configuration, clients, ledger check, queue resolution.

use crate::copy::budget::BufferBudget;
use crate::copy::Copier;
use crate::message::Processor;
use crate::stats::Stats;
use s3_migrate_core::clients::{requester_pays, AwsClients};
use s3_migrate_core::config::WorkerConfig;
use s3_migrate_core::ledger::Ledger;
use s3_migrate_core::regions::RegionalClients;
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
    let stream = cfg.streams();
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
    let (src, des) = (payer(&clients.src_s3, true), payer(&clients.des_s3, !stream));
    Ok(Processor {
        copier: Copier {
            cfg: Arc::new(cfg),
            regions: Arc::new((RegionalClients::new(src.clone()), RegionalClients::new(des.clone()))),
            src,
            des,
            ledger,
            stream,
            buffers,
            stats: Arc::new(Stats::default()),
        },
        sqs: clients.sqs.clone(),
        requeue_url,
    })
}
