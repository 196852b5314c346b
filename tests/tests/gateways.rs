//! S3-compatible gateways (issue 14): moto behind the test proxy, which takes the part of a
//! store that lacks what S3 has (the gateway rules, `tests/src/s3_rules/gateway.rs`), always
//! under a base path (`/api/v1/s3`, as Alluxio's S3 proxy). Each rule has its test; the store's
//! settings (`s3_migrate_core::store`) are given in the other side's SecureString.

use s3_migrate_core::ledger::Status;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::s3_rules::Gateway;
use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{data, other_store_credentials_json};
use std::sync::atomic::Ordering;
use worker::message::Disposition;

const MIB: usize = 1024 * 1024;
const BASE_PATH: &str = "/api/v1/s3";

/// A world whose other side is moto behind a proxy with `gateway`'s rules, described to
/// s3-migrate by `store` (SecureString fields).
async fn gateway_world(mode: Mode, gateway: Gateway, store: serde_json::Value) -> anyhow::Result<(World, FaultProxy)> {
    let moto = std::env::var("S3M_MOTO_URL")
        .map_err(|_| anyhow::anyhow!("S3M_MOTO_URL is not set: run `eval \"$(scripts/emulator.sh env)\"`"))?;
    let proxy = FaultProxy::rules_only(&moto).await?;
    proxy.set().gateway = Gateway { base_path: Some(BASE_PATH.into()), ..gateway };
    let creds = other_store_credentials_json(&format!("{}{BASE_PATH}", proxy.url), &store);
    let w = World::with_other_store(mode, false, &creds).await?;
    Ok((w, proxy))
}

