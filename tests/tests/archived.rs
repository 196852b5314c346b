//! Archived sources and permanent failures, as real S3 shows them (the test proxy's `archive`
//! rule): archived objects are counted and never enqueued, restored ones are copied, a
//! restore is asked for on request, and a copy that failed for good is not enqueued again
//! until its source changes or `--retry-failed` asks for it.

use jobsender::run::{PairReport, RunOptions, Sender};
use jobsender::status::Source;
use s3_migrate_core::ledger::Status;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::s3_rules::Archived;
use s3_migrate_tests::world::{Mode, World};
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;

async fn proxy() -> anyhow::Result<FaultProxy> {
    FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await
}

async fn run(w: &World, s: &Sender, opts: &RunOptions) -> anyhow::Result<PairReport> {
    Ok(s.run_pair(&w.pair(), opts).await?)
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archived_objects_are_counted_never_enqueued_and_restored_ones_are_copied() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let proxy = proxy().await?;
    for (key, state) in [
        ("cold/a", Some(Archived::Frozen)),
        ("cold/b", Some(Archived::Frozen)),
        ("cold/c", Some(Archived::Frozen)),
        ("warm/d", Some(Archived::Restored)),
        ("warm/e", Some(Archived::Restored)),
        ("plain", None),
    ] {
        w.put_src(key, key.as_bytes()).await?;
        if let Some(state) = state {
            proxy.set().archive(&w.src_bucket, key, state);
        }
    }
    let s = w.sender_via(&[], &proxy).await?;
    let p = w.processor_via(&[("DeadLetterQueueUrl", w.dlq_url.as_str())], &proxy).await?;

    let first = run(&w, &s, &RunOptions::default()).await?;
    assert_eq!((first.archived, first.enqueued, first.restores_requested), (3, 3, 0), "{first:?}");
    assert_eq!(w.work_queue(&p).await?, set(&["plain", "warm/d", "warm/e"]));
    for key in ["plain", "warm/d", "warm/e"] {
        assert_eq!(w.get_des(key).await?.as_deref(), Some(key.as_bytes()), "{key}");
    }
    let second = run(&w, &s, &RunOptions::default()).await?;
    assert_eq!((second.archived, second.enqueued, second.equal), (3, 0, 3), "{second:?}");
    assert!(w.drain(&w.queue_url).await?.is_empty(), "nothing enqueued the second time");
    assert!(w.drain(&w.dlq_url).await?.is_empty(), "the dead-letter queue stays empty");
    assert_eq!(proxy.rules.counts.archive_denied.load(Ordering::Relaxed), 0, "no archived object was read");
    // `jobsender status` shows them too: 3 done (the restored two and the plain one), 3 archived.
    let status = jobsender::status::status(&w.ledger, &w.own.sqs, &w.queue_url, &[w.pair()], Source::Scan).await?;
    let row = status.lines().nth(1).unwrap_or_default();
    let cols: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(
        &cols[1..7],
        ["3", "0", "0", "0", "0", "3"],
        "done, in progress, queued, failed, skipped, archived: {status}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn archived_objects_are_restored_when_asked() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let proxy = proxy().await?;
    for key in ["x", "y"] {
        w.put_src(key, b"archived").await?;
        proxy.set().archive(&w.src_bucket, key, Archived::Frozen);
    }
    let s = w.sender_via(&[("ArchivedObjects", "restore"), ("RestoreTier", "Standard")], &proxy).await?;
    let dry = run(&w, &s, &RunOptions { dry_run: true, ..Default::default() }).await?;
    assert_eq!((dry.archived, dry.restores_requested), (2, 0), "a dry run asks for nothing");
    let r = run(&w, &s, &RunOptions::default()).await?;
    assert_eq!((r.archived, r.restores_requested, r.enqueued), (2, 2, 0), "{r:?}");
    assert_eq!(proxy.rules.counts.restores.load(Ordering::Relaxed), 2);
    Ok(())
}

/// An object in Intelligent-Tiering's Archive Access tier looks like any other in a listing;
/// its GET fails for good. The job goes to the dead-letter queue at once with its reason, the
/// ledger says FAILED, and the next runs leave it alone until `--retry-failed` or a change.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_object_is_enqueued_again_only_on_request_or_when_its_source_changes() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let proxy = proxy().await?;
    w.put_src("tiered", b"in the archive access tier").await?;
    proxy.set().archive(&w.src_bucket, "tiered", Archived::TieringArchive);
    let s = w.sender_via(&[], &proxy).await?;
    let p = w.processor_via(&[("DeadLetterQueueUrl", w.dlq_url.as_str())], &proxy).await?;

    let first = run(&w, &s, &RunOptions::default()).await?;
    assert_eq!((first.enqueued, first.archived), (1, 0), "the listing cannot tell: {first:?}");
    assert_eq!(w.work_queue(&p).await?, set(&["tiered"]), "consumed: parked, not retried");
    let parked = w.drain(&w.dlq_url).await?;
    assert_eq!(parked.len(), 1, "in the dead-letter queue at once");
    let why = parked[0].message_attributes().and_then(|a| a.get("error")).and_then(|v| v.string_value());
    assert!(why.is_some_and(|r| r.contains("InvalidObjectState") && r.contains("GetObject")), "{why:?}");
    let rec = w.ledger.get(&format!("{}/tiered", w.src_bucket)).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Failed));

    let second = run(&w, &s, &RunOptions::default()).await?;
    assert_eq!((second.enqueued, second.failed), (0, 1), "{second:?}");
    assert!(w.drain(&w.queue_url).await?.is_empty());
    let status = jobsender::status::status(&w.ledger, &w.own.sqs, &w.queue_url, &[w.pair()], Source::Counters).await?;
    assert!(
        status.lines().any(|l| l.starts_with("failed:") && l.contains("tiered") && l.contains("InvalidObjectState")),
        "{status}"
    );

    let retried = run(&w, &s, &RunOptions { retry_failed: true, ..Default::default() }).await?;
    assert_eq!((retried.enqueued, retried.failed), (1, 0), "{retried:?}");
    assert_eq!(w.work_queue(&p).await?, set(&["tiered"]));
    assert_eq!(w.drain(&w.dlq_url).await?.len(), 1, "parked again");

    // The object is rewritten (and readable again): the changed source is enqueued and copied.
    proxy.set().unarchive(&w.src_bucket, "tiered");
    w.put_src("tiered", b"rewritten, back in the frequent tier").await?;
    let changed = run(&w, &s, &RunOptions::default()).await?;
    assert_eq!((changed.enqueued, changed.failed), (1, 0), "{changed:?}");
    assert_eq!(w.work_queue(&p).await?, set(&["tiered"]));
    assert_eq!(w.get_des("tiered").await?.as_deref(), Some(&b"rewritten, back in the frequent tier"[..]));
    Ok(())
}
