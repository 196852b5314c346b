//! Helper of `scripts/demo.sh`: provisions a demo migration on the emulator, puts a new
//! object through S3 event notifications, verifies every object, and cleans up.
//!
//!   demo setup [gateway URL]
//!                 create everything and print `export` lines for the binaries; `gateway URL`:
//!                 the source is the gateway-like store at URL (see `gateway-proxy`), reached
//!                 with JobType=GET
//!   demo latency-proxy UPSTREAM MS [COUNTS_FILE]
//!                 serve UPSTREAM with MS milliseconds before every request until stopped;
//!                 prints its URL (the bench's latency model); writes request counts to
//!                 COUNTS_FILE
//!   demo listing-server MS
//!                 serve synthetic buckets of any size (ListObjectsV2, HeadBucket; see
//!                 `s3_migrate_tests::listing_server`), MS milliseconds per page; prints its URL
//!   demo ledger-fill TABLE SRC_BUCKET N
//!                 write N records of copied objects of SRC_BUCKET into the ledger TABLE, as
//!                 packs record them (the bench of `jobsender status` on a large ledger)
//!   demo gateway-proxy
//!                 serve moto as a gateway-like store (base path /api/v1/s3, no multipart, no
//!                 versions) until stopped; prints its URL
//!   demo event    put one more source object (its notification goes to the queue)
//!   demo verify   compare every source object with the destination; print a table
//!   demo cleanup  delete what setup created
//!   demo bench-setup SRC stream|server
//!                 a fresh destination (other account for stream), queue, table and
//!                 parameters for copying the existing bucket SRC; prints `export` lines

use anyhow::{bail, Context};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_sqs::types::QueueAttributeName;
use s3_migrate_core::clients::AwsClients;
use s3_migrate_core::config::JobType;
use s3_migrate_core::ignore::IgnoreList;
use s3_migrate_core::ledger::{Ledger, Status};
use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{data, dataset};

const MIB: usize = 1024 * 1024;
const EVENT_KEY: &str = "arrived later/via S3 event ✓.bin";

#[path = "demo/bench.rs"]
mod bench;
use bench::{bench_setup, latency_proxy, ledger_fill};

fn var(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set: run `demo setup` first (scripts/demo.sh does)"))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("setup") => match std::env::args().nth(2).as_deref() {
            Some("gateway") => setup_gateway(&std::env::args().nth(3).context("setup gateway URL")?).await,
            _ => setup().await,
        },
        Some("gateway-proxy") => gateway_proxy().await,
        Some("latency-proxy") => {
            let mut args = std::env::args().skip(2);
            let (upstream, ms) = (args.next(), args.next().and_then(|m| m.parse().ok()));
            let counts_file = args.next();
            latency_proxy(
                &upstream.context("latency-proxy UPSTREAM MS [COUNTS_FILE]")?,
                ms.context("latency-proxy UPSTREAM MS [COUNTS_FILE]")?,
                counts_file,
            )
            .await
        }
        Some("event") => event().await,
        Some("verify") => verify().await,
        Some("cleanup") => cleanup().await,
        Some("bench-setup") => {
            let mut args = std::env::args().skip(2);
            let (src, mode, des) = (args.next(), args.next(), args.next());
            bench_setup(
                src.as_deref().context("bench-setup SRC_BUCKET stream|server [DES_BUCKET]")?,
                mode.as_deref() == Some("stream"),
                des,
            )
            .await
        }
        Some("ledger-fill") => {
            let mut args = std::env::args().skip(2);
            let (table, bucket, n) = (args.next(), args.next(), args.next().and_then(|n| n.parse().ok()));
            ledger_fill(
                table.as_deref().context("ledger-fill TABLE SRC_BUCKET N")?,
                bucket.as_deref().context("ledger-fill TABLE SRC_BUCKET N")?,
                n.context("ledger-fill TABLE SRC_BUCKET N")?,
            )
            .await
        }
        Some("listing-server") => {
            let ms = std::env::args().nth(2).and_then(|m| m.parse().ok()).context("listing-server MS")?;
            let server = s3_migrate_tests::listing_server::ListingServer::start(std::time::Duration::from_millis(ms)).await?;
            println!("{}", server.url);
            use std::io::Write;
            std::io::stdout().flush()?;
            tokio::signal::ctrl_c().await?;
            Ok(())
        }
        _ => bail!(
            "usage: demo setup [gateway URL]|gateway-proxy|latency-proxy UPSTREAM MS|event|verify|cleanup|bench-setup SRC_BUCKET stream|server [DES_BUCKET]|listing-server MS|ledger-fill TABLE SRC_BUCKET N"
        ),
    }
}

fn ignore_text(src_bucket: &str) -> String {
    format!("# demo ignore list\n*.tmp\n{src_bucket}/logs/*\n")
}

