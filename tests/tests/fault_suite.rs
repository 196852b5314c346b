//! The fault suite's queue scenarios: poison messages among good jobs, and every job delivered
//! three times to two concurrent pollers. Each is bounded in time and talks only to the
//! emulator on 127.0.0.1.

use s3_migrate_core::units::MIB;
use s3_migrate_tests::data;
use s3_migrate_tests::world::{Mode, World};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;
use worker::poll::{poll, PollOptions, PollSummary};

/// A whole scenario must end within this.
const SCENARIO_LIMIT: Duration = Duration::from_secs(600);

fn poll_options(w: &World) -> PollOptions {
    PollOptions {
        queue_url: w.queue_url.clone(),
        until_empty: true,
        wait_seconds: 1,
        visibility_seconds: 30,
        retry_delay_seconds: 1,
    }
}

async fn enqueue(w: &World, bodies: impl IntoIterator<Item = String>) -> anyhow::Result<()> {
    let sends = bodies.into_iter().map(|b| w.own.sqs.send_message().queue_url(&w.queue_url).message_body(b).send());
    for r in futures::future::join_all(sends).await {
        r?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_messages_go_to_the_dlq_with_their_reason_and_good_jobs_are_done() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let good: Vec<(String, Vec<u8>)> =
        (0..200u64).map(|i| (format!("good/{i:03}"), data(512 + i as usize, i))).collect();
    let puts = good.iter().map(|(k, b)| w.put_src(k, b));
    for r in futures::future::join_all(puts).await {
        r?;
    }
    // Twenty bodies that are no job and no S3 event, each malformed in its own way.
    let mut poison: Vec<String> = vec![
        "not json at all".into(),
        "{".into(),
        "[]".into(),
        "42".into(),
        "null".into(),
        "{}".into(),
        r#"{"Src_bucket":"b"}"#.into(),
        r#"{"Src_bucket":"b","Src_key":"k","Des_bucket":"d","Des_key":"k"}"#.into(),
        r#"{"Src_bucket":"b","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":"big"}"#.into(),
        r#"{"Src_bucket":"b","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":-1}"#.into(),
        r#"{"Src_bucket":1,"Src_key":"k","Des_bucket":"d","Des_key":"k","Size":1}"#.into(),
        r#"{"Records":"nope"}"#.into(),
        r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#.into(),
        r#"{"Type":"Notification","Message":"not json"}"#.into(),
        "<xml/>".into(),
        "\u{1f4a3} bomb".into(),
    ];
    for i in 0..4 {
        poison.push(format!(r#"{{"Src_bucket":"b","Src_key":"k{i}","Size":{i}}}"#));
    }
    assert_eq!(poison.len(), 20);
    let jobs = good.iter().map(|(k, b)| w.job(k, b.len() as u64).to_json());
    // Poison spread among the good jobs.
    let mut bodies: Vec<String> = jobs.collect();
    for (i, p) in poison.iter().enumerate() {
        bodies.insert(i * 10, p.clone());
    }
    enqueue(&w, bodies).await?;

    let p = Arc::new(w.processor(&[("DeadLetterQueueUrl", w.dlq_url.as_str()), ("MaxParallelFile", "16")]).await?);
    let summary = tokio::time::timeout(SCENARIO_LIMIT, poll(p, poll_options(&w))).await??;
    assert_eq!(summary, PollSummary { consumed: 220, retried: 0 }, "every message consumed at once, none retried");

    for (k, b) in &good {
        assert!(w.get_des(k).await?.as_deref() == Some(b.as_slice()), "{k} copied");
    }
    let dead = w.drain(&w.dlq_url).await?;
    let bodies: BTreeSet<String> = dead.iter().filter_map(|m| m.body().map(str::to_owned)).collect();
    assert_eq!(bodies, poison.iter().cloned().collect::<BTreeSet<_>>(), "exactly the poison is dead-lettered");
    for m in &dead {
        let reason =
            m.message_attributes().and_then(|a| a.get("error")).and_then(|v| v.string_value()).unwrap_or_default();
        assert!(!reason.trim().is_empty(), "dead-lettered body {:?} carries its reason", m.body());
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_job_three_times_to_two_pollers_gives_one_correct_object() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let mut objects: Vec<(String, Vec<u8>)> =
        (0..4u64).map(|i| (format!("dup/small-{i}"), data(1000 + i as usize * 777, 10 + i))).collect();
    for i in 0..2u64 {
        objects.push((format!("dup/big-{i}"), data((16 * MIB) as usize + 1 + i as usize, 20 + i)));
    }
    for (k, b) in &objects {
        w.put_src(k, b).await?;
    }
    let bodies: Vec<String> =
        objects.iter().flat_map(|(k, b)| std::iter::repeat_n(w.job(k, b.len() as u64).to_json(), 3)).collect();
    enqueue(&w, bodies).await?;

    // A short lease: a duplicate told "busy" comes back when the lease ends.
    let extra = [("MaxThread", "2"), ("MaxParallelFile", "4"), ("LeaseSeconds", "6")];
    let (a, b) = (Arc::new(w.processor(&extra).await?), Arc::new(w.processor(&extra).await?));
    let both = futures::future::try_join(poll(a, poll_options(&w)), poll(b, poll_options(&w)));
    let (sa, sb) = tokio::time::timeout(SCENARIO_LIMIT, both).await??;
    eprintln!("poller a: {sa:?}, poller b: {sb:?}");
    // A delivery that finds its object busy is sent again as a fresh, delayed message and
    // consumed: no delivery comes back through its visibility timeout toward the DLQ.
    assert_eq!(sa.retried + sb.retried, 0, "no delivery retried through visibility");
    assert!(sa.consumed + sb.consumed >= 18, "all 18 deliveries consumed");

    for (k, body) in &objects {
        assert!(w.get_des(k).await?.as_deref() == Some(body.as_slice()), "{k}: one correct object");
    }
    assert_eq!(w.open_uploads().await?, 0, "no multipart upload left open");
    assert!(w.drain(&w.dlq_url).await?.is_empty(), "no delivery dead-lettered");
    Ok(())
}