/// The reason a parked job carries.
async fn parked_reason(w: &World) -> anyhow::Result<String> {
    let parked = w.drain(&w.dlq_url).await?;
    anyhow::ensure!(parked.len() == 1, "{} parked", parked.len());
    let why = parked[0].message_attributes().and_then(|a| a.get("error")).and_then(|v| v.string_value());
    Ok(why.unwrap_or_default().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_without_multipart_takes_one_streamed_put_up_to_its_limit() -> anyhow::Result<()> {
    let gw = Gateway { no_multipart: true, ..Default::default() };
    let (w, proxy) = gateway_world(Mode::Stream, gw.clone(), serde_json::json!({ "multipart": false })).await?;
    let body = data(12 * MIB, 12);
    w.put_src("whole/12mib.bin", &body).await?;
    let p = w.processor(&[]).await?;
    let d = p.process("m1", &w.job("whole/12mib.bin", body.len() as u64).to_json(), None).await;
    assert_eq!(d, Disposition::Consumed, "{d:?}");
    assert!(w.get_des("whole/12mib.bin").await?.is_some_and(|g| g == body), "bytes differ");
    assert_eq!(proxy.counts.upload_parts.load(Ordering::Relaxed), 0, "one PUT, no part");

    // A store whose single PUT is limited below the object's size: FAILED, the limit named.
    let limited = serde_json::json!({ "multipart": false, "max_put_bytes": 8 * MIB });
    let (w, _proxy) = gateway_world(Mode::Stream, gw, limited).await?;
    w.put_src("whole/12mib.bin", &body).await?;
    let p = w.processor(&[("DeadLetterQueueUrl", w.dlq_url.as_str())]).await?;
    let job = w.job("whole/12mib.bin", body.len() as u64);
    assert_eq!(p.process("m2", &job.to_json(), None).await, Disposition::Consumed, "parked");
    let why = parked_reason(&w).await?;
    assert!(why.contains("8388608") && why.contains("max_put_bytes"), "{why}");
    let rec = w.ledger.get(&job.ledger_key()).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Failed));

    // The same store not described as such: its 501 is permanent and says what to set.
    let (w, _proxy) =
        gateway_world(Mode::Stream, Gateway { no_multipart: true, ..Default::default() }, serde_json::json!({}))
            .await?;
    w.put_src("whole/12mib.bin", &body).await?;
    let p = w.processor(&[("DeadLetterQueueUrl", w.dlq_url.as_str())]).await?;
    let job = w.job("whole/12mib.bin", body.len() as u64);
    assert_eq!(p.process("m3", &job.to_json(), None).await, Disposition::Consumed, "parked at once");
    let why = parked_reason(&w).await?;
    assert!(why.contains("CreateMultipartUpload") && why.contains("multipart=false"), "{why}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_refusing_trailers_gets_content_md5_on_every_write() -> anyhow::Result<()> {
    let gw = Gateway { no_trailers: true, ..Default::default() };
    let (w, proxy) = gateway_world(Mode::Stream, gw, serde_json::json!({ "checksums": "md5" })).await?;
    let (big, small) = (data(12 * MIB, 1), data(1000, 2));
    w.put_src("md5/big.bin", &big).await?;
    w.put_src("md5/small.bin", &small).await?;
    let p = w.processor(&[]).await?;
    for (key, body) in [("md5/big.bin", &big), ("md5/small.bin", &small)] {
        let d = p.process(key, &w.job(key, body.len() as u64).to_json(), None).await;
        assert_eq!(d, Disposition::Consumed, "{key}: {d:?}");
        assert!(w.get_des(key).await?.is_some_and(|g| &g == body), "{key} differs");
    }
    let counts = &proxy.rules.counts;
    assert_eq!(counts.writes_with_trailer.load(Ordering::Relaxed), 0);
    assert_eq!(counts.writes_with_md5.load(Ordering::Relaxed), 3 + 1, "three parts and one PUT");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_without_versioning_is_listed_and_read_without_versions() -> anyhow::Result<()> {
    let gw = Gateway { no_versioning: true, ..Default::default() };
    let (w, _proxy) = gateway_world(Mode::Pull, gw, serde_json::json!({ "versioning": false })).await?;
    let (big, small) = (data(11 * MIB, 3), data(10, 4));
    w.put_src("v/big.bin", &big).await?;
    w.put_src("v/small.bin", &small).await?;
    // What Alluxio lists while an upload of v/open.bin is open: not an object.
    w.put_src("v/open.bin_s3_multipart_tmp/", b"").await?;
    let err = w.sender("", &[("JobsenderCompareVersionId", "true")]).await.err().map(|e| format!("{e:#}"));
    assert!(
        err.as_deref().is_some_and(|e| e.contains("JobsenderCompareVersionId") && e.contains("versioning")),
        "{err:?}"
    );
    let s = w.sender("", &[]).await?;
    let report = s.run_pair(&w.pair(), &jobsender::run::RunOptions::default()).await?;
    assert_eq!(report.enqueued, 2, "{report:?}");
    let p = w.processor(&[]).await?;
    w.work_queue(&p).await?;
    assert!(w.get_des("v/big.bin").await?.is_some_and(|g| g == big));
    assert!(w.get_des("v/small.bin").await?.is_some_and(|g| g == small));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_with_timestamp_etags_after_multipart_is_no_integrity_failure() -> anyhow::Result<()> {
    let gw = Gateway { timestamp_etags: true, ..Default::default() };
    let (w, _proxy) = gateway_world(Mode::Stream, gw, serde_json::json!({})).await?;
    let body = data(12 * MIB, 5);
    w.put_src("ts/big.bin", &body).await?;
    let p = w.processor(&[("MaxRetry", "0")]).await?;
    let job = w.job("ts/big.bin", body.len() as u64);
    let d = p.process("m1", &job.to_json(), None).await;
    assert_eq!(d, Disposition::Consumed, "{d:?}");
    assert!(w.get_des("ts/big.bin").await?.is_some_and(|g| g == body));
    let head = w.des_s3.head_object().bucket(&w.des_bucket).key("ts/big.bin").send().await?;
    assert!(head.e_tag().is_some_and(|e| !e.contains('-')), "the rule is on: {:?}", head.e_tag());
    assert_eq!(w.ledger.get(&job.ledger_key()).await?.and_then(|r| r.status), Some(Status::Done));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_with_only_list_objects_v1_is_listed_with_it() -> anyhow::Result<()> {
    let gw = Gateway { no_list_v2: true, ..Default::default() };
    let store = serde_json::json!({ "list_objects_version": 1 });
    let (w, _proxy) = gateway_world(Mode::Pull, gw.clone(), store).await?;
    let keys = ["v1/a b.txt", "v1/中文.txt", "v1/c+d%25.txt", "v1/dir/"];
    for (i, k) in keys.iter().enumerate() {
        w.put_src(k, &data(100 * i, i as u64)).await?;
    }
    // Not described as such: the run fails and says what to set.
    let (undescribed, _p) = gateway_world(Mode::Pull, gw, serde_json::json!({})).await?;
    let err = undescribed.sender("", &[]).await?.run_pair(&undescribed.pair(), &Default::default()).await.unwrap_err();
    assert!(err.to_string().contains("list_objects_version=1"), "{err}");
    let s = w.sender("", &[]).await?;
    let report = s.run_pair(&w.pair(), &jobsender::run::RunOptions::default()).await?;
    assert_eq!(report.enqueued, keys.len() as u64, "{report:?}");
    let p = w.processor(&[]).await?;
    w.work_queue(&p).await?;
    for (i, k) in keys.iter().enumerate() {
        assert!(w.get_des(k).await?.is_some_and(|g| g == data(100 * i, i as u64)), "{k}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_store_without_head_bucket_or_tagging_degrades_with_a_log_line() -> anyhow::Result<()> {
    let gw = Gateway { no_extras: true, ..Default::default() };
    let (w, _proxy) = gateway_world(Mode::Pull, gw, serde_json::json!({})).await?;
    let (big, small) = (data(11 * MIB, 6), data(10, 7));
    w.put_src("x/big.bin", &big).await?;
    w.put_src("x/small.bin", &small).await?;
    let s = w.sender("", &[]).await?;
    let report = s.run_pair(&w.pair(), &jobsender::run::RunOptions::default()).await?;
    assert_eq!(report.enqueued, 2, "listed although HeadBucket is refused: {report:?}");
    let p = w.processor(&[("CopyTags", "true")]).await?;
    w.work_queue(&p).await?;
    assert!(w.get_des("x/big.bin").await?.is_some_and(|g| g == big));
    assert!(w.get_des("x/small.bin").await?.is_some_and(|g| g == small));
    Ok(())
}
