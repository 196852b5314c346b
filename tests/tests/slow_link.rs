//! A healthy upload on a slow or lossy link is not failed by the SDK's stalled-stream
//! protection (rule `pause_uploads`): the SDK fails an upload body that has not been polled
//! for 5 s (aws-sdk-rust#1146), which a link that stops for longer does to every part.

use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use std::sync::atomic::Ordering;
use std::time::Duration;
use worker::message::Disposition;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_link_that_stops_for_seconds_does_not_fail_a_healthy_part() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let body = s3_migrate_tests::data(6 * 1024 * 1024, 7);
    w.put_src("stops.bin", &body).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    // No retry: the first attempt of each part must succeed.
    let p = w.processor_via(&[("MaxRetry", "0"), ("MaxThread", "2")], &proxy).await?;
    proxy.rules.pause_uploads(Duration::from_secs(8));
    let d = p.process("m1", &w.job("stops.bin", body.len() as u64).to_json(), None).await;
    assert_eq!(d, Disposition::Consumed, "{d:?}");
    assert!(w.get_des("stops.bin").await?.is_some_and(|g| g == body), "bytes differ");
    assert_eq!(proxy.counts.upload_parts.load(Ordering::Relaxed), 2, "each part sent once");
    Ok(())
}

/// A CopyObject that outlasts the time left (S3 answers when a large or cross-region copy is
/// done; rule `slow_copies`) is cut at the deadline and the job handed on, like a part; the
/// next attempt is a multipart copy, resumable part by part, so a copy longer than any
/// invocation still ends instead of being handed on forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_copy_object_longer_than_the_time_left_is_handed_on_then_copied_in_parts() -> anyhow::Result<()> {
    use std::time::Instant;
    let w = World::new(Mode::Server, false).await?;
    let body = s3_migrate_tests::data(12 * 1024 * 1024, 8);
    w.put_src("long-copy.bin", &body).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let p = w.processor_via(&[], &proxy).await?;
    proxy.rules.slow_copies(Duration::from_secs(6));
    let job = w.job("long-copy.bin", body.len() as u64);
    let started = Instant::now();
    let d = p.process("m1", &job.to_json(), Some(started + Duration::from_secs(2))).await;
    let took = started.elapsed();
    assert_eq!(d, Disposition::Consumed, "handed on");
    assert!(took < Duration::from_millis(3500), "the CopyObject was not bounded by the deadline: {took:?}");
    let handed_on = w.drain(&w.queue_url).await?;
    assert_eq!(handed_on.len(), 1, "one fresh message");
    let next = s3_migrate_core::Job::from_json(handed_on[0].body().unwrap_or_default())?;
    assert_eq!(next.attempt, 1);

    // CopyObject is still slow; the next attempt copies in parts.
    let d = p.process("m2", &next.to_json(), Some(Instant::now() + Duration::from_secs(60))).await;
    assert_eq!(d, Disposition::Consumed);
    assert!(w.get_des("long-copy.bin").await?.is_some_and(|g| g == body), "bytes differ");
    let copy = w.des_s3.head_object().bucket(&w.des_bucket).key("long-copy.bin").send().await?;
    assert!(copy.e_tag().is_some_and(|e| e.trim_matches('"').ends_with("-3")), "a 3-part copy: {:?}", copy.e_tag());
    assert_eq!(w.open_uploads().await?, 0);
    Ok(())
}
