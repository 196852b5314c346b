//! What every written object gets (`DestinationSSE`, `DestinationACL`, `CopyObjectLock`) and
//! what S3 does not copy by itself (website redirect, Object Lock, the source's checksum
//! algorithm on single-request copies), in both modes, small and multipart.

use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, ObjectLockLegalHoldStatus, ObjectLockMode, Permission};
use s3_migrate_core::Job;
use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{data, unique};
use worker::message::Disposition;

const MIB: usize = 1024 * 1024;

async fn destination_options(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    // Object Lock needs buckets created with it (and so versioned).
    let (src, des) = (unique("lock-src"), unique("lock-des"));
    w.own.src_s3.create_bucket().bucket(&src).object_lock_enabled_for_bucket(true).send().await?;
    w.des_s3.create_bucket().bucket(&des).object_lock_enabled_for_bucket(true).send().await?;
    let pairs = serde_json::json!([{ "src_bucket": src, "des_bucket": des }]);
    w.put_param(&w.pairs_parameter, &pairs.to_string()).await?;
    let until = DateTime::from_secs(4_102_444_800); // 2100-01-01
    let mut cases = vec![("small.txt", data(3000, 81))];
    if mode == Mode::Stream {
        cases.push(("big.bin", data(11 * MIB, 82)));
    }
    for (key, body) in &cases {
        let put = w
            .own
            .src_s3
            .put_object()
            .bucket(&src)
            .key(*key)
            .body(ByteStream::from(body.clone()))
            .website_redirect_location("/elsewhere.html")
            .object_lock_mode(ObjectLockMode::Governance)
            .object_lock_retain_until_date(until)
            .object_lock_legal_hold_status(ObjectLockLegalHoldStatus::On);
        let put = if body.len() < MIB { put.checksum_algorithm(ChecksumAlgorithm::Sha256) } else { put };
        put.send().await?;
    }
    let settings = [
        ("DestinationSSE", "aws:kms"),
        ("DestinationACL", "public-read"),
        ("CopyObjectLock", "true"),
        ("DeadLetterQueueUrl", w.dlq_url.as_str()),
    ];
    let p = w.processor(&settings).await?;
    for (key, body) in &cases {
        let head = w.own.src_s3.head_object().bucket(&src).key(*key).send().await?;
        let job = Job {
            src_bucket: src.clone(),
            des_bucket: des.clone(),
            etag: head.e_tag().map(str::to_owned),
            checksum_algorithm: (body.len() < MIB).then(|| "SHA256".to_owned()),
            ..w.job(key, body.len() as u64)
        };
        assert_eq!(p.process("m", &job.to_json(), None).await, Disposition::Consumed, "{key}");
        let got = w.des_s3.get_object().bucket(&des).key(*key).send().await?;
        assert_eq!(got.body.collect().await?.into_bytes().as_ref(), body.as_slice(), "{key}: bytes");
        let h = w.des_s3.head_object().bucket(&des).key(*key).checksum_mode(ChecksumMode::Enabled).send().await?;
        assert_eq!(h.server_side_encryption().map(|s| s.as_str()), Some("aws:kms"), "{key}: DestinationSSE");
        assert_eq!(h.website_redirect_location(), Some("/elsewhere.html"), "{key}: website redirect kept");
        assert_eq!(h.object_lock_mode(), Some(&ObjectLockMode::Governance), "{key}: lock mode");
        assert_eq!(h.object_lock_retain_until_date().map(|d| d.secs()), Some(until.secs()), "{key}: retain until");
        assert_eq!(h.object_lock_legal_hold_status(), Some(&ObjectLockLegalHoldStatus::On), "{key}: legal hold");
        if body.len() < MIB {
            assert!(h.checksum_sha256().is_some(), "{key}: the source's SHA256 algorithm kept");
        }
        let acl = w.des_s3.get_object_acl().bucket(&des).key(*key).send().await?;
        let all_users_read = acl.grants().iter().any(|g| {
            g.permission() == Some(&Permission::Read)
                && g.grantee().and_then(|e| e.uri()).is_some_and(|u| u.ends_with("/global/AllUsers"))
        });
        assert!(all_users_read, "{key}: DestinationACL=public-read: {:?}", acl.grants());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn destination_options_stream_mode() -> anyhow::Result<()> {
    destination_options(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn destination_options_server_mode() -> anyhow::Result<()> {
    destination_options(Mode::Server).await
}
