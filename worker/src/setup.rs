//! Building the worker once: configuration, clients, ledger check, queue resolution.

use crate::copy::budget::BufferBudget;
use crate::copy::Copier;
use crate::message::Processor;
use crate::stats::Stats;
use s3_migrate_core::clients::AwsClients;
use s3_migrate_core::config::WorkerConfig;
use s3_migrate_core::ledger::Ledger;
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
    Ok(Processor {
        copier: Copier {
            cfg: Arc::new(cfg),
            src: clients.src_s3.clone(),
            des: clients.des_s3.clone(),
            ledger,
            stream,
            buffers,
            stats: Arc::new(Stats::default()),
        },
        sqs: clients.sqs.clone(),
        requeue_url,
    })
}
