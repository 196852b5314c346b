//! What the ledger keeps as evidence of a copy outlives the jobs about it: a DONE record
//! queued again gets no expiry, and a FAILED record names the source the worker saw, so a
//! failure is not enqueued again every hour.

use aws_sdk_dynamodb::types::AttributeValue;
use jobsender::run::RunOptions;
use s3_migrate_core::ledger::Status;
use s3_migrate_tests::world::{Mode, World};
use worker::message::Disposition;

/// An object copied (DONE), then rewritten at the same size: the jobsender sends it again and
/// marks its record queued. If that job ends without a ledger write (parked, its retries
/// exhausted, its message expired), the record must still be there: no expiry on it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_done_record_queued_again_gets_no_expiry() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    w.put_src("doc.txt", b"first").await?;
    let s = w.sender("", &[]).await?;
    let p = w.processor(&[]).await?;
    assert_eq!(s.run_pair(&w.pair(), &RunOptions::default()).await?.enqueued, 1);
    w.work_queue(&p).await?;
    let key = format!("{}/doc.txt", w.src_bucket);
    assert_eq!(w.ledger.get(&key).await?.and_then(|r| r.status), Some(Status::Done));

    w.put_src("doc.txt", b"secnd").await?;
    let r = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!(r.enqueued, 1, "a same-size rewrite is sent: {r:?}");
    let item = w
        .own
        .dynamodb
        .get_item()
        .table_name(&w.table)
        .key("Key", AttributeValue::S(key.clone()))
        .consistent_read(true)
        .send()
        .await?
        .item
        .unwrap_or_default();
    assert_eq!(item.get("status"), Some(&AttributeValue::S("DONE".into())), "{item:?}");
    assert!(item.contains_key("queuedTime"), "marked queued: {item:?}");
    assert!(!item.contains_key("expireAt"), "the evidence of a copy never expires: {item:?}");
    // Its message is lost: the record still says what was copied.
    w.drain(&w.queue_url).await?;
    assert!(w.ledger.get(&key).await?.is_some_and(|r| r.etag.is_some()));
    Ok(())
}

/// A job with no ETag (an S3 event's, or the original project's format) that fails for good
/// records the ETag the worker's HEAD saw, so the next run finds the object unchanged and
/// leaves it (FAILED, not enqueued again every hour).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_etagless_job_is_not_enqueued_again() -> anyhow::Result<()> {
    // A destination store that takes at most 8 bytes in one PUT and has no multipart (its
    // SecureString says so): 20 bytes cannot go.
    let limits = serde_json::json!({ "multipart": false, "max_put_bytes": 8 });
    let creds = s3_migrate_tests::other_store_credentials_json(&std::env::var("AWS_ENDPOINT_URL")?, &limits);
    let w = World::with_other_store(Mode::Stream, false, &creds).await?;
    let body = vec![b'x'; 20];
    w.put_src("big.bin", &body).await?;
    let p = w.processor(&[("DeadLetterQueueUrl", w.dlq_url.as_str())]).await?;
    let job = w.job("big.bin", body.len() as u64);
    assert_eq!(job.etag, None, "the job carries no ETag");
    assert_eq!(p.process("m", &job.to_json(), None).await, Disposition::Consumed, "parked");
    let rec = w.ledger.get(&job.ledger_key()).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Failed));
    assert!(rec.etag.as_deref().is_some_and(|e| e.len() > 2), "the ETag the HEAD saw: {rec:?}");

    let s = w.sender("", &[]).await?;
    let r = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!((r.failed, r.enqueued), (1, 0), "failed and unchanged: not sent again: {r:?}");
    Ok(())
}
