//! The copy lifecycle as AWS drives it (issue 13): changes the emulator never makes by itself,
//! made on purpose. Each test names the rule it guards.

use jobsender::run::RunOptions;
use s3_migrate_core::ledger::Status;
use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{event_time, removal_event};

/// Same-size rewrite of an unversioned object: the listing's ETag differs from the one the
/// ledger recorded for the copy, so the object is copied again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_same_size_rewrite_is_copied_again() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    w.put_src("same-size.txt", b"first").await?;
    w.put_src("untouched.txt", b"stays").await?;
    let s = w.sender("", &[]).await?;
    let p = w.processor(&[]).await?;
    let first = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!(first.enqueued, 2);
    w.work_queue(&p).await?;
    assert_eq!(w.get_des("same-size.txt").await?.as_deref(), Some(&b"first"[..]));

    w.put_src("same-size.txt", b"secnd").await?;
    let second = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!((second.enqueued, second.equal), (1, 1), "{second:?}");
    assert_eq!(w.work_queue(&p).await?.into_iter().collect::<Vec<_>>(), ["same-size.txt"]);
    assert_eq!(w.get_des("same-size.txt").await?.as_deref(), Some(&b"secnd"[..]));
    let rec = w.ledger.get(&format!("{}/same-size.txt", w.src_bucket)).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Done));

    let third = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!((third.enqueued, third.equal), (0, 2), "nothing changed since: {third:?}");
    // The comparison can be turned off (it costs a ledger read per 100 equal keys).
    w.put_src("untouched.txt", b"STAYS").await?;
    let off = w.sender("", &[("JobsenderCompareETag", "false")]).await?;
    let r = off.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!((r.enqueued, r.equal), (0, 2), "{r:?}");
    Ok(())
}

/// A worker killed inside CompleteMultipartUpload: S3 completed the object, the ledger still
/// names the (now gone) upload. The next delivery finds the completed object and records DONE
/// without sending a single part again. (Server mode copies up to 5 GiB in one CopyObject, so
/// its multipart path shares this code but is not reached with test-sized objects.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_completed_upload_is_never_copied_again() -> anyhow::Result<()> {
    use s3_migrate_tests::fault_proxy::FaultProxy;
    use std::sync::atomic::Ordering;
    use worker::message::Disposition;
    {
        let w = World::new(Mode::Stream, false).await?;
        let body = s3_migrate_tests::data(13 * 1024 * 1024, 91);
        w.put_src("big.bin", &body).await?;
        let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
        let p = w.processor_via(&[("MaxRetry", "0")], &proxy).await?;
        let job = w.job("big.bin", body.len() as u64);
        proxy.set().die_after_next_completion();
        let d = p.process("m1", &job.to_json(), None).await;
        assert!(matches!(d, Disposition::Retry { .. }), "the worker died: {d:?}");
        assert!(w.get_des("big.bin").await?.is_some_and(|g| g == body), "S3 completed the object");
        let rec = w.ledger.get(&job.ledger_key()).await?.expect("record");
        assert_ne!(rec.status, Some(Status::Done), "nothing recorded after the completion");
        assert!(rec.upload_id.is_some(), "the ledger still names the upload");

        proxy.set().revive();
        let parts_before = proxy.counts.upload_parts.load(Ordering::Relaxed);
        let d = p.process("m2", &job.to_json(), None).await;
        assert_eq!(d, Disposition::Consumed);
        assert_eq!(proxy.counts.upload_parts.load(Ordering::Relaxed), parts_before, "no part sent again");
        let rec = w.ledger.get(&job.ledger_key()).await?.expect("record");
        assert_eq!(rec.status, Some(Status::Done));
        assert_eq!(rec.upload_id, None);
        assert!(w.get_des("big.bin").await?.is_some_and(|g| g == body));
        assert_eq!(w.open_uploads().await?, 0);
    }
    Ok(())
}

/// A removal event (or a job) from a source bucket that does not exist is an error naming the
/// bucket, never "the source is gone": nothing is deleted or recorded SKIPPED.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_missing_source_bucket_is_an_error_not_a_vanished_object() -> anyhow::Result<()> {
    use worker::message::Disposition;
    let w = World::new(Mode::Server, false).await?;
    let ghost = s3_migrate_tests::unique("ghost");
    let p = w.processor(&[("PropagateDeletes", "true"), ("EventSourceBuckets", ghost.as_str())]).await?;
    w.put_des("k", b"keep me").await?;
    let e = removal_event("ObjectRemoved:Delete", &ghost, "k", None, &event_time(0));
    let d = p.process("r", &e, None).await;
    let Disposition::Retry { reason } = d else { panic!("{d:?}") };
    assert!(reason.contains(&ghost) && reason.contains("does not exist"), "{reason}");
    assert_eq!(w.get_des("k").await?.as_deref(), Some(&b"keep me"[..]));
    // A job from it (in scope as an event route) fails the same way, not SKIPPED.
    let job = s3_migrate_core::Job { src_bucket: ghost.clone(), ..w.job("k", 7) };
    let d = p.process("j", &job.to_json(), None).await;
    let Disposition::Retry { reason } = d else { panic!("{d:?}") };
    assert!(reason.contains(&ghost) && reason.contains("does not exist"), "{reason}");
    let rec = w.ledger.get(&job.ledger_key()).await?;
    assert_ne!(rec.and_then(|r| r.status), Some(Status::Skipped));
    Ok(())
}

