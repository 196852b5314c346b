//! A job may only copy what the deployment was configured to copy: anything outside the bucket
//! pairs and the event routes is parked in the dead-letter queue with its reason, without a
//! single S3 request (counted at the test proxy).

use s3_migrate_core::Job;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use worker::message::Disposition;

fn s3_event(event_name: &str, bucket: &str, key: &str) -> String {
    serde_json::json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-12-01T00:00:00.000Z", "eventName": event_name,
        "s3": { "s3SchemaVersion": "1.0", "bucket": { "name": bucket },
                "object": { "key": key, "size": 5, "eTag": "x", "sequencer": "1" } }
    }]})
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_outside_the_configured_pairs_are_dead_lettered_without_an_s3_request() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    // Only "public/" of the source goes to "mirror/" at the destination.
    let pairs = serde_json::json!([{ "src_bucket": w.src_bucket, "src_prefix": "public/", "des_bucket": w.des_bucket, "des_prefix": "mirror" }]);
    w.put_param(&w.pairs_parameter, &pairs.to_string()).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    // S3 events of the pair's source go where the pair sends its objects.
    let settings =
        [("DeadLetterQueueUrl", w.dlq_url.as_str()), ("PropagateDeletes", "true"), ("Des_prefix_default", "mirror")];
    let p = w.processor_via(&settings, &proxy).await?;
    let job = |src_bucket: &str, src_key: &str, des_bucket: &str, des_key: &str| {
        Job {
            src_bucket: src_bucket.into(),
            src_key: src_key.into(),
            des_bucket: des_bucket.into(),
            des_key: des_key.into(),
            ..w.job("x", 5)
        }
        .to_json()
    };
    let refused = [
        job(&w.src_bucket, "private/payroll.csv", &w.des_bucket, "mirror/private/payroll.csv"),
        job(&w.src_bucket, "public/a.txt", "attacker-bucket", "mirror/public/a.txt"),
        job(&w.src_bucket, "public/a.txt", &w.des_bucket, "elsewhere/public/a.txt"),
        job("someone-elses-bucket", "public/a.txt", &w.des_bucket, "mirror/public/a.txt"),
        // An S3 event from a bucket that is no event source, to Des_bucket_default.
        s3_event("ObjectCreated:Put", "stranger-bucket", "k"),
        s3_event("ObjectRemoved:Delete", "stranger-bucket", "k"),
    ];
    for (i, body) in refused.iter().enumerate() {
        let d = p.process(&format!("m{i}"), body, None).await;
        assert_eq!(d, Disposition::Consumed, "parked: {body}");
    }
    assert_eq!(proxy.counts.get().0, 0, "not a single S3 request");
    let parked = w.drain(&w.dlq_url).await?;
    assert_eq!(parked.len(), refused.len());
    for m in &parked {
        let why = m.message_attributes().and_then(|a| a.get("error")).and_then(|v| v.string_value()).unwrap_or("");
        assert!(why.contains("outside what this deployment copies"), "{why}");
    }
    let ledger_keys = [format!("{}/private/payroll.csv", w.src_bucket), format!("{}/public/a.txt", w.src_bucket)];
    for key in ledger_keys {
        assert_eq!(w.ledger.get(&key).await?, None, "nothing recorded for {key}");
    }

    // In scope: the pair's mapping, and an event from the pair's source bucket.
    w.put_src("public/a.txt", b"hello").await?;
    let d = p.process("ok", &job(&w.src_bucket, "public/a.txt", &w.des_bucket, "mirror/public/a.txt"), None).await;
    assert_eq!(d, Disposition::Consumed);
    assert_eq!(w.get_des("mirror/public/a.txt").await?.as_deref(), Some(&b"hello"[..]));
    w.put_src("public/b.txt", b"event").await?;
    let d = p.process("ev", &s3_event("ObjectCreated:Put", &w.src_bucket, "public/b.txt"), None).await;
    assert_eq!(d, Disposition::Consumed);
    assert_eq!(w.get_des("mirror/public/b.txt").await?.as_deref(), Some(&b"event"[..]), "Des_bucket_default/mirror");
    assert!(w.drain(&w.dlq_url).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_without_its_bucket_pairs_stops_naming_the_parameter() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let e = w.processor(&[("ssm_parameter_bucket", "no-such-pairs-parameter")]).await.err().expect("refused");
    let e = format!("{e:#}");
    assert!(e.contains("no-such-pairs-parameter") && e.contains("ssm_parameter_bucket"), "{e}");
    // An events-only worker needs no pairs.
    let events_only =
        [("ssm_parameter_bucket", "no-such-pairs-parameter"), ("EventSourceBuckets", w.src_bucket.as_str())];
    assert!(w.processor(&events_only).await.is_ok());
    Ok(())
}

/// One source object, one destination: pairs that send the same source keys to two places, or
/// S3 events of a pair's source routed elsewhere than its pair, are refused at start with an
/// error naming them (the ledger keeps one record per source object; two destinations would
/// overwrite each other's records and abort each other's uploads).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_destinations_for_one_source_object_are_refused_at_start() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let other = s3_migrate_tests::unique("other");
    let overlapping = serde_json::json!([
        { "src_bucket": w.src_bucket, "des_bucket": w.des_bucket },
        { "src_bucket": w.src_bucket, "src_prefix": "logs/", "des_bucket": other },
    ]);
    w.put_param(&w.pairs_parameter, &overlapping.to_string()).await?;
    let e = format!("{:#}", w.processor(&[]).await.err().expect("worker refused"));
    assert!(e.contains(&w.pairs_parameter) && e.contains("different destinations") && e.contains(&other), "{e}");
    // The jobsender reads the same parameter the same way.
    let env = s3_migrate_core::config::Env::from_pairs(w.env_vars(&[]));
    let cfg = s3_migrate_core::config::JobsenderConfig::from_env(&env)?;
    let clients = s3_migrate_core::clients::AwsClients::build(None, "unused").await?;
    let e = format!("{:#}", jobsender::setup::bucket_pairs(&cfg, &clients, None).await.expect_err("jobsender refused"));
    assert!(e.contains(&w.pairs_parameter) && e.contains("different destinations"), "{e}");

    // S3 events of the pair's source bucket sent under another prefix than the pair's.
    let whole = serde_json::json!([{ "src_bucket": w.src_bucket, "des_bucket": w.des_bucket }]);
    w.put_param(&w.pairs_parameter, &whole.to_string()).await?;
    let events = [("EventSourceBuckets", w.src_bucket.as_str()), ("Des_prefix_default", "events")];
    let e = format!("{:#}", w.processor(&events).await.err().expect("worker refused"));
    assert!(e.contains(&w.src_bucket) && e.contains("Des_prefix_default") && e.contains("events/"), "{e}");
    Ok(())
}
