//! Worker copies against the emulator, in server mode (same account) and stream mode (a
//! second account reached with the SecureString credentials).

use aws_sdk_s3::primitives::ByteStream;
use s3_migrate_core::ledger::Status;
use s3_migrate_tests::data;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use std::collections::HashMap;
use std::time::Instant;
use worker::message::Disposition;

const MIB: usize = 1024 * 1024;

/// (key, size) pairs: every boundary size and every awkward key character.
fn cases() -> Vec<(&'static str, usize)> {
    vec![
        ("empty file", 0),
        ("one+byte", 1),
        ("unicode/中文-ü.txt", 5 * MIB - 1),
        ("percent%41/exactly 5 MiB", 5 * MIB),
        ("hash#tag;semi", 5 * MIB + 1),
        ("dir/trailing/", 0),
        ("several parts/obj.bin", 17 * MIB + 3),
    ]
}

async fn copies_every_size_and_key(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    let p = w.processor(&[("MaxThread", "4")]).await?;
    let mut expected = HashMap::new();
    for (i, (key, size)) in cases().into_iter().enumerate() {
        let body = data(size, i as u64 + 1);
        w.own
            .src_s3
            .put_object()
            .bucket(&w.src_bucket)
            .key(key)
            .body(ByteStream::from(body.clone()))
            .content_type("application/x-test")
            .cache_control("max-age=60")
            .content_disposition("attachment")
            .content_language("en")
            .content_encoding("identity")
            .metadata("origin", format!("case-{i}"))
            .send()
            .await?;
        expected.insert(key, body);
        let job = w.job(key, size as u64);
        let d = p.process(&format!("m{i}"), &job.to_json(), None).await;
        assert_eq!(d, Disposition::Consumed, "{key}");
    }
    for (i, (key, _)) in cases().into_iter().enumerate() {
        let got = w.get_des(key).await?.unwrap_or_else(|| panic!("{key} missing"));
        assert!(got == expected[key], "{key}: bytes differ ({} vs {})", got.len(), expected[key].len());
        let head = w.des_s3.head_object().bucket(&w.des_bucket).key(key).send().await?;
        assert_eq!(head.content_type(), Some("application/x-test"), "{key}");
        assert_eq!(head.cache_control(), Some("max-age=60"), "{key}");
        assert_eq!(head.content_disposition(), Some("attachment"), "{key}");
        assert_eq!(head.content_language(), Some("en"), "{key}");
        assert_eq!(
            head.metadata().and_then(|m| m.get("origin")).map(String::as_str),
            Some(format!("case-{i}").as_str())
        );
        let rec = w.ledger.get(&format!("{}/{}", w.src_bucket, key)).await?.expect("ledger record");
        assert_eq!(rec.status, Some(Status::Done), "{key}");
        assert_eq!(rec.bytes, Some(expected[key].len() as u64));
    }
    assert_eq!(w.open_uploads().await?, 0, "no multipart upload left open");
    let worker::stats::StatsSnapshot { bytes, parts, objects, failed } = p.copier.stats.snapshot();
    assert_eq!((objects, failed), (cases().len() as u64, 0));
    if mode == Mode::Stream {
        assert_eq!(parts, 2 + 4, "multipart: 5 MiB+1 in 2 parts, 17 MiB+3 in 4 parts");
        assert_eq!(bytes, cases().iter().map(|c| c.1 as u64).sum::<u64>(), "every byte streamed once");
    } else {
        assert_eq!(parts, 0, "server mode copies up to 5 GiB with one CopyObject");
        assert_eq!(bytes, 0, "server mode moves no bytes through the worker");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_mode_copies_every_size_and_key() -> anyhow::Result<()> {
    copies_every_size_and_key(Mode::Server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_mode_copies_every_size_and_key_across_accounts() -> anyhow::Result<()> {
    copies_every_size_and_key(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_part_read_cut_mid_body_is_read_again_and_no_short_part_lands() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let body = data(11 * MIB + 5, 11);
    w.put_src("cut.bin", &body).await?;
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL")?, 0.0, 0.0).await?;
    let p = w.processor_via(&[("MaxThread", "4")], &proxy).await?;
    // Two of the three part reads break halfway while their bytes are being piped into their
    // UploadParts.
    proxy.cut_next_ranged_gets(2);
    let d = p.process("m", &w.job("cut.bin", body.len() as u64).to_json(), None).await;
    assert_eq!(d, Disposition::Consumed);
    assert_eq!(proxy.counts.get().2, 2, "both cuts happened");
    assert!(w.get_des("cut.bin").await?.is_some_and(|g| g == body), "bytes differ");
    let worker::stats::StatsSnapshot { bytes, parts, failed, .. } = p.copier.stats.snapshot();
    assert_eq!((parts, failed), (3, 0), "each part counted once, when it landed whole");
    assert_eq!(bytes, body.len() as u64);
    let rec = w.ledger.get(&format!("{}/cut.bin", w.src_bucket)).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Done));
    assert_eq!(w.open_uploads().await?, 0);

    // With no retries left, the failure names the source read, not the upload it broke.
    w.put_src("cut-once.bin", &body).await?;
    let strict = w.processor_via(&[("MaxThread", "4"), ("MaxRetry", "0")], &proxy).await?;
    proxy.cut_next_ranged_gets(1);
    match strict.process("n", &w.job("cut-once.bin", body.len() as u64).to_json(), None).await {
        Disposition::Retry { reason } => {
            assert!(reason.contains("GetObject") && reason.contains("reading part"), "{reason}")
        }
        other => panic!("expected a retry, got {other:?}"),
    }
    Ok(())
}

/// The same job delivered to two workers at once: one object, no upload left open, and a
/// third delivery once it is done sends no part.
async fn duplicate_delivery(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    let body = data(23 * MIB, 7);
    w.put_src("dup.bin", &body).await?;
    let job = w.job("dup.bin", body.len() as u64).to_json();
    let (a, b) = (w.processor(&[("MaxThread", "2")]).await?, w.processor(&[("MaxThread", "2")]).await?);
    let (da, db) = tokio::join!(a.process("a", &job, None), b.process("b", &job, None));
    // One copies; a concurrent duplicate finds it done, or finds it busy and is sent again
    // as a fresh message for after the lease: both deliveries are consumed.
    assert_eq!((&da, &db), (&Disposition::Consumed, &Disposition::Consumed));
    assert!(w.get_des("dup.bin").await?.is_some_and(|g| g == body), "bytes differ");
    assert_eq!(w.open_uploads().await?, 0, "no upload left open");
    let c = w.processor(&[]).await?;
    assert_eq!(c.process("c", &job, None).await, Disposition::Consumed);
    assert_eq!(c.copier.stats.snapshot().parts, 0, "no part sent for a finished object");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stream_mode_duplicate_delivery_gives_one_object_and_no_open_upload() -> anyhow::Result<()> {
    duplicate_delivery(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn server_mode_duplicate_delivery_gives_one_object_and_no_open_upload() -> anyhow::Result<()> {
    duplicate_delivery(Mode::Server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn time_budget_hands_the_job_on_and_the_next_run_resumes() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let body = data(16 * MIB, 9);
    w.put_src("long.bin", &body).await?;
    let p = w.processor(&[("MaxThread", "1")]).await?;
    // A deadline already passed: the upload is claimed but no part starts.
    let d = p.process("first", &w.job("long.bin", body.len() as u64).to_json(), Some(Instant::now())).await;
    assert_eq!(d, Disposition::Consumed, "handed on, so the old message is consumed");
    let record = w.ledger.get(&format!("{}/long.bin", w.src_bucket)).await?.expect("record");
    assert_eq!(record.status, Some(Status::InProgress));
    let upload = record.upload_id.clone().expect("upload recorded");
    let queued = w.drain(&w.queue_url).await?;
    assert_eq!(queued.len(), 1, "exactly one fresh message");
    let next = s3_migrate_core::Job::from_json(queued[0].body().unwrap_or_default())?;
    assert_eq!(next.attempt, 1);
    // Part 1 uploaded by hand into the recorded upload stands for a run cut off after one part.
    w.des_s3
        .upload_part()
        .bucket(&w.des_bucket)
        .key("long.bin")
        .upload_id(&upload)
        .part_number(1)
        .body(ByteStream::from(body[..5 * MIB].to_vec()))
        .send()
        .await?;
    let q = w.processor(&[("MaxThread", "2")]).await?;
    assert_eq!(q.process("second", &next.to_json(), None).await, Disposition::Consumed);
    assert!(w.get_des("long.bin").await?.is_some_and(|g| g == body));
    assert_eq!(q.copier.stats.snapshot().parts, 3, "parts 2..4 sent, part 1 reused");
    let done = w.ledger.get(&format!("{}/long.bin", w.src_bucket)).await?.expect("record");
    assert_eq!((done.status, done.try_times), (Some(Status::Done), 2));
    assert!(done.upload_id.is_none());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stale_upload_is_aborted_when_the_source_changed() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let old = data(11 * MIB, 1);
    w.put_src("changing.bin", &old).await?;
    let p = w.processor(&[]).await?;
    p.process("first", &w.job("changing.bin", old.len() as u64).to_json(), Some(Instant::now())).await;
    let stale =
        w.ledger.get(&format!("{}/changing.bin", w.src_bucket)).await?.and_then(|r| r.upload_id).expect("upload");
    let new = data(12 * MIB, 2);
    w.put_src("changing.bin", &new).await?;
    assert_eq!(
        p.process("second", &w.job("changing.bin", new.len() as u64).to_json(), None).await,
        Disposition::Consumed
    );
    assert!(w.get_des("changing.bin").await?.is_some_and(|g| g == new));
    let uploads = w.des_s3.list_multipart_uploads().bucket(&w.des_bucket).send().await?;
    assert!(uploads.uploads().iter().all(|u| u.upload_id() != Some(stale.as_str())), "stale upload aborted");
    assert_eq!(uploads.uploads().len(), 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overwrite_during_copy_never_mixes_versions() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, true).await?;
    // The copy's uploads pass a link of 20 MiB/s: a 5 MiB part takes a quarter second, so the
    // overwrite (sent straight to the source) lands while parts are still to come.
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    proxy.rules.throttle_uploads(20 * MIB as u64);
    // Ten trials, the overwrite landing after one or two of the four parts.
    for trial in 0..10u64 {
        let key = format!("overwrite-{trial}.bin");
        let v1 = data(20 * MIB, 100 + trial);
        let v2 = data(20 * MIB, 200 + trial);
        w.put_src(&key, &v1).await?;
        let p = w.processor_via(&[("MaxThread", "1")], &proxy).await?;
        let job = w.job(&key, v1.len() as u64).to_json();
        let copy = {
            let p = p.clone();
            tokio::spawn(async move { p.process("m", &job, None).await })
        };
        let after_parts = 1 + trial % 2;
        let started = Instant::now();
        while p.copier.stats.snapshot().parts < after_parts && started.elapsed().as_secs() < 60 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(p.copier.stats.snapshot().parts >= after_parts, "trial {trial}: no part was sent");
        let v2_id = w.put_src(&key, &v2).await?;
        assert!(!copy.is_finished(), "trial {trial}: the overwrite landed after the copy, proving nothing");
        assert_eq!(copy.await?, Disposition::Consumed);
        let got = w.get_des(&key).await?.expect("copied");
        assert!(got == v1 || got == v2, "trial {trial}: destination mixes versions");
        let rec = w.ledger.get(&format!("{}/{key}", w.src_bucket)).await?.expect("record");
        if got == v2 {
            assert_eq!(rec.version_id, v2_id, "ledger names the version copied");
        } else {
            assert_ne!(rec.version_id, v2_id);
        }
        assert_eq!(w.open_uploads().await?, 0);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pinned_version_copies_exactly_that_version() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, true).await?;
    let v1 = data(6 * MIB, 1);
    let v1_id = w.put_src("pinned.bin", &v1).await?.expect("versioned");
    w.put_src("pinned.bin", &data(6 * MIB, 2)).await?;
    let p = w.processor(&[("GetObjectWithVersionId", "true")]).await?;
    let job = s3_migrate_core::Job { version_id: Some(v1_id.clone()), ..w.job("pinned.bin", v1.len() as u64) };
    assert_eq!(p.process("m", &job.to_json(), None).await, Disposition::Consumed);
    assert!(w.get_des("pinned.bin").await?.is_some_and(|g| g == v1));
    let rec = w.ledger.get(&format!("{}/pinned.bin", w.src_bucket)).await?.expect("record");
    assert_eq!(rec.version_id.as_deref(), Some(v1_id.as_str()));
    Ok(())
}