/// S3 events honour the ignore list the jobsender uses (`ssm_parameter_ignore_list`): an
/// ignored key is consumed without a copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn s3_events_honour_the_ignore_list() -> anyhow::Result<()> {
    use worker::message::Disposition;
    let w = World::new(Mode::Server, false).await?;
    let ignore = s3_migrate_tests::unique("ignore");
    w.put_param(&ignore, &format!("# temporary files\n{}/*.tmp\n", w.src_bucket)).await?;
    let p = w.processor(&[("ssm_parameter_ignore_list", ignore.as_str())]).await?;
    for (key, body) in [("scratch.tmp", &b"temp"[..]), ("report.txt", &b"keep"[..])] {
        w.put_src(key, body).await?;
        let event = serde_json::json!({ "Records": [{
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": event_time(0), "eventName": "ObjectCreated:Put",
            "s3": { "s3SchemaVersion": "1.0", "bucket": { "name": w.src_bucket },
                    "object": { "key": key, "size": body.len(), "eTag": "x", "sequencer": "1" } }
        }]});
        assert_eq!(p.process(key, &event.to_string(), None).await, Disposition::Consumed, "{key}");
    }
    assert_eq!(w.get_des("scratch.tmp").await?, None, "ignored");
    assert_eq!(w.get_des("report.txt").await?.as_deref(), Some(&b"keep"[..]));
    // A glob that does not parse stops the worker, naming the parameter.
    let bad = s3_migrate_tests::unique("ignore-bad");
    w.put_param(&bad, "src/[unclosed\n").await?;
    let e = format!("{:#}", w.processor(&[("ssm_parameter_ignore_list", bad.as_str())]).await.err().expect("refused"));
    assert!(e.contains(&bad) && e.contains("[unclosed"), "{e}");
    Ok(())
}

/// An upload aborted by someone else while its parts are sent (`NoSuchUpload` on UploadPart)
/// is settled again: a new upload, the object copied, not FAILED and dead-lettered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_aborted_mid_copy_is_settled_again() -> anyhow::Result<()> {
    use s3_migrate_tests::fault_proxy::FaultProxy;
    use worker::message::Disposition;
    let w = World::new(Mode::Stream, false).await?;
    let body = s3_migrate_tests::data(16 * 1024 * 1024, 93);
    w.put_src("vanishing.bin", &body).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let p = w.processor_via(&[("MaxThread", "1"), ("DeadLetterQueueUrl", w.dlq_url.as_str())], &proxy).await?;
    proxy.set().vanish_next_upload();
    let job = w.job("vanishing.bin", body.len() as u64);
    assert_eq!(p.process("m", &job.to_json(), None).await, Disposition::Consumed);
    assert!(w.get_des("vanishing.bin").await?.is_some_and(|g| g == body), "bytes differ");
    let rec = w.ledger.get(&job.ledger_key()).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Done));
    assert!(w.drain(&w.dlq_url).await?.is_empty(), "nothing dead-lettered");
    assert_eq!(w.open_uploads().await?, 0, "no upload left open");
    Ok(())
}

/// Two deliveries of a small object in stream mode: the slow one read v1, then v2 was written
/// and copied by the other. When the slow PUT finally goes, it must not replace v2 with v1:
/// S3's conditional write (`If-None-Match` / `If-Match`) refuses it, the source is found
/// changed, and the delivery stands down. Destination and ledger end on v2.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_older_small_object_never_overwrites_a_newer_one() -> anyhow::Result<()> {
    use s3_migrate_tests::fault_proxy::FaultProxy;
    use std::sync::atomic::Ordering;
    use worker::message::Disposition;
    let w = World::new(Mode::Stream, false).await?;
    let v1_etag = w
        .own
        .src_s3
        .put_object()
        .bucket(&w.src_bucket)
        .key("raced")
        .body(b"version one".to_vec().into())
        .send()
        .await?
        .e_tag;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let slow = w.processor_via(&[], &proxy).await?;
    let fast = w.processor(&[]).await?;
    let job = s3_migrate_core::Job { etag: v1_etag, ..w.job("raced", 11) };
    proxy.rules.hold.hold_next_put();
    let slow_job = job.clone();
    let slow_run = tokio::spawn(async move { slow.process("slow", &slow_job.to_json(), None).await });
    let started = std::time::Instant::now();
    while !proxy.rules.hold.holding.load(Ordering::SeqCst) {
        assert!(started.elapsed().as_secs() < 30, "the slow delivery never reached its PUT");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // Meanwhile the object is rewritten and the newer version copied.
    let v2 = w
        .own
        .src_s3
        .put_object()
        .bucket(&w.src_bucket)
        .key("raced")
        .body(b"version two".to_vec().into())
        .send()
        .await?;
    let newer = s3_migrate_core::Job { etag: v2.e_tag.clone(), ..w.job("raced", 11) };
    assert_eq!(fast.process("fast", &newer.to_json(), None).await, Disposition::Consumed);
    assert_eq!(w.get_des("raced").await?.as_deref(), Some(&b"version two"[..]));
    proxy.rules.hold.release();
    assert_eq!(slow_run.await?, Disposition::Consumed, "the older delivery stands down");
    assert_eq!(w.get_des("raced").await?.as_deref(), Some(&b"version two"[..]), "never replaced by the older version");
    let rec = w.ledger.get(&job.ledger_key()).await?.expect("record");
    assert_eq!((rec.status, rec.etag), (Some(Status::Done), v2.e_tag), "the ledger names the newer version");
    Ok(())
}

