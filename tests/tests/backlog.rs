//! A pair whose last run's jobs are still being copied is not listed again until the workers
//! have copied them (`s3_migrate_core::backlog`), a first run's jobs cost no queue record, and
//! a queue record keeps its object out of later runs only while its message may still exist.
//! The real worker drains the queue here, so the counters the jobsender reads are the workers'
//! own.

use jobsender::run::{RunOptions, Sender};
use s3_migrate_core::ledger::Status;
use s3_migrate_tests::world::{Mode, World};
use std::time::Duration;
use worker::message::{Disposition, Processor};

/// Receives one message and works it with `p` (consumed, then deleted); its job count.
async fn work_one(w: &World, p: &Processor) -> anyhow::Result<usize> {
    let out = w
        .own
        .sqs
        .receive_message()
        .queue_url(&w.queue_url)
        .max_number_of_messages(1)
        .wait_time_seconds(2)
        .send()
        .await?;
    let m = out.messages().first().ok_or_else(|| anyhow::anyhow!("no message in the queue"))?;
    let body = m.body().unwrap_or_default();
    assert_eq!(p.process(m.message_id().unwrap_or_default(), body, None).await, Disposition::Consumed, "{body}");
    let receipt = m.receipt_handle().unwrap_or_default();
    w.own.sqs.delete_message().queue_url(&w.queue_url).receipt_handle(receipt).send().await?;
    Ok(s3_migrate_tests::jobs_in(body)?.len())
}

