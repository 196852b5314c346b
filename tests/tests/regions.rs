//! Buckets in other regions than the clients' (the test proxy's `bucket_region` rule answers
//! `301 PermanentRedirect` with `x-amz-bucket-region` to a request signed for another region):
//! the jobsender and the worker find each bucket's region once and use a client there; a pair
//! that names a wrong region fails with an error naming the bucket and both regions.

use jobsender::run::RunOptions;
use s3_migrate_core::ledger::Status;
use s3_migrate_core::pairs::BucketPair;
use s3_migrate_tests::data;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use std::sync::atomic::Ordering;

const MIB: usize = 1024 * 1024;

async fn copies_between_buckets_of_other_regions(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    proxy.set().bucket_region(&w.src_bucket, "eu-west-1");
    proxy.set().bucket_region(&w.des_bucket, "ap-southeast-2");
    let objects = [("small", data(1500, 71)), ("big", data(11 * MIB, 72))];
    for (key, body) in &objects {
        w.put_src(key, body).await?;
    }
    let s = w.sender_via(&[], &proxy).await?;
    let r = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!(r.enqueued, 2, "{r:?}");
    let p = w.processor_via(&[], &proxy).await?;
    assert_eq!(w.work_queue(&p).await?.len(), 2);
    for (key, body) in &objects {
        assert!(w.get_des(key).await?.is_some_and(|g| g == *body), "{key}: bytes differ");
        let rec = w.ledger.get(&format!("{}/{key}", w.src_bucket)).await?.expect("record");
        assert_eq!(rec.status, Some(Status::Done));
    }
    // One redirect per bucket and binary at most: the region is learnt, not asked again.
    let redirects = proxy.rules.counts.redirects.load(Ordering::Relaxed);
    assert!((1..=4).contains(&redirects), "{redirects} redirects");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn buckets_of_other_regions_stream_mode() -> anyhow::Result<()> {
    copies_between_buckets_of_other_regions(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn buckets_of_other_regions_server_mode() -> anyhow::Result<()> {
    copies_between_buckets_of_other_regions(Mode::Server).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pair_naming_the_wrong_region_fails_naming_the_bucket_and_both_regions() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    proxy.set().bucket_region(&w.src_bucket, "eu-west-1");
    let s = w.sender_via(&[], &proxy).await?;
    let pair = BucketPair { src_region: Some("us-west-2".into()), ..w.pair() };
    let e = s.run_pair(&pair, &RunOptions::default()).await.expect_err("wrong region").to_string();
    assert!(e.contains(&w.src_bucket) && e.contains("eu-west-1") && e.contains("us-west-2"), "{e}");
    let right = BucketPair { src_region: Some("eu-west-1".into()), ..w.pair() };
    assert!(s.run_pair(&right, &RunOptions::default()).await.is_ok());
    Ok(())
}
