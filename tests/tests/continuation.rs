//! The jobsender's continuation chain (`s3_migrate_core::chain`) under what Lambda does: the
//! handler runs in process, its self-invocations reach a Lambda Invoke API (`InvokeApi`), and
//! the test delivers each event as Lambda would, including again (Lambda retries an
//! asynchronous invocation that failed, and may deliver one twice).

use jobsender::lambda::{handle, Handler};
use s3_migrate_core::clients::AwsClients;
use s3_migrate_core::config::{Env, JobsenderConfig};
use s3_migrate_core::pairs::BucketPair;
use s3_migrate_tests::lambda_api::InvokeApi;
use s3_migrate_tests::unique;
use s3_migrate_tests::world::{Mode, World};
use std::time::Instant;

async fn invoke(h: &Handler, event: &serde_json::Value) -> Result<serde_json::Value, String> {
    // A budget already spent: each invocation lists one page of a pair, then hands on.
    handle(h, event, Instant::now()).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_continuation_whose_invocation_fails_makes_one_chain() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    // 1,100 keys: two listing pages, so two invocations.
    let keys: Vec<(String, usize)> = (0..1100).map(|i| (format!("k/{i:04}"), 1)).collect();
    w.put_many(&keys, false).await?;
    // A second pair whose destination bucket does not exist: it fails in every invocation.
    let missing = unique("missing");
    let broken = BucketPair { src_prefix: "none/".into(), des_bucket: missing.clone(), ..w.pair() };

    let api = InvokeApi::start().await?;
    let cfg = JobsenderConfig::from_env(&Env::from_pairs(w.env_vars(&[("JobsenderParallelRanges", "1")])))?;
    let clients = AwsClients::build(cfg.common.job_type, &cfg.common.credentials_parameter).await?;
    let ignore = s3_migrate_core::ignore::IgnoreList::parse("")?;
    let sender = jobsender::setup::sender(&cfg, &clients, ignore, w.queue_url.clone()).await?;
    let lambda_conf = aws_sdk_lambda::config::Builder::from(&clients.own).endpoint_url(&api.url).build();
    let h = Handler {
        sender,
        pairs: vec![w.pair(), broken],
        lambda: aws_sdk_lambda::Client::from_conf(lambda_conf),
        function_name: Some("s3-migrate-jobsender".into()),
        keys: None,
    };
    let scheduled = serde_json::json!({ "detail-type": "Scheduled Event", "source": "aws.events", "detail": {} });

    // One pair fails, the other stops at its checkpoint: the run is handed on, and the
    // invocation succeeds, since Lambda would retry an error beside the continuation.
    let first = invoke(&h, &scheduled).await.map_err(anyhow::Error::msg)?;
    assert_eq!((&first["continued"], &first["step"]), (&true.into(), &1.into()), "{first}");
    assert!(first["pairs"][1]["error"].as_str().is_some_and(|e| e.contains(&missing)), "{first}");
    let handed = api.take();
    assert_eq!(handed.len(), 1, "{handed:?}");
    assert_eq!(handed[0].1, serde_json::json!({ "continuation": true, "step": 2 }));

    // Delivered again (a retry after a lost answer or a timeout): refused, nothing listed.
    let again = invoke(&h, &scheduled).await.map_err(anyhow::Error::msg)?;
    assert!(again["refused"].is_string(), "{again}");
    assert!(api.take().is_empty());

    // The continuation lists the rest; the broken pair fails again, and with nothing to hand
    // on the error is Lambda's to see. Lambda's retries of it are refused: one chain.
    let second = invoke(&h, &handed[0].1).await;
    assert!(second.as_ref().is_err_and(|e| e.contains(&missing)), "{second:?}");
    for retry in 0..2 {
        let r = invoke(&h, &handed[0].1).await.map_err(anyhow::Error::msg)?;
        assert!(r["refused"].is_string(), "retry {retry}: {r}");
    }
    assert!(api.take().is_empty(), "no second chain");

    // Every job sent exactly once over the chain.
    let sent = w.jobs_in_queue(false).await?;
    assert_eq!(sent.len(), keys.len());
    assert!(sent.values().all(|n| *n == 1), "a job sent twice");

    // The next scheduled run starts a new chain at once (the queue is empty now, so it lists
    // the pair again and, its budget spent, hands on).
    let next = invoke(&h, &scheduled).await.map_err(anyhow::Error::msg)?;
    assert_eq!((&next["step"], &next["continued"]), (&3.into(), &true.into()), "{next}");
    assert_eq!(api.take().len(), 1, "the new chain's continuation");
    Ok(())
}