async fn setup() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, true).await?;
    provision(&w, "versioned").await?;
    w.notify_queue_on_created().await?;
    // S3 sends an s3:TestEvent when notifications are configured; the worker consumes it.
    println!("export JobType='PUT'");
    Ok(())
}

/// The demo's parameters and data set in `w`'s source; prints the `export` lines.
async fn provision(w: &World, source: &str) -> anyhow::Result<()> {
    let pairs_param = s3_migrate_tests::unique("demo-bucket-pairs");
    let ignore_param = s3_migrate_tests::unique("demo-ignore-list");
    let pairs = serde_json::json!([{ "src_bucket": w.src_bucket, "src_prefix": "", "des_bucket": w.des_bucket, "des_prefix": "" }]);
    w.put_param(&pairs_param, &pairs.to_string()).await?;
    w.put_param(&ignore_param, &ignore_text(&w.src_bucket)).await?;
    let set = dataset();
    let total: usize = set.iter().map(|(_, s)| s).sum();
    eprintln!(
        "demo: putting {} objects ({:.1} MiB) into s3://{} ({source})",
        set.len(),
        total as f64 / MIB as f64,
        w.src_bucket
    );
    for (i, (key, size)) in set.iter().enumerate() {
        w.put_src(key, &data(*size, i as u64)).await?;
    }
    let exports = [
        ("table_queue_name", w.table.as_str()),
        ("sqs_queue", w.queue_url.as_str()),
        ("ssm_parameter_bucket", pairs_param.as_str()),
        ("ssm_parameter_ignore_list", ignore_param.as_str()),
        ("ssm_parameter_credentials", w.credentials_parameter.as_str()),
        ("Des_bucket_default", w.des_bucket.as_str()),
        ("DeadLetterQueueUrl", w.dlq_url.as_str()),
        ("DEMO_SRC_BUCKET", w.src_bucket.as_str()),
        ("DEMO_DES_BUCKET", w.des_bucket.as_str()),
        ("DEMO_DLQ_URL", w.dlq_url.as_str()),
    ];
    for (k, v) in exports {
        println!("export {k}='{v}'");
    }
    Ok(())
}

async fn event() -> anyhow::Result<()> {
    let own = AwsClients::build(None, "unused").await?;
    let bucket = var("DEMO_SRC_BUCKET")?;
    own.src_s3.put_object().bucket(&bucket).key(EVENT_KEY).body(ByteStream::from(data(7 * MIB, 99))).send().await?;
    eprintln!("demo: put s3://{bucket}/{EVENT_KEY}; its event notification is on the queue");
    Ok(())
}

