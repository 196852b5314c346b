//! `PropagateDeletes`: only the removal of the *current* object deletes the copy, only once
//! the source answers 404, and never by an event older than the last copy. A versioned delete
//! of an old version (what lifecycle expiry of noncurrent versions does) keeps the copy. One
//! test per rule.

use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{event_time, removal_event};
use worker::message::{Disposition, Processor};

/// A versioned world whose worker propagates deletes, with `key` (holding `body`) copied.
async fn copied(key: &str, body: &[u8]) -> anyhow::Result<(World, Processor)> {
    let w = World::new(Mode::Server, true).await?;
    let p = w.processor(&[("PropagateDeletes", "true"), ("DeadLetterQueueUrl", w.dlq_url.as_str())]).await?;
    w.put_src(key, body).await?;
    assert_eq!(p.process("c", &w.job(key, body.len() as u64).to_json(), None).await, Disposition::Consumed);
    assert_eq!(w.get_des(key).await?.as_deref(), Some(body), "copied");
    Ok((w, p))
}

/// Applies `event` and checks that nothing was parked.
async fn apply(w: &World, p: &Processor, event: &str) -> anyhow::Result<()> {
    assert_eq!(p.process("r", event, None).await, Disposition::Consumed);
    assert!(w.drain(&w.dlq_url).await?.is_empty(), "nothing parked");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_old_versions_removal_keeps_the_copy() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, true).await?;
    let p = w.processor(&[("PropagateDeletes", "true"), ("DeadLetterQueueUrl", w.dlq_url.as_str())]).await?;
    let v1 = w.put_src("old-version", b"one").await?.expect("versioned");
    w.put_src("old-version", b"two").await?;
    assert_eq!(p.process("c", &w.job("old-version", 3).to_json(), None).await, Disposition::Consumed);
    // An old version removed for good: the current object lives on, so does its copy.
    w.own.src_s3.delete_object().bucket(&w.src_bucket).key("old-version").version_id(&v1).send().await?;
    apply(&w, &p, &removal_event("ObjectRemoved:Delete", &w.src_bucket, "old-version", Some(&v1), &event_time(0)))
        .await?;
    assert_eq!(
        w.get_des("old-version").await?.as_deref(),
        Some(&b"two"[..]),
        "an old version's removal keeps the copy"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_delete_marker_on_the_current_object_deletes_the_copy() -> anyhow::Result<()> {
    let (w, p) = copied("marked", b"x").await?;
    let marker = w.own.src_s3.delete_object().bucket(&w.src_bucket).key("marked").send().await?;
    let event = removal_event(
        "ObjectRemoved:DeleteMarkerCreated",
        &w.src_bucket,
        "marked",
        marker.version_id(),
        &event_time(0),
    );
    apply(&w, &p, &event).await?;
    assert_eq!(w.get_des("marked").await?, None, "the source answers 404: the copy goes");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removal_while_the_source_has_a_current_object_keeps_the_copy() -> anyhow::Result<()> {
    // The event names a removal, but the object was written again since.
    let (w, p) = copied("recreated", b"back").await?;
    let event = removal_event("ObjectRemoved:DeleteMarkerCreated", &w.src_bucket, "recreated", None, &event_time(0));
    apply(&w, &p, &event).await?;
    assert_eq!(w.get_des("recreated").await?.as_deref(), Some(&b"back"[..]), "the source still has the object");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_removal_event_older_than_the_last_copy_keeps_it() -> anyhow::Result<()> {
    let (w, p) = copied("late-event", b"new").await?;
    w.own.src_s3.delete_object().bucket(&w.src_bucket).key("late-event").send().await?;
    let event =
        removal_event("ObjectRemoved:DeleteMarkerCreated", &w.src_bucket, "late-event", None, &event_time(3600));
    apply(&w, &p, &event).await?;
    assert_eq!(w.get_des("late-event").await?.as_deref(), Some(&b"new"[..]), "an event from before the copy");
    Ok(())
}
