//! What becomes of each kind of message: S3 events, test events, removals, malformed bodies,
//! vanished sources, missing destinations; and the Lambda handler's partial batch response on
//! a real SQS event payload.

use aws_lambda_events::event::sqs::SqsEvent;
use s3_migrate_core::ledger::Status;
use s3_migrate_tests::data;
use s3_migrate_tests::world::{Mode, World};
use std::time::{Duration, Instant};
use worker::message::Disposition;

fn s3_event(event_name: &str, bucket: &str, raw_key: &str, size: Option<u64>) -> String {
    let mut object = serde_json::json!({ "key": raw_key, "eTag": "x", "sequencer": "1" });
    if let Some(s) = size {
        object["size"] = s.into();
    }
    // Now, as S3 stamps it: a removal event older than the last copy keeps the copy.
    let now = aws_sdk_s3::primitives::DateTime::from_secs(s3_migrate_core::ledger::now_secs() as i64)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default();
    serde_json::json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": now, "eventName": event_name,
        "s3": { "s3SchemaVersion": "1.0", "bucket": { "name": bucket }, "object": object }
    }]})
    .to_string()
}

/// A world whose pair sends its bucket where its events go (under "mirror"), with `a b+c.txt`
/// at the source; its S3 event key is `a+b%2Bc.txt` ('+' is a space, as S3 encodes it).
async fn mirrored() -> anyhow::Result<(World, Vec<u8>)> {
    let w = World::new(Mode::Server, false).await?;
    let pairs = serde_json::json!([{ "src_bucket": w.src_bucket, "des_bucket": w.des_bucket, "des_prefix": "mirror" }]);
    w.put_param(&w.pairs_parameter, &pairs.to_string()).await?;
    let body = data(1000, 3);
    w.put_src("a b+c.txt", &body).await?;
    Ok((w, body))
}

