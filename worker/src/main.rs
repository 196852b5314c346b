//! `worker`: a Lambda when `AWS_LAMBDA_RUNTIME_API` is set, a CLI otherwise.

use anyhow::Context;
use clap::{Parser, Subcommand};
use s3_migrate_core::clients::{self, AwsClients};
use s3_migrate_core::config::{Env, WorkerConfig};
use s3_migrate_core::keys::parse_s3_url;
use s3_migrate_core::telemetry;
use s3_migrate_core::Job;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use worker::copy::Outcome;
use worker::poll::{poll, PollOptions};
use worker::stats::StatsSnapshot;
use worker::{lambda, metrics, setup};

/// Copies S3 objects named by SQS jobs and S3 event notifications, resumably.
/// Configuration comes from the environment (see the README); flags below are per run.
#[derive(Parser)]
#[command(name = "worker", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Work on the queue's messages (cluster mode).
    Poll {
        /// Queue URL or name; default: `sqs_queue`.
        #[arg(long)]
        queue_url: Option<String>,
        /// Stop once the queue is empty and nothing is in progress.
        #[arg(long)]
        until_empty: bool,
        /// Long-poll wait, seconds (0..=20).
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20))]
        wait_seconds: i32,
        /// Visibility timeout of received messages, renewed while they are worked on.
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(i32).range(3..=43200))]
        visibility_seconds: i32,
        /// Seconds before a failed message is offered again.
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(0..=43200))]
        retry_delay_seconds: i32,
    },
    /// Copy one object, e.g. `worker copy s3://src/a.bin s3://des/a.bin`.
    Copy { source: String, destination: String },
}

#[tokio::main]
async fn main() -> ExitCode {
    let lambda_mode = telemetry::in_lambda();
    let cli = if lambda_mode { None } else { Some(Cli::parse()) };
    let quiet =
        matches!(cli.as_ref().map(|c| &c.command), Some(Command::Poll { .. })) && std::io::stderr().is_terminal();
    telemetry::init(lambda_mode, if quiet { "warn" } else { "info" });
    metrics::enable(lambda_mode);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "worker stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Option<Cli>) -> anyhow::Result<()> {
    let cfg = WorkerConfig::from_env(&Env::from_process())?;
    let clients = AwsClients::build(cfg.common.job_type, &cfg.common.credentials_parameter).await?;
    let Some(cli) = cli else {
        let requeue = clients::queue_url(&clients.sqs, &cfg.common.queue).await?;
        let p = setup::processor(cfg, &clients, Some(requeue)).await?;
        return lambda::run(Arc::new(p)).await.map_err(|e| anyhow::anyhow!(e));
    };
    match cli.command {
        Command::Poll { queue_url, until_empty, wait_seconds, visibility_seconds, retry_delay_seconds } => {
            let url = clients::queue_url(&clients.sqs, queue_url.as_deref().unwrap_or(&cfg.common.queue)).await?;
            let p = Arc::new(setup::processor(cfg, &clients, Some(url.clone())).await?);
            let opts =
                PollOptions { queue_url: url, until_empty, wait_seconds, visibility_seconds, retry_delay_seconds };
            let summary = poll(p.clone(), opts).await?;
            let StatsSnapshot { bytes, parts, objects, failed } = p.copier.stats.snapshot();
            eprintln!(
                "worker: {} messages done, {} to retry; {objects} objects copied, {parts} parts, {bytes} bytes, {failed} failures",
                summary.consumed, summary.retried
            );
            Ok(())
        }
        Command::Copy { source, destination } => {
            let src = parse_s3_url(&source)?;
            let des = parse_s3_url(&destination)?;
            let p = setup::processor(cfg, &clients, None).await?;
            let head = worker::s3::head_source(&p.copier.src, &src.bucket, &src.key, None)
                .await?
                .with_context(|| format!("source {source} does not exist"))?;
            let job = Job {
                src_bucket: src.bucket,
                src_key: src.key,
                des_bucket: des.bucket,
                des_key: des.key,
                size: head.size,
                version_id: None,
                attempt: 0,
                etag: head.etag.clone(),
                checksum_algorithm: None,
                failures: 0,
            };
            let report = p.copier.copy(&job, None).await?;
            match report.outcome {
                Outcome::Copied { .. } => eprintln!(
                    "copied {source} to {destination}: {} bytes through the worker, {} parts uploaded, {} parts resumed, {:.2} s",
                    report.bytes_transferred, report.parts_uploaded, report.parts_skipped, report.seconds
                ),
                Outcome::AlreadyDone => eprintln!("{destination} already holds this version of {source}"),
                Outcome::SourceGone => anyhow::bail!("source {source} disappeared during the copy"),
                Outcome::OutOfTime { .. } => anyhow::bail!("copy stopped before the end; run it again to resume"),
            }
            Ok(())
        }
    }
}
