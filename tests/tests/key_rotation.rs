//! Key rotation (issue 13, item 9): the other side's keys are stored anew in the SecureString
//! and the old key is deactivated while a warm worker still holds it. Rule `revoke_key`: S3
//! answers every request signed with a revoked key `403 InvalidAccessKeyId`.

use aws_sdk_ssm::types::ParameterType;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{OTHER_ACCOUNT, OTHER_ACCOUNT_SECRET};
use std::sync::atomic::Ordering;
use worker::message::Disposition;

/// Another access key id of the other account: LocalStack reads the account (111111111111)
/// from the first 13 characters of an `LSIA` key id, the rest is free ("Credentials").
const ROTATED_KEY: &str = "LSIARTXV5AHDQROTATED";

/// Stores [`ROTATED_KEY`] in the world's credentials parameter.
async fn put_rotated_keys(w: &World) -> anyhow::Result<()> {
    let rotated = serde_json::json!({
        "aws_access_key_id": ROTATED_KEY,
        "aws_secret_access_key": OTHER_ACCOUNT_SECRET,
        "region": std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()),
        "endpoint_url": std::env::var("AWS_ENDPOINT_URL")?,
    });
    w.own
        .ssm
        .put_parameter()
        .name(&w.credentials_parameter)
        .r#type(ParameterType::SecureString)
        .value(rotated.to_string())
        .overwrite(true)
        .send()
        .await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotated_keys_are_read_again_once_before_a_job_fails() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let p = w.processor_via(&[("DeadLetterQueueUrl", w.dlq_url.as_str())], &proxy).await?;
    w.put_src("before.txt", b"before").await?;
    assert_eq!(p.process("m0", &w.job("before.txt", 6).to_json(), None).await, Disposition::Consumed);

    // The rotation: new keys in the parameter, then the old key deactivated.
    put_rotated_keys(&w).await?;
    proxy.set().revoke_key(OTHER_ACCOUNT);
    let big = s3_migrate_tests::data(11 * 1024 * 1024, 17);
    w.put_src("after.bin", &big).await?;
    let d = p.process("m1", &w.job("after.bin", big.len() as u64).to_json(), None).await;
    assert_eq!(d, Disposition::Consumed, "copied with the new keys");
    assert!(w.get_des("after.bin").await?.is_some_and(|b| b == big));
    assert!(proxy.rules.counts.keys_refused.load(Ordering::Relaxed) >= 1, "the old key was refused first");

    // The new key revoked too, nothing new in the parameter: the refusal stands and the job
    // is parked with a reason naming the parameter.
    proxy.set().revoke_key(ROTATED_KEY);
    w.put_src("later.txt", b"later").await?;
    assert_eq!(p.process("m2", &w.job("later.txt", 5).to_json(), None).await, Disposition::Consumed);
    assert!(w.get_des("later.txt").await?.is_none());
    let parked = w.drain(&w.dlq_url).await?;
    assert_eq!(parked.len(), 1);
    let why = parked[0].message_attributes().and_then(|a| a.get("error")).and_then(|v| v.string_value());
    assert!(why.is_some_and(|r| r.contains("InvalidAccessKeyId") && r.contains(&w.credentials_parameter)), "{why:?}");
    Ok(())
}

/// The scheduled jobsender keeps its clients between invocations too: it reads the keys at
/// each invocation, so the hour after a rotation lists with the new keys (a HeadBucket refused
/// for old keys has no body to say why, so it cannot wait for a refusal).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_warm_jobsender_lists_with_rotated_keys() -> anyhow::Result<()> {
    use s3_migrate_core::clients::AwsClients;
    use s3_migrate_core::config::{Env, JobsenderConfig};
    let w = World::new(Mode::Stream, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let cfg = JobsenderConfig::from_env(&Env::from_pairs(w.env_vars(&[])))?;
    let clients = AwsClients::build(cfg.common.job_type, &cfg.common.credentials_parameter).await?;
    let ignore = s3_migrate_core::ignore::IgnoreList::parse("")?;
    let mut sender = jobsender::setup::sender(&cfg, &clients, ignore, w.queue_url.clone()).await?;
    sender.src_s3 = proxy.client(&sender.src_s3);
    sender.des_s3 = proxy.client(&sender.des_s3);
    let h = jobsender::lambda::Handler {
        sender,
        pairs: vec![w.pair()],
        lambda: aws_sdk_lambda::Client::new(&clients.own),
        function_name: None,
        keys: clients.other_keys.clone(),
    };
    let deadline = || std::time::Instant::now() + std::time::Duration::from_secs(60);
    w.put_src("one.txt", b"one").await?;
    jobsender::lambda::handle(&h, &serde_json::json!({}), deadline()).await.map_err(|e| anyhow::anyhow!("{e}"))?;

    put_rotated_keys(&w).await?;
    proxy.set().revoke_key(OTHER_ACCOUNT);
    w.put_src("two.txt", b"two").await?;
    // No worker runs here: an hour later the first run's job shows no progress, so the pair
    // is listed again (and both objects sent).
    w.age_pair_look(&w.pair().id(), s3_migrate_core::backlog::STALL_AFTER_SECS).await?;
    let out =
        jobsender::lambda::handle(&h, &serde_json::json!({}), deadline()).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    assert_eq!((&out["pairs"][0]["enqueued"], &out["pairs"][0]["waiting"]), (&2.into(), &0.into()), "{out}");
    assert_eq!(proxy.rules.counts.keys_refused.load(Ordering::Relaxed), 0, "the old key was never used again");
    Ok(())
}