/// Thirty source objects `logs/NN.txt`, a jobsender that packs ten to a message, a worker.
async fn thirty_objects_in_packs_of_ten(w: &World) -> anyhow::Result<(Vec<String>, Sender, Processor)> {
    let keys: Vec<String> = (0..30).map(|i| format!("logs/{i:02}.txt")).collect();
    for k in &keys {
        w.put_src(k, k.as_bytes()).await?;
    }
    let s = w.sender("", &[("JobsenderPackObjects", "10")]).await?;
    let p = w.processor(&[]).await?;
    Ok((keys, s, p))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pair_is_listed_again_once_the_workers_have_copied_its_backlog() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let (keys, s, p) = thirty_objects_in_packs_of_ten(&w).await?;
    let (pair, opts) = (w.pair(), RunOptions::default());
    let run = || s.run_pair(&pair, &opts);

    // A first run sends three packs and records none of their objects.
    let first = run().await?;
    assert_eq!((first.enqueued, first.waiting), (30, 0), "{first:?}");
    for k in &keys {
        assert!(w.ledger.get(&format!("{}/{k}", w.src_bucket)).await?.is_none(), "{k}: a first run records nothing");
    }

    // While the workers copy them, later runs wait: not one page is listed, nothing is sent.
    let second = run().await?;
    assert_eq!((second.enqueued, second.waiting, second.equal), (0, 30, 0), "{second:?}");
    assert_eq!(work_one(&w, &p).await?, 10);
    let third = run().await?;
    assert_eq!((third.enqueued, third.waiting, third.equal), (0, 20, 0), "the counters moved by one pack: {third:?}");

    // Once they are copied, the pair is listed again: the copies are equal, and an object
    // written since the first run is sent, with no queue record (no run may have sent it).
    assert_eq!(work_one(&w, &p).await? + work_one(&w, &p).await?, 20);
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    w.put_src("logs/new.txt", b"new").await?;
    let fourth = run().await?;
    assert_eq!((fourth.enqueued, fourth.waiting, fourth.equal), (1, 0, 30), "{fourth:?}");
    assert!(w.ledger.get(&format!("{}/logs/new.txt", w.src_bucket)).await?.is_none());
    for k in &keys {
        let rec = w.ledger.get(&format!("{}/{k}", w.src_bucket)).await?.expect("the worker's record");
        assert_eq!(rec.status, Some(Status::Done), "{k}");
        assert_eq!(w.get_des(k).await?.as_deref(), Some(k.as_bytes()), "{k}");
    }
    assert_eq!(work_one(&w, &p).await?, 1);
    assert_eq!(w.get_des("logs/new.txt").await?.as_deref(), Some(&b"new"[..]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requeue_queued_lists_a_pair_whose_backlog_is_still_being_copied() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    w.put_src("a.txt", b"a").await?;
    let s = w.sender("", &[]).await?;
    assert_eq!(s.run_pair(&w.pair(), &RunOptions::default()).await?.enqueued, 1);
    assert_eq!(s.run_pair(&w.pair(), &RunOptions::default()).await?.waiting, 1);
    let forced = s.run_pair(&w.pair(), &RunOptions { requeue_queued: true, ..Default::default() }).await?;
    assert_eq!((forced.enqueued, forced.waiting), (1, 0), "{forced:?}");
    // Sent again on request, it now has a queue record: it may be in the queue twice.
    let rec = w.ledger.get(&format!("{}/a.txt", w.src_bucket)).await?.expect("queue record");
    assert_eq!(rec.status, Some(Status::Queued));
    Ok(())
}

/// A multi-day backlog is not duplicated: an object still queued is enqueued again only once
/// its message can no longer exist (older than the queue's retention, read from SQS), or when
/// `--requeue-queued` asks.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backlog_is_not_enqueued_again_while_its_messages_can_exist() -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::AttributeValue;
    let w = World::new(Mode::Server, false).await?;
    w.own
        .sqs
        .set_queue_attributes()
        .queue_url(&w.queue_url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod, (4 * 86_400).to_string())
        .send()
        .await?;
    w.put_src("waiting", b"in the backlog").await?;
    let s = w.sender("", &[]).await?;
    // Sent by a first run (no queue record), then again by a run that found that backlog
    // stalled: now with a queue record, which is what this test is about.
    assert_eq!(s.run_pair(&w.pair(), &RunOptions::default()).await?.enqueued, 1);
    let pair_id = w.pair().id();
    let stall = || w.age_pair_look(&pair_id, s3_migrate_core::backlog::STALL_AFTER_SECS);
    stall().await?;
    assert_eq!(s.run_pair(&w.pair(), &RunOptions::default()).await?.enqueued, 1);
    assert!(w
        .ledger
        .get(&format!("{}/waiting", w.src_bucket))
        .await?
        .is_some_and(|r| r.status == Some(Status::Queued)));
    let queued_ago = |days: u64| {
        let w = &w;
        async move {
            let t = s3_migrate_core::ledger::now_secs() - days * 86_400;
            w.own
                .dynamodb
                .update_item()
                .table_name(&w.table)
                .key("Key", AttributeValue::S(format!("{}/waiting", w.src_bucket)))
                .update_expression("SET queuedTime = :t")
                .expression_attribute_values(":t", AttributeValue::N(t.to_string()))
                .send()
                .await
        }
    };
    // Two days later the first message may still wait in the queue (retention: four days).
    queued_ago(2).await?;
    stall().await?;
    let r = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!((r.enqueued, r.already_queued), (0, 1), "a message that can still exist: {r:?}");
    // On request it is enqueued at once.
    let r = s.run_pair(&w.pair(), &RunOptions { requeue_queued: true, ..Default::default() }).await?;
    assert_eq!(r.enqueued, 1, "{r:?}");
    // Five days after its last enqueue no message of it can exist: enqueued again.
    queued_ago(5).await?;
    stall().await?;
    let r = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!(r.enqueued, 1, "{r:?}");
    Ok(())
}

/// An S3 test event (what S3 sends when notifications are set up): a message of no pair.
const TEST_EVENT: &str = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-06T00:00:00.000Z","Bucket":"other","RequestId":"r","HostId":"h"}"#;

/// Every way a job ends counts for its pair. One object of the backlog is deleted before the
/// worker reaches it (it ends "source gone", no copy, no failure); the queue still holds a
/// message of no pair, so only the counters can tell the backlog is done: the next run lists
/// the pair and sends the object written since.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_drained_backlog_with_a_deleted_source_object_does_not_hold_the_pair() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let (_, s, p) = thirty_objects_in_packs_of_ten(&w).await?;
    let first = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!(first.enqueued, 30, "{first:?}");
    w.src_s3.delete_object().bucket(&w.src_bucket).key("logs/07.txt").send().await?;
    assert_eq!(w.work_queue(&p).await?.len(), 30, "the worker drained the whole backlog");
    assert_eq!(w.get_des("logs/07.txt").await?, None, "gone before it was copied");
    w.own.sqs.send_message().queue_url(&w.queue_url).message_body(TEST_EVENT).send().await?;

    tokio::time::sleep(Duration::from_millis(1_100)).await;
    w.put_src("logs/new.txt", b"new").await?;
    let second = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!((second.waiting, second.enqueued, second.equal), (0, 1, 29), "{second:?}");
    Ok(())
}

/// Runs every ten minutes (continuations of a long listing, or a schedule) over a backlog whose
/// messages no worker takes: a look that saw nothing move does not restart the stall clock, so
/// the pair is listed again once 30 minutes pass with no progress. The jobsender's clock is
/// stepped; the test takes seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn runs_every_ten_minutes_see_a_stalled_backlog_after_thirty() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    for k in ["a", "b", "c"] {
        w.put_src(k, k.as_bytes()).await?;
    }
    let mut s = w.sender("", &[]).await?;
    s.clock = s3_migrate_core::clock::Clock::manual(s3_migrate_core::ledger::now_secs());
    let (pair, opts) = (w.pair(), RunOptions::default());
    let run = || s.run_pair(&pair, &opts);
    assert_eq!(run().await?.enqueued, 3);
    for minutes in [10, 20] {
        s.clock.advance(600);
        let r = run().await?;
        assert_eq!((r.waiting, r.enqueued), (3, 0), "+{minutes} min: {r:?}");
    }
    s.clock.advance(600);
    let r = run().await?;
    assert_eq!((r.waiting, r.enqueued), (0, 3), "+30 min with no progress: listed again: {r:?}");
    Ok(())
}
