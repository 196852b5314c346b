//! Small objects are copied with no source HEAD: one GET + PUT (stream) or one CopyObject tied
//! to the listed ETag (server). HEADs are counted at a pass-through proxy, so each assertion can
//! fail. Whatever the job no longer describes (the object grew, changed or is gone) goes the
//! HEAD path and still ends right.

use s3_migrate_core::job::quoted_etag;
use s3_migrate_core::ledger::Status;
use s3_migrate_core::Job;
use s3_migrate_tests::data;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use std::sync::atomic::Ordering;
use worker::message::Disposition;

const MIB: usize = 1024 * 1024;

/// Puts a source object; the job the jobsender would make of it (listed size and ETag).
async fn put_listed(w: &World, key: &str, body: &[u8]) -> anyhow::Result<Job> {
    let put = w
        .own
        .src_s3
        .put_object()
        .bucket(&w.src_bucket)
        .key(key)
        .body(body.to_vec().into())
        .content_type("text/x-small")
        .metadata("origin", key)
        .send()
        .await?;
    Ok(Job { etag: put.e_tag().map(quoted_etag), ..w.job(key, body.len() as u64) })
}

fn heads(proxy: &FaultProxy) -> u64 {
    proxy.counts.heads.load(Ordering::Relaxed)
}

async fn small_objects_need_no_head(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL")?, 0.0, 0.0).await?;
    let p = w.processor_via(&[("MaxThread", "4")], &proxy).await?;
    let sizes = [0, 1, 16 * 1024, 5 * MIB];
    for (i, size) in sizes.into_iter().enumerate() {
        let key = format!("small/{i} +%#.bin");
        let body = data(size, i as u64 + 7);
        let job = put_listed(&w, &key, &body).await?;
        assert_eq!(p.process(&format!("m{i}"), &job.to_json(), None).await, Disposition::Consumed, "{key}");
        assert!(w.get_des(&key).await?.is_some_and(|got| got == body), "{key}: bytes differ");
        let head = w.des_s3.head_object().bucket(&w.des_bucket).key(&key).send().await?;
        assert_eq!(head.content_type(), Some("text/x-small"), "{key}");
        assert_eq!(head.metadata().and_then(|m| m.get("origin")), Some(&key), "{key}");
        let rec = w.ledger.get(&job.ledger_key()).await?.expect("ledger record");
        assert_eq!((rec.status, rec.size, rec.etag.clone()), (Some(Status::Done), Some(size as u64), job.etag.clone()));
    }
    assert_eq!(heads(&proxy), 0, "no HEAD for objects the job says are small");

    // A job without the listed ETag (an older jobsender's) still copies; in server mode only a
    // HEAD can tie its CopyObject to a size, so it takes one.
    let body = data(3000, 99);
    let job = Job { etag: None, ..put_listed(&w, "small/unlisted", &body).await? };
    assert_eq!(p.process("m-unlisted", &job.to_json(), None).await, Disposition::Consumed);
    assert!(w.get_des("small/unlisted").await?.is_some_and(|got| got == body));
    assert_eq!(heads(&proxy), u64::from(mode == Mode::Server), "HEADs after a job without ETag");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_mode_reads_small_objects_without_a_head() -> anyhow::Result<()> {
    small_objects_need_no_head(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_mode_copies_small_objects_without_a_head() -> anyhow::Result<()> {
    small_objects_need_no_head(Mode::Server).await
}

/// The object changed after it was listed: to a larger one (multipart in stream mode) and to
/// another small one; both end as the new object, recorded with its size and ETag.
async fn changed_since_listed(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    let p = w.processor(&[("MaxThread", "4")]).await?;
    for (i, new_size) in [12 * MIB + 5, 777].into_iter().enumerate() {
        let key = format!("changed/{i}");
        let job = put_listed(&w, &key, &data(1000, 1)).await?;
        let newer = data(new_size, 2);
        let put = w.own.src_s3.put_object().bucket(&w.src_bucket).key(&key).body(newer.clone().into()).send().await?;
        assert_eq!(p.process(&format!("m{i}"), &job.to_json(), None).await, Disposition::Consumed, "{key}");
        assert!(w.get_des(&key).await?.is_some_and(|got| got == newer), "{key}: not the newer object");
        let rec = w.ledger.get(&job.ledger_key()).await?.expect("ledger record");
        assert_eq!((rec.status, rec.size), (Some(Status::Done), Some(new_size as u64)), "{key}");
        assert_eq!(rec.etag.as_deref(), put.e_tag(), "{key}: the ETag recorded is the copied object's");
    }
    assert_eq!(w.open_uploads().await?, 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_mode_copies_what_the_object_became() -> anyhow::Result<()> {
    changed_since_listed(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_mode_copies_what_the_object_became() -> anyhow::Result<()> {
    changed_since_listed(Mode::Server).await
}

/// The object was deleted after it was listed: recorded as skipped, message consumed.
async fn listed_object_gone(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    let p = w.processor(&[]).await?;
    let job = put_listed(&w, "gone/soon", b"here for now").await?;
    w.own.src_s3.delete_object().bucket(&w.src_bucket).key("gone/soon").send().await?;
    assert_eq!(p.process("m", &job.to_json(), None).await, Disposition::Consumed);
    assert_eq!(w.get_des("gone/soon").await?, None);
    let rec = w.ledger.get(&job.ledger_key()).await?.expect("ledger record");
    assert_eq!(rec.status, Some(Status::Skipped));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_mode_skips_a_listed_object_gone() -> anyhow::Result<()> {
    listed_object_gone(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_mode_skips_a_listed_object_gone() -> anyhow::Result<()> {
    listed_object_gone(Mode::Server).await
}
