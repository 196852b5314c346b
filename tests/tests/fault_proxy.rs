//! Throttling and faults: the worker reaches S3 through a proxy that answers 10% of requests
//! with 503 SlowDown or 500 and cuts 2% of answers mid-body. A mixed data set still migrates
//! byte for byte, nothing reaches the DLQ, no upload is left open, and no object is recorded
//! DONE unless its destination is identical.
//!
//! This binary holds this one test: it points `AWS_ENDPOINT_URL_S3` of its own process at the
//! proxy, which no other test may see (our side); the other side's SecureString names the proxy
//! as that side's endpoint.

use s3_migrate_core::ledger::Status;
use s3_migrate_core::units::MIB;
use s3_migrate_tests::data;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use std::sync::Arc;
use std::time::Duration;
use worker::poll::{poll, PollOptions};

/// Share of S3 requests answered with an injected 503 or 500.
const ERROR_RATE: f64 = 0.10;
/// Share of S3 answers cut mid-body with a connection reset.
const RESET_RATE: f64 = 0.02;
/// The whole migration must end within this, faults and retries included.
const MIGRATION_LIMIT: Duration = Duration::from_secs(600);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_faults_lose_nothing_and_record_nothing_false() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let mut objects: Vec<(String, Vec<u8>)> =
        (0..40u64).map(|i| (format!("small/{i:02} obj"), data(((i * 1637) % 70_000) as usize, i))).collect();
    for i in 0..3u64 {
        // Three parts each (5 MiB parts): ranged GETs and UploadParts through the proxy.
        objects.push((format!("big/{i}"), data((11 * MIB) as usize + i as usize * 12_345, 100 + i)));
    }
    for (k, body) in &objects {
        w.put_src(k, body).await?;
    }

    let upstream = std::env::var("AWS_ENDPOINT_URL")?;
    let proxy = FaultProxy::start(&upstream, ERROR_RATE, RESET_RATE).await?;
    // Besides the random ones (2% of ~140 requests: none at all 6% of the time), two ranged
    // GETs are cut for certain, so every run proves the resets too.
    proxy.cut_next_ranged_gets(2);
    // SAFETY of intent: this test binary runs this one test; the worker's S3 clients built
    // below read the variable, SQS and DynamoDB stay direct.
    std::env::set_var("AWS_ENDPOINT_URL_S3", &proxy.url);
    w.own
        .ssm
        .put_parameter()
        .name(&w.credentials_parameter)
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .value(s3_migrate_tests::other_store_credentials_json(&proxy.url, &serde_json::json!({})))
        .overwrite(true)
        .send()
        .await?;
    let p = Arc::new(w.processor(&[("MaxThread", "4"), ("MaxParallelFile", "6")]).await?);
    for (k, body) in &objects {
        let job = w.job(k, body.len() as u64).to_json();
        w.own.sqs.send_message().queue_url(&w.queue_url).message_body(job).send().await?;
    }
    let opts = PollOptions {
        queue_url: w.queue_url.clone(),
        until_empty: true,
        wait_seconds: 1,
        visibility_seconds: 30,
        retry_delay_seconds: 1,
    };
    let summary = tokio::time::timeout(MIGRATION_LIMIT, poll(p, opts)).await??;
    std::env::remove_var("AWS_ENDPOINT_URL_S3");

    let (requests, errors, resets) = proxy.counts.get();
    eprintln!(
        "fault proxy: {requests} S3 requests, {errors} answered 5xx, {resets} cut mid-body; {} consumed, {} retried",
        summary.consumed, summary.retried
    );
    assert!(
        errors >= 5 && resets >= 1,
        "the proxy injected too few faults to prove anything: {errors} 5xx, {resets} resets"
    );
    assert!(w.drain(&w.dlq_url).await?.is_empty(), "no job reached the dead-letter queue");
    for (k, body) in &objects {
        let copied = w.get_des(k).await?;
        assert!(copied.as_deref() == Some(body.as_slice()), "{k}: destination differs from the source");
        let record = w.ledger.get(&format!("{}/{k}", w.src_bucket)).await?.expect("a ledger record");
        assert_eq!(record.status, Some(Status::Done), "{k}");
        assert_eq!(record.size, Some(body.len() as u64), "{k}");
    }
    assert_eq!(w.open_uploads().await?, 0, "no multipart upload left open");
    Ok(())
}
