//! What real S3 does that the emulator does not, made to happen through the test proxy's named
//! rules (`s3_migrate_tests::s3_rules`): SSE-KMS ETags and damaged uploads. Archived objects,
//! regions and requester pays have their own files.

use s3_migrate_core::ledger::Status;
use s3_migrate_tests::data;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use std::sync::atomic::Ordering;
use worker::message::Disposition;

const MIB: usize = 1024 * 1024;

async fn proxy() -> anyhow::Result<FaultProxy> {
    FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await
}

/// Small objects (with and without the listed ETag in the job) and a multipart one, from and to
/// SSE-KMS buckets: each copy ends DONE on its first delivery, byte-identical.
async fn kms_buckets_copy_on_first_delivery(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    let proxy = proxy().await?;
    proxy.set().kms_bucket(&w.src_bucket);
    proxy.set().kms_bucket(&w.des_bucket);
    let p = w.processor_via(&[("MaxThread", "4")], &proxy).await?;
    let cases = [("small listed", 3000, true), ("small headed", 4000, false), ("big/multipart", 12 * MIB + 1, true)];
    for (i, (key, size, listed)) in cases.into_iter().enumerate() {
        let body = data(size, 40 + i as u64);
        w.put_src(key, &body).await?;
        let mut job = w.job(key, size as u64);
        if listed {
            // As the jobsender lists it through S3: the ETag an SSE-KMS bucket shows.
            let head = proxy.client(&w.own.src_s3).head_object().bucket(&w.src_bucket).key(key).send().await?;
            assert_eq!(head.server_side_encryption().map(|s| s.as_str()), Some("aws:kms"), "the rule is in force");
            job.etag = head.e_tag().map(str::to_owned);
        }
        let d = p.process(&format!("m{i}"), &job.to_json(), None).await;
        assert_eq!(d, Disposition::Consumed, "{key}: first delivery");
        let got = w.get_des(key).await?;
        assert!(
            got.as_ref().is_some_and(|g| *g == body),
            "{key}: bytes differ ({:?} bytes, want {})",
            got.map(|g| g.len()),
            body.len()
        );
        let rec = w.ledger.get(&job.ledger_key()).await?.expect("record");
        assert_eq!(rec.status, Some(Status::Done), "{key}");
    }
    assert_eq!(p.copier.stats.snapshot().failed, 0, "no failed attempt");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kms_buckets_stream_mode_copies_end_done_on_first_delivery() -> anyhow::Result<()> {
    kms_buckets_copy_on_first_delivery(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kms_buckets_server_mode_copies_end_done_on_first_delivery() -> anyhow::Result<()> {
    kms_buckets_copy_on_first_delivery(Mode::Server).await
}

/// A part whose bytes are damaged on the way to an SSE-KMS destination (same length) is refused
/// by S3's check on receipt: with no retry left the copy fails naming UploadPart and nothing
/// lands; with retries the part is sent again and the copy is byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_damaged_part_to_a_kms_destination_never_lands() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let proxy = proxy().await?;
    proxy.set().kms_bucket(&w.des_bucket);
    let body = data(11 * MIB, 51);
    w.put_src("damaged.bin", &body).await?;
    let job = w.job("damaged.bin", body.len() as u64);

    let strict = w.processor_via(&[("MaxThread", "1"), ("MaxRetry", "0")], &proxy).await?;
    proxy.set().corrupt_next_uploads(1);
    let d = strict.process("m1", &job.to_json(), None).await;
    let Disposition::Retry { reason } = d else { panic!("a damaged part was accepted: {d:?}") };
    assert!(reason.contains("UploadPart"), "{reason}");
    assert_eq!(proxy.rules.counts.corrupted.load(Ordering::Relaxed), 1);
    assert_eq!(w.get_des("damaged.bin").await?, None, "nothing landed");

    let patient = w.processor_via(&[("MaxThread", "1")], &proxy).await?;
    proxy.set().corrupt_next_uploads(1);
    let d = patient.process("m2", &job.to_json(), None).await;
    assert_eq!(d, Disposition::Consumed);
    assert_eq!(proxy.rules.counts.corrupted.load(Ordering::Relaxed), 2);
    assert!(w.get_des("damaged.bin").await?.is_some_and(|g| g == body), "bytes differ");
    Ok(())
}

/// The same for a small object's PutObject: its Content-MD5 is checked on receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_damaged_small_put_to_a_kms_destination_never_lands() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let proxy = proxy().await?;
    proxy.set().kms_bucket(&w.des_bucket);
    let body = data(70_000, 52);
    w.put_src("small.bin", &body).await?;
    let p = w.processor_via(&[("MaxRetry", "0")], &proxy).await?;
    proxy.set().corrupt_next_uploads(1);
    let d = p.process("m1", &w.job("small.bin", body.len() as u64).to_json(), None).await;
    let Disposition::Retry { reason } = d else { panic!("a damaged object was accepted: {d:?}") };
    assert!(reason.contains("PutObject"), "{reason}");
    assert_eq!(w.get_des("small.bin").await?, None, "nothing landed");
    let d = p.process("m2", &w.job("small.bin", body.len() as u64).to_json(), None).await;
    assert_eq!(d, Disposition::Consumed);
    assert!(w.get_des("small.bin").await?.is_some_and(|g| g == body), "bytes differ");
    Ok(())
}
