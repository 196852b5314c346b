//! Lambda's hard timeout with the real worker binary (issue 13, item 3): a function timeout of
//! 40 s, UploadPart limited to 128 KiB/s by the proxy's `throttle_uploads`, so one 5 MiB part
//! needs 40 s. The runtime API (`s3_migrate_tests::lambda_api`) gives the invocation its
//! deadline and stops the function at it, as Lambda does; cargo-lambda's cannot (see there).

use s3_migrate_core::Job;
use s3_migrate_tests::bins::binary;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::lambda_api::{FunctionUnderTest, Invoked};
use s3_migrate_tests::world::{Mode, World};
use std::time::Duration;

/// The function timeout; the worker keeps 30 s of it back (`LAMBDA_SAFETY_MARGIN`).
const FUNCTION_TIMEOUT: Duration = Duration::from_secs(40);

/// An SQS event holding one message with `body`.
fn sqs_event(id: &str, body: &str) -> serde_json::Value {
    serde_json::json!({ "Records": [{
        "messageId": id,
        "receiptHandle": format!("handle-{id}"),
        "body": body,
        "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "000000000000", "ApproximateFirstReceiveTimestamp": "0" },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:jobs",
        "awsRegion": "us-east-1"
    }]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slow_part_is_handed_on_before_the_function_timeout() -> anyhow::Result<()> {
    // Both sides' S3 through the proxy: ours by the environment, the other by its SecureString.
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let creds = s3_migrate_tests::other_store_credentials_json(&proxy.url, &serde_json::json!({}));
    let w = World::with_other_store(Mode::Stream, false, &creds).await?;
    let body = s3_migrate_tests::data(12 * 1024 * 1024, 40);
    w.put_src("slow/part.bin", &body).await?;
    proxy.rules.throttle_uploads(128 * 1024);
    let mut env = w.env_vars(&[("MaxThread", "2")]);
    env.push(("AWS_ENDPOINT_URL_S3".into(), proxy.url.clone()));
    let lambda = FunctionUnderTest::start(binary("worker"), env, FUNCTION_TIMEOUT).await?;

    let job = w.job("slow/part.bin", body.len() as u64);
    let (ended, took) = lambda.invoke(&sqs_event("m1", &job.to_json())).await?;
    let Invoked::Response(answer) = ended else {
        anyhow::bail!("the function did not answer within its timeout: {ended:?} after {took:?}");
    };
    assert_eq!(answer["batchItemFailures"], serde_json::json!([]), "the message is consumed: {answer}");
    assert!(took < Duration::from_secs(15), "handed on at its deadline (10 s), not after the parts: {took:?}");
    let handed_on = w.drain(&w.queue_url).await?;
    assert_eq!(handed_on.len(), 1, "one fresh message");
    let next = Job::from_json(handed_on[0].body().unwrap_or_default())?;
    assert_eq!(next.attempt, 1);

    proxy.rules.throttle_uploads(0);
    let (ended, _) = lambda.invoke(&sqs_event("m2", &next.to_json())).await?;
    assert!(matches!(&ended, Invoked::Response(a) if a["batchItemFailures"] == serde_json::json!([])), "{ended:?}");
    assert!(w.get_des("slow/part.bin").await?.is_some_and(|g| g == body), "bytes differ");
    assert_eq!(w.open_uploads().await?, 0);
    Ok(())
}
