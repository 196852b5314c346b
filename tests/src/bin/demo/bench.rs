//! The bench's helpers: the latency proxy, a migration's set-up, and a large ledger.

use s3_migrate_core::clients::AwsClients;
use s3_migrate_tests::world::{Mode, World};

/// Serves `upstream` (any HTTP service: S3, SQS, DynamoDB) with `ms` milliseconds added before
/// every request until stopped; prints its URL. The bench's model of a real endpoint's distance.
/// With `counts_file`, writes its request counts there (JSON, see `FaultCounts::to_json`) every
/// 200 ms, for the bench's cost per object.
pub async fn latency_proxy(upstream: &str, ms: u64, counts_file: Option<String>) -> anyhow::Result<()> {
    let proxy = s3_migrate_tests::fault_proxy::FaultProxy::rules_only(upstream).await?;
    proxy.rules.latency(std::time::Duration::from_millis(ms));
    println!("{}", proxy.url);
    use std::io::Write;
    std::io::stdout().flush()?;
    if let Some(path) = counts_file {
        let counts = proxy.counts.clone();
        tokio::spawn(async move {
            loop {
                let tmp = format!("{path}.tmp");
                if std::fs::write(&tmp, counts.to_json()).is_ok() {
                    let _ = std::fs::rename(&tmp, &path);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        });
    }
    tokio::signal::ctrl_c().await?;
    Ok(())
}

pub async fn bench_setup(src_bucket: &str, stream: bool, des_bucket: Option<String>) -> anyhow::Result<()> {
    let mut w = World::new(if stream { Mode::Stream } else { Mode::Server }, false).await?;
    if let Some(des) = des_bucket {
        w.des_bucket = des;
    }
    let pairs_param = s3_migrate_tests::unique("bench-bucket-pairs");
    let ignore_param = s3_migrate_tests::unique("bench-ignore-list");
    let pairs = serde_json::json!([{ "src_bucket": src_bucket, "src_prefix": "", "des_bucket": w.des_bucket, "des_prefix": "" }]);
    w.put_param(&pairs_param, &pairs.to_string()).await?;
    w.put_param(&ignore_param, "# nothing ignored").await?;
    let mut exports = vec![
        ("table_queue_name", w.table.clone()),
        ("sqs_queue", w.queue_url.clone()),
        ("ssm_parameter_bucket", pairs_param),
        ("ssm_parameter_ignore_list", ignore_param),
        ("ssm_parameter_credentials", w.credentials_parameter.clone()),
        ("BENCH_DES_BUCKET", w.des_bucket.clone()),
    ];
    exports.push(("JobType", if stream { "PUT".into() } else { String::new() }));
    for (k, v) in exports {
        println!("export {k}='{v}'");
    }
    Ok(())
}

/// N records of finished copies, as packs write them: 25 to a BatchWriteItem, 16 at once.
pub async fn ledger_fill(table: &str, src_bucket: &str, n: u64) -> anyhow::Result<()> {
    use futures::StreamExt;
    use s3_migrate_core::ledger::{Done, Ledger};
    let own = AwsClients::build(None, "unused").await?;
    let ledger = Ledger::new(own.dynamodb.clone(), table);
    let chunk = 400u64;
    let written: Vec<anyhow::Result<usize>> = futures::stream::iter((0..n).step_by(chunk as usize))
        .map(|start| {
            let ledger = ledger.clone();
            async move {
                let finished: Vec<_> = (start..(start + chunk).min(n))
                    .map(|i| {
                        let done = Done {
                            key: s3_migrate_core::job::object_key(src_bucket, &format!("obj-{i:09}")),
                            des_bucket: "bench-des".into(),
                            des_key: format!("obj-{i:09}"),
                            size: 16_384,
                            version_id: None,
                            etag: Some(format!("\"{i:032x}\"")),
                            src_modified: Some(1_764_000_000),
                            spent_secs: 0,
                        };
                        (None, done)
                    })
                    .collect();
                Ok(ledger.done_many(&finished).await?)
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let total: usize = written.into_iter().collect::<anyhow::Result<Vec<_>>>()?.iter().sum();
    let progress =
        s3_migrate_core::ledger::Progress { copied: total as u64, bytes: total as u64 * 16_384, ..Default::default() };
    ledger.add_progress(src_bucket, "bench-des", &progress).await?;
    eprintln!("demo: {total} records written to {table}");
    Ok(())
}
