//! `jobsender`: a Lambda when `AWS_LAMBDA_RUNTIME_API` is set, a CLI otherwise.

use anyhow::Context;
use clap::{Parser, Subcommand};
use jobsender::run::{run_all, JobsOut, RunOptions};
use jobsender::{lambda, report, setup, status};
use s3_migrate_core::clients::{self, AwsClients};
use s3_migrate_core::config::{Env, JobsenderConfig};
use s3_migrate_core::telemetry;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Compares bucket pairs and enqueues one SQS job per object to copy.
/// Configuration comes from the environment (see the README); flags below are per run.
#[derive(Parser)]
#[command(name = "jobsender", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Diff every bucket pair and enqueue the jobs.
    Run {
        /// Bucket pairs JSON file instead of the SSM parameter `ssm_parameter_bucket`.
        #[arg(long)]
        bucket_pairs: Option<PathBuf>,
        /// Ignore list file instead of the SSM parameter `ssm_parameter_ignore_list`.
        #[arg(long)]
        ignore_list: Option<PathBuf>,
        /// Enqueue and record nothing; report what would be done.
        #[arg(long)]
        dry_run: bool,
        /// Write the jobs as JSON lines to this file.
        #[arg(long)]
        jobs_out: Option<PathBuf>,
        /// Stop after this many seconds and save a checkpoint per unfinished pair.
        #[arg(long)]
        time_budget_seconds: Option<f64>,
        /// Also enqueue objects whose copy failed permanently although their source did not
        /// change since (by default they wait for a change; `jobsender status` lists them).
        #[arg(long)]
        retry_failed: bool,
        /// Also enqueue objects still queued whose message may still exist (by default they
        /// wait until it cannot: the queue's retention, or `RequeueAfterSeconds`).
        #[arg(long)]
        requeue_queued: bool,
    },
    /// Where the migration stands: per pair from the ledger, and the queues.
    Status {
        /// Bucket pairs JSON file instead of the SSM parameter `ssm_parameter_bucket`.
        #[arg(long)]
        bucket_pairs: Option<PathBuf>,
        /// Read every ledger record (exact counts per status; time and read units grow with
        /// the table) instead of the per-pair counters.
        #[arg(long)]
        scan: bool,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let lambda_mode = telemetry::in_lambda();
    telemetry::init(lambda_mode, "info");
    match run(if lambda_mode { None } else { Some(Cli::parse()) }).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "jobsender stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Ok(false): the run finished but a pair failed.
async fn run(cli: Option<Cli>) -> anyhow::Result<bool> {
    let cfg = JobsenderConfig::from_env(&Env::from_process())?;
    let clients = AwsClients::build(cfg.common.job_type, &cfg.common.credentials_parameter).await?;
    let Some(cli) = cli else {
        let pairs = setup::bucket_pairs(&cfg, &clients, None).await?;
        let ignore = setup::ignore_list(&cfg, &clients, None).await?;
        let url = clients::queue_url(&clients.sqs, &cfg.common.queue).await?;
        let handler = lambda::Handler {
            sender: setup::sender(&cfg, &clients, ignore, url).await?,
            pairs,
            lambda: aws_sdk_lambda::Client::new(&clients.own),
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").ok(),
            keys: clients.other_keys.clone(),
        };
        lambda::run(Arc::new(handler)).await.map_err(|e| anyhow::anyhow!(e))?;
        return Ok(true);
    };
    match cli.command {
        Command::Run {
            bucket_pairs,
            ignore_list,
            dry_run,
            jobs_out,
            time_budget_seconds,
            retry_failed,
            requeue_queued,
        } => {
            let pairs = setup::bucket_pairs(&cfg, &clients, bucket_pairs.as_deref()).await?;
            let ignore = setup::ignore_list(&cfg, &clients, ignore_list.as_deref()).await?;
            let url = clients::queue_url(&clients.sqs, &cfg.common.queue).await?;
            let sender = setup::sender(&cfg, &clients, ignore, url).await?;
            let jobs_out: Option<JobsOut> = match jobs_out {
                Some(path) => {
                    let f = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
                    Some(Arc::new(Mutex::new(Box::new(std::io::BufWriter::new(f)))))
                }
                None => None,
            };
            let deadline = time_budget_seconds.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
            let opts = RunOptions {
                deadline,
                dry_run,
                jobs_out: jobs_out.clone(),
                retry_failed,
                requeue_queued,
                queue_empty: None,
            };
            let reports = run_all(&sender, &pairs, &opts).await;
            if let Some(out) = jobs_out {
                let mut w = out.lock().map_err(|_| anyhow::anyhow!("job list writer poisoned"))?;
                w.flush().context("writing the job list")?;
            }
            print!("{}", report::table(&reports, dry_run));
            Ok(reports.iter().all(|r| r.error.is_none()))
        }
        Command::Status { bucket_pairs, scan } => {
            let pairs = setup::bucket_pairs(&cfg, &clients, bucket_pairs.as_deref()).await?;
            let url = clients::queue_url(&clients.sqs, &cfg.common.queue).await?;
            let ledger = s3_migrate_core::ledger::Ledger::new(clients.dynamodb.clone(), cfg.common.table.clone());
            ledger.check().await?;
            let source = if scan { status::Source::Scan } else { status::Source::Counters };
            print!("{}", status::status(&ledger, &clients.sqs, &url, &pairs, source).await?);
            Ok(true)
        }
    }
}
