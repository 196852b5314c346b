//! A requester-pays source (the test proxy's `requester_pays` rule answers 403 to any request
//! without `x-amz-request-payer: requester`): with `RequestPayer=requester` the jobsender lists
//! it and the worker copies from it in both modes, tags and multipart included.

use aws_sdk_s3::types::{Tag, Tagging};
use jobsender::run::RunOptions;
use s3_migrate_core::ledger::Status;
use s3_migrate_tests::data;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use std::sync::atomic::Ordering;

const MIB: usize = 1024 * 1024;

async fn copies_from_a_requester_pays_source(mode: Mode) -> anyhow::Result<()> {
    let w = World::new(mode, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    proxy.set().requester_pays(&w.src_bucket);
    let objects = [("small", data(2000, 61)), ("big", data(11 * MIB, 62))];
    for (key, body) in &objects {
        w.put_src(key, body).await?;
        let tags = Tagging::builder().tag_set(Tag::builder().key("team").value("blue").build()?).build()?;
        w.own.src_s3.put_object_tagging().bucket(&w.src_bucket).key(*key).tagging(tags).send().await?;
    }
    let settings = [("RequestPayer", "requester"), ("CopyTags", "true"), ("DeadLetterQueueUrl", w.dlq_url.as_str())];
    let s = w.sender_via(&settings, &proxy).await?;
    let r = s.run_pair(&w.pair(), &RunOptions::default()).await?;
    assert_eq!(r.enqueued, 2, "{r:?}");
    let p = w.processor_via(&settings, &proxy).await?;
    assert_eq!(w.work_queue(&p).await?.len(), 2);
    for (key, body) in &objects {
        assert!(w.get_des(key).await?.is_some_and(|g| g == *body), "{key}: bytes differ");
        let rec = w.ledger.get(&format!("{}/{key}", w.src_bucket)).await?.expect("record");
        assert_eq!(rec.status, Some(Status::Done));
        let tags = w.des_s3.get_object_tagging().bucket(&w.des_bucket).key(*key).send().await?;
        assert_eq!(tags.tag_set().first().map(|t| t.value()), Some("blue"), "{key}: tags copied");
    }
    assert_eq!(proxy.rules.counts.payer_denied.load(Ordering::Relaxed), 0, "every request said who pays");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requester_pays_source_stream_mode() -> anyhow::Result<()> {
    copies_from_a_requester_pays_source(Mode::Stream).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requester_pays_source_server_mode() -> anyhow::Result<()> {
    copies_from_a_requester_pays_source(Mode::Server).await
}
