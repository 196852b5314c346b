//! The copy lifecycle as AWS drives it (issue 13): changes the emulator never makes by itself,
//! made on purpose. Each test names the rule it guards.

use jobsender::run::RunOptions;
use s3_migrate_core::ledger::Status;
use s3_migrate_tests::world::{Mode, World};

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
