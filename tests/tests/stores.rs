//! Other S3 implementations on either side (issue 14): moto, a second and independent S3
//! implementation, as the other account's store, both directions, with the demo's data set.

use aws_sdk_s3::primitives::ByteStream;
use jobsender::run::RunOptions;
use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{data, dataset, other_store_credentials_json};

/// moto's URL (`scripts/emulator.sh` starts it and exports `S3M_MOTO_URL`).
fn moto_url() -> String {
    std::env::var("S3M_MOTO_URL")
        .expect("S3M_MOTO_URL is not set: run `eval \"$(scripts/emulator.sh env)\"` (scripts/test.sh does)")
}

/// Copies the demo's data set from the world's source to its destination with the jobsender
/// and the worker, and checks every object: bytes, Content-Type and user metadata.
async fn migrate_dataset(w: &World) -> anyhow::Result<()> {
    let set = dataset();
    for (i, (key, size)) in set.iter().enumerate() {
        w.src_s3
            .put_object()
            .bucket(&w.src_bucket)
            .key(key)
            .content_type("application/x-demo")
            .metadata("origin", format!("object {i}"))
            .body(ByteStream::from(data(*size, i as u64)))
            .send()
            .await?;
    }
    let s = w.sender("", &[]).await?;
    let report = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!(report.enqueued as usize, set.len(), "{report:?}");
    let p = w.processor(&[("MaxParallelFile", "8")]).await?;
    let copied = w.work_queue(&p).await?;
    assert_eq!(copied.len(), set.len());
    for (i, (key, size)) in set.iter().enumerate() {
        let out = w.des_s3.get_object().bucket(&w.des_bucket).key(key).send().await?;
        assert_eq!(out.content_type(), Some("application/x-demo"), "{key}");
        let origin = out.metadata().and_then(|m| m.get("origin")).cloned();
        assert_eq!(origin, Some(format!("object {i}")), "{key}");
        let body = out.body.collect().await?.into_bytes();
        assert!(body.len() == *size && body == data(*size, i as u64), "{key} differs");
    }
    let again = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!((again.enqueued, again.equal as usize), (0, set.len()), "nothing left to copy: {again:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn localstack_to_moto_copies_the_demo_data_set() -> anyhow::Result<()> {
    let creds = other_store_credentials_json(&moto_url(), &serde_json::json!({}));
    let w = World::with_other_store(Mode::Stream, true, &creds).await?;
    migrate_dataset(&w).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn moto_to_localstack_copies_the_demo_data_set() -> anyhow::Result<()> {
    let creds = other_store_credentials_json(&moto_url(), &serde_json::json!({}));
    let w = World::with_other_store(Mode::Pull, true, &creds).await?;
    migrate_dataset(&w).await
}