async fn object_bytes(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(o) => Ok(Some(o.body.collect().await?.into_bytes().to_vec())),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The gateway's base path, as Alluxio's S3 proxy has one.
const GATEWAY_BASE_PATH: &str = "/api/v1/s3";

/// Serves moto (`S3M_MOTO_URL`) as a gateway-like store until stopped: the test proxy with the
/// gateway rules `base_path`, `no_multipart` and `no_versioning`.
async fn gateway_proxy() -> anyhow::Result<()> {
    use s3_migrate_tests::fault_proxy::FaultProxy;
    use s3_migrate_tests::s3_rules::Gateway;
    let proxy = FaultProxy::rules_only(&var("S3M_MOTO_URL")?).await?;
    proxy.set().gateway = Gateway {
        base_path: Some(GATEWAY_BASE_PATH.into()),
        no_multipart: true,
        no_versioning: true,
        ..Default::default()
    };
    println!("{}{GATEWAY_BASE_PATH}", proxy.url);
    use std::io::Write;
    std::io::stdout().flush()?;
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// The gateway scenario: the demo's data set in a store at `endpoint` without multipart or
/// versions, migrated into the emulator's S3 (our side) with JobType=GET.
async fn setup_gateway(endpoint: &str) -> anyhow::Result<()> {
    let store = serde_json::json!({ "multipart": false, "versioning": false });
    let creds = s3_migrate_tests::other_store_credentials_json(endpoint, &store);
    let w = World::with_other_store(Mode::Pull, false, &creds).await?;
    provision(&w, "gateway (moto behind /api/v1/s3: no multipart, no versions)").await?;
    println!("export JobType='GET' JobsenderCompareVersionId='false' DEMO_MODE='gateway'");
    Ok(())
}

/// The source and destination clients of the demo's migration.
async fn sides() -> anyhow::Result<(aws_sdk_s3::Client, aws_sdk_s3::Client)> {
    let own = AwsClients::build(None, "unused").await?;
    let creds = var("ssm_parameter_credentials")?;
    Ok(if std::env::var("DEMO_MODE").as_deref() == Ok("gateway") {
        (AwsClients::build(Some(JobType::Get), &creds).await?.src_s3, own.src_s3)
    } else {
        (own.src_s3, AwsClients::build(Some(JobType::Put), &creds).await?.des_s3)
    })
}

async fn verify() -> anyhow::Result<()> {
    let own = AwsClients::build(None, "unused").await?;
    let (src_s3, des_s3) = sides().await?;
    let (src_bucket, des_bucket) = (var("DEMO_SRC_BUCKET")?, var("DEMO_DES_BUCKET")?);
    let ignore = IgnoreList::parse(&ignore_text(&src_bucket))?;
    let (mut objects, mut bytes, mut identical, mut ignored, mut missing, mut different) = (0, 0u64, 0, 0, 0, 0);
    let mut token = None;
    loop {
        let page = src_s3.list_objects_v2().bucket(&src_bucket).set_continuation_token(token.take()).send().await?;
        for o in page.contents() {
            let key = o.key().unwrap_or_default();
            objects += 1;
            let src = object_bytes(&src_s3, &src_bucket, key).await?.unwrap_or_default();
            let copy = object_bytes(&des_s3, &des_bucket, key).await?;
            if ignore.is_ignored(&src_bucket, key) {
                ignored += 1;
                if copy.is_some() {
                    different += 1;
                    eprintln!("demo: ignored object {key} was copied");
                }
                continue;
            }
            bytes += src.len() as u64;
            match copy {
                Some(c) if c == src => identical += 1,
                Some(_) => {
                    different += 1;
                    eprintln!("demo: {key} differs");
                }
                None => {
                    missing += 1;
                    eprintln!("demo: {key} is missing at the destination");
                }
            }
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => break,
        }
    }
    let ledger = Ledger::new(own.dynamodb.clone(), var("table_queue_name")?);
    let failed = ledger.scan().await?.iter().filter(|r| r.status == Some(Status::Failed)).count();
    let dlq = own
        .sqs
        .get_queue_attributes()
        .queue_url(var("DEMO_DLQ_URL")?)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::ApproximateNumberOfMessages).and_then(|v| v.parse::<u64>().ok()))
        .unwrap_or(0);
    println!();
    println!("  source objects        {objects:>10}");
    println!("  bytes to copy         {bytes:>10}");
    println!("  byte-identical copies {identical:>10}");
    println!("  ignored (not copied)  {ignored:>10}");
    println!("  missing               {missing:>10}");
    println!("  different             {different:>10}");
    println!("  failed (ledger)       {failed:>10}");
    println!("  dead-lettered         {dlq:>10}");
    println!();
    if missing + different + failed > 0 || dlq > 0 || identical + ignored != objects {
        bail!("verification failed");
    }
    println!("demo: every object verified");
    Ok(())
}

async fn cleanup() -> anyhow::Result<()> {
    let own = AwsClients::build(None, "unused").await?;
    let creds = var("ssm_parameter_credentials")?;
    let (src_s3, des_s3) = sides().await?;
    for (s3, bucket) in [(&src_s3, var("DEMO_SRC_BUCKET")?), (&des_s3, var("DEMO_DES_BUCKET")?)] {
        if std::env::var("DEMO_MODE").as_deref() == Ok("gateway") {
            // No versions there: the current objects are all there is.
            let listed = s3.list_objects_v2().bucket(&bucket).send().await?;
            for o in listed.contents() {
                s3.delete_object().bucket(&bucket).key(o.key().unwrap_or_default()).send().await?;
            }
            let _ = s3.delete_bucket().bucket(&bucket).send().await;
            continue;
        }
        let versions = s3.list_object_versions().bucket(&bucket).send().await?;
        for v in versions.versions() {
            s3.delete_object()
                .bucket(&bucket)
                .key(v.key().unwrap_or_default())
                .set_version_id(v.version_id().map(str::to_owned))
                .send()
                .await?;
        }
        for m in versions.delete_markers() {
            s3.delete_object()
                .bucket(&bucket)
                .key(m.key().unwrap_or_default())
                .set_version_id(m.version_id().map(str::to_owned))
                .send()
                .await?;
        }
        let _ = s3.delete_bucket().bucket(&bucket).send().await;
    }
    for url in [var("sqs_queue")?, var("DEMO_DLQ_URL")?] {
        let _ = own.sqs.delete_queue().queue_url(url).send().await;
    }
    let _ = own.dynamodb.delete_table().table_name(var("table_queue_name")?).send().await;
    for p in [var("ssm_parameter_bucket")?, var("ssm_parameter_ignore_list")?, creds] {
        let _ = own.ssm.delete_parameter().name(p).send().await;
    }
    eprintln!("demo: cleaned up");
    Ok(())
}
