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