/// Works the ObjectCreated event of `a b+c.txt` with `p`: consumed.
async fn copy_by_event(w: &World, p: &worker::message::Processor) -> anyhow::Result<()> {
    let created = s3_event("ObjectCreated:Put", &w.src_bucket, "a+b%2Bc.txt", Some(1000));
    assert_eq!(p.process("c", &created, None).await, Disposition::Consumed);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_object_created_event_copies_to_the_event_destination() -> anyhow::Result<()> {
    let (w, body) = mirrored().await?;
    copy_by_event(&w, &w.processor(&[("Des_prefix_default", "mirror")]).await?).await?;
    assert!(w.get_des("mirror/a b+c.txt").await?.is_some_and(|g| g == body));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_s3_test_event_is_consumed_without_a_request() -> anyhow::Result<()> {
    let (w, _) = mirrored().await?;
    let proxy = s3_migrate_tests::fault_proxy::FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let p = w.processor_via(&[("Des_prefix_default", "mirror")], &proxy).await?;
    // What S3 sends when notifications are configured.
    let test_event =
        format!(r#"{{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"t","Bucket":"{}"}}"#, w.src_bucket);
    assert_eq!(p.process("t", &test_event, None).await, Disposition::Consumed);
    assert_eq!(proxy.counts.get().0, 0, "not one S3 request");
    assert!(w.get_des("mirror/a b+c.txt").await?.is_none(), "nothing copied");
    assert!(w.ledger.get(&format!("{}/a b+c.txt", w.src_bucket)).await?.is_none(), "nothing recorded");
    assert!(w.drain(&w.dlq_url).await?.is_empty(), "nothing parked");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_object_removed_event_keeps_the_copy_without_propagate_deletes() -> anyhow::Result<()> {
    let (w, body) = mirrored().await?;
    let p = w.processor(&[("Des_prefix_default", "mirror")]).await?;
    copy_by_event(&w, &p).await?;
    w.own.src_s3.delete_object().bucket(&w.src_bucket).key("a b+c.txt").send().await?;
    let removed = s3_event("ObjectRemoved:Delete", &w.src_bucket, "a+b%2Bc.txt", None);
    assert_eq!(p.process("r", &removed, None).await, Disposition::Consumed);
    assert!(w.get_des("mirror/a b+c.txt").await?.is_some_and(|g| g == body), "the copy is kept");
    Ok(())
}

/// While the source is there the copy stays: `removals::a_removal_while_the_source_has_a_current_object_keeps_the_copy`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_object_removed_event_with_propagate_deletes_removes_the_copy_of_a_gone_source() -> anyhow::Result<()> {
    let (w, _) = mirrored().await?;
    copy_by_event(&w, &w.processor(&[("Des_prefix_default", "mirror")]).await?).await?;
    let deleting = w.processor(&[("Des_prefix_default", "mirror"), ("PropagateDeletes", "true")]).await?;
    w.own.src_s3.delete_object().bucket(&w.src_bucket).key("a b+c.txt").send().await?;
    let removed = s3_event("ObjectRemoved:Delete", &w.src_bucket, "a+b%2Bc.txt", None);
    assert_eq!(deleting.process("r2", &removed, None).await, Disposition::Consumed);
    assert!(w.get_des("mirror/a b+c.txt").await?.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_notification_reaches_the_worker_through_the_queue() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    w.notify_queue_on_created().await?;
    let body = data(2 * 1024 * 1024, 5);
    w.put_src("events/new object.bin", &body).await?;
    let p = w.processor(&[]).await?;
    let started = Instant::now();
    while w.get_des("events/new object.bin").await?.is_none() && started.elapsed() < Duration::from_secs(30) {
        for m in w.drain(&w.queue_url).await? {
            let d = p.process(m.message_id().unwrap_or_default(), m.body().unwrap_or_default(), None).await;
            assert_eq!(d, Disposition::Consumed);
        }
    }
    assert!(w.get_des("events/new object.bin").await?.is_some_and(|g| g == body));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_malformed_body_is_parked_in_the_dlq_at_once_with_its_reason() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let with_dlq = w.processor(&[("DeadLetterQueueUrl", &w.dlq_url)]).await?;
    assert_eq!(with_dlq.process("bad", "{not json", None).await, Disposition::Consumed);
    let parked = w.drain(&w.dlq_url).await?;
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].body(), Some("{not json"));
    let reason = parked[0].message_attributes().and_then(|a| a.get("error")).and_then(|v| v.string_value());
    assert!(reason.is_some_and(|r| r.contains("not JSON")), "{reason:?}");
    Ok(())
}

/// Without `DeadLetterQueueUrl` the message fails, and reaches the DLQ by the redrive policy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_missing_a_field_fails_naming_it() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let p = w.processor(&[]).await?;
    let missing_field = r#"{"Src_bucket":"b","Src_key":"k","Des_bucket":"d","Size":1}"#;
    match p.process("bad2", missing_field, None).await {
        Disposition::Retry { reason } => assert!(reason.contains("Des_key"), "{reason}"),
        other => panic!("{other:?}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_source_gone_is_consumed_and_recorded_as_skipped() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    w.set_pairs(&[("never-existed", &w.des_bucket)]).await?;
    let p = w.processor(&[]).await?;
    assert_eq!(p.process("gone", &w.job("never-existed", 5).to_json(), None).await, Disposition::Consumed);
    let rec = w.ledger.get(&format!("{}/never-existed", w.src_bucket)).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Skipped));
    assert!(rec.reason.is_some_and(|r| r.contains("no longer exists")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_destination_bucket_fails_the_message_and_records_failed() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    w.set_pairs(&[("orphan", "no-such-destination-bucket")]).await?;
    let p = w.processor(&[]).await?;
    w.put_src("orphan.bin", &data(10, 1)).await?;
    let job = s3_migrate_core::Job { des_bucket: "no-such-destination-bucket".into(), ..w.job("orphan.bin", 10) };
    match p.process("nobucket", &job.to_json(), None).await {
        Disposition::Retry { reason } => assert!(reason.contains("no-such-destination-bucket"), "{reason}"),
        other => panic!("{other:?}"),
    }
    let rec = w.ledger.get(&format!("{}/orphan.bin", w.src_bucket)).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Failed));
    assert!(rec.reason.is_some_and(|r| r.contains("NoSuchBucket")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lambda_handler_reports_only_failed_messages() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let body = data(7 * 1024 * 1024, 11);
    w.put_src("good.bin", &body).await?;
    let good = w.job("good.bin", body.len() as u64).to_json();
    w.set_pairs(&[("good", &w.des_bucket), ("bad", "absent-bucket-x")]).await?;
    w.put_src("bad.bin", b"x").await?;
    let bad_bucket = s3_migrate_core::Job { des_bucket: "absent-bucket-x".into(), ..w.job("bad.bin", 1) }.to_json();
    for b in [good.as_str(), "garbage", bad_bucket.as_str()] {
        w.own.sqs.send_message().queue_url(&w.queue_url).message_body(b).send().await?;
    }
    // The batch exactly as Lambda's SQS event source delivers it.
    let received = w.drain(&w.queue_url).await?;
    assert_eq!(received.len(), 3);
    let records: Vec<serde_json::Value> = received
        .iter()
        .map(|m| {
            serde_json::json!({
                "messageId": m.message_id(), "receiptHandle": m.receipt_handle(), "body": m.body(),
                "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": "1" },
                "messageAttributes": {}, "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:jobs",
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    let event: SqsEvent = serde_json::from_value(serde_json::json!({ "Records": records }))?;
    let p = w.processor(&[]).await?;
    let response = worker::lambda::handle_batch(&p, event, Instant::now() + Duration::from_secs(600)).await;
    let mut failed: Vec<String> = response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    failed.sort();
    let mut expected: Vec<String> = received
        .iter()
        .filter(|m| m.body() != Some(good.as_str()))
        .filter_map(|m| m.message_id().map(str::to_owned))
        .collect();
    expected.sort();
    assert_eq!(failed, expected, "the malformed and the missing-bucket messages fail, the good one does not");
    assert!(w.get_des("good.bin").await?.is_some_and(|g| g == body));
    let json = serde_json::to_value(&response)?;
    assert_eq!(json["batchItemFailures"].as_array().map(Vec::len), Some(2));
    Ok(())
}

/// A message that must come back on its `MaxReceiveCount`th receive goes to the dead-letter
/// queue instead (the redrive policy): its job counts as failed for its pair then, so no
/// backlog waits for it. Earlier receives count nothing. The job here cannot be handed on
/// (another delivery holds the object's lease and there is no queue to send it to again).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_last_receive_before_the_dead_letter_queue_counts_the_job_as_failed() -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let w = World::new(Mode::Server, false).await?;
    w.put_src("held.txt", b"held").await?;
    let job = w.job("held.txt", 4);
    let until = s3_migrate_core::ledger::now_secs() + 600;
    w.own
        .dynamodb
        .put_item()
        .table_name(&w.table)
        .item("Key", AttributeValue::S(job.ledger_key()))
        .item("status", AttributeValue::S("IN_PROGRESS".into()))
        .item("owner", AttributeValue::S("another-delivery".into()))
        .item("leaseUntil", AttributeValue::N(until.to_string()))
        .send()
        .await?;
    let mut p = w.processor(&[("MaxReceiveCount", "3")]).await?;
    p.requeue_url = None;
    let failed = || async { w.ledger.progress(&w.src_bucket, &w.des_bucket).await.map(|c| c.failed) };
    for receive in 1..=2 {
        let d = p.process_delivery("m", &job.to_json(), receive, None).await;
        assert!(matches!(d, Disposition::Retry { .. }), "{d:?}");
        assert_eq!(failed().await?, 0, "receive {receive}: it comes back");
    }
    let d = p.process_delivery("m", &job.to_json(), 3, None).await;
    assert!(matches!(d, Disposition::Retry { .. }), "{d:?}");
    assert_eq!(failed().await?, 1, "the last receive: dead-lettered, counted");
    let last = w.ledger.progress(&w.src_bucket, &w.des_bucket).await?.last_failure;
    assert!(last.is_some_and(|(k, why)| k == "held.txt" && why.contains("dead-lettered")));
    Ok(())
}