/// A stale upload is aborted where it lives: under the destination recorded with it, not the
/// current job's (here the pair's destination prefix changed between two runs).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stale_upload_is_aborted_under_its_recorded_destination() -> anyhow::Result<()> {
    use std::time::{Duration, Instant};
    use worker::message::Disposition;
    let w = World::new(Mode::Stream, false).await?;
    let body = s3_migrate_tests::data(16 * 1024 * 1024, 97);
    w.put_src("moved.bin", &body).await?;
    let pairs = |prefix: &str| {
        serde_json::json!([{ "src_bucket": w.src_bucket, "des_bucket": w.des_bucket, "des_prefix": prefix }])
            .to_string()
    };
    w.put_param(&w.pairs_parameter, &pairs("old")).await?;
    let first = w.processor(&[("MaxThread", "1")]).await?;
    let old = s3_migrate_core::Job { des_key: "old/moved.bin".into(), ..w.job("moved.bin", body.len() as u64) };
    // A deadline already past: the upload is created, no part starts, the job is handed on.
    let d = first.process("m1", &old.to_json(), Some(Instant::now() - Duration::from_secs(1))).await;
    assert_eq!(d, Disposition::Consumed);
    assert_eq!(w.open_uploads().await?, 1, "an upload in progress under old/");

    w.put_param(&w.pairs_parameter, &pairs("new")).await?;
    let second = w.processor(&[("MaxThread", "4")]).await?;
    let new = s3_migrate_core::Job { des_key: "new/moved.bin".into(), ..old.clone() };
    assert_eq!(second.process("m2", &new.to_json(), None).await, Disposition::Consumed);
    assert!(w.get_des("new/moved.bin").await?.is_some_and(|g| g == body));
    assert_eq!(w.open_uploads().await?, 0, "the upload under old/ was aborted, not leaked");
    Ok(())
}

/// Lambda's hard timeout: in-flight parts are bounded by the deadline, not only new ones. On a
/// slow link the parts that cannot finish are cancelled at the deadline, the job is handed on
/// at once (before the function would be killed), and the next run completes the copy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn in_flight_parts_are_bounded_by_the_deadline() -> anyhow::Result<()> {
    use s3_migrate_tests::fault_proxy::FaultProxy;
    use std::time::{Duration, Instant};
    use worker::message::Disposition;
    let w = World::new(Mode::Stream, false).await?;
    let body = s3_migrate_tests::data(15 * 1024 * 1024, 99);
    w.put_src("slow-link.bin", &body).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let p = w.processor_via(&[("MaxThread", "3")], &proxy).await?;
    // 5 MiB parts at 1 MiB/s: each part needs five seconds; the deadline is in two.
    proxy.rules.throttle_uploads(1024 * 1024);
    let job = w.job("slow-link.bin", body.len() as u64);
    let started = Instant::now();
    let d = p.process("m1", &job.to_json(), Some(started + Duration::from_secs(2))).await;
    let took = started.elapsed();
    assert_eq!(d, Disposition::Consumed, "handed on");
    assert!(took < Duration::from_millis(3500), "in-flight parts were not bounded: {took:?}");
    let handed_on = w.drain(&w.queue_url).await?;
    assert_eq!(handed_on.len(), 1, "one fresh message");
    let next = s3_migrate_core::Job::from_json(handed_on[0].body().unwrap_or_default())?;
    assert_eq!(next.attempt, 1);
    proxy.rules.throttle_uploads(0);
    assert_eq!(p.process("m2", &next.to_json(), None).await, Disposition::Consumed);
    assert!(w.get_des("slow-link.bin").await?.is_some_and(|g| g == body), "bytes differ");
    assert_eq!(w.open_uploads().await?, 0);
    Ok(())
}
