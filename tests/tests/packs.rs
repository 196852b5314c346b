//! Packed jobs (`s3_migrate_core::pack`) on the emulator: what the jobsender sends for a mixed
//! pair, a pack with poison objects, a pack cut by the time budget, and a pack delivered twice.
//! Object writes are counted per key at a pass-through proxy, so "copied once" can fail.

use s3_migrate_core::job::quoted_etag;
use s3_migrate_core::ledger::Status;
use s3_migrate_core::pack::Pack;
use s3_migrate_core::Job;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{data, jobs_in};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use worker::message::Disposition;

const KIB: usize = 1024;

/// Puts `key` with `body` at the source; the job the jobsender makes of it.
async fn put(w: &World, key: &str, body: &[u8]) -> anyhow::Result<Job> {
    let put = w.own.src_s3.put_object().bucket(&w.src_bucket).key(key).body(body.to_vec().into()).send().await?;
    // The SDK adds a CRC32 to every upload, and listings name it.
    let checksum_algorithm = put.checksum_crc32().map(|_| "CRC32".to_owned());
    Ok(Job { etag: put.e_tag().map(quoted_etag), checksum_algorithm, ..w.job(key, body.len() as u64) })
}

/// Puts `n` objects `PREFIX/I.bin` of `size(i)` bytes; their jobs and their bodies by key.
async fn put_objects(
    w: &World,
    prefix: &str,
    n: usize,
    size: impl Fn(usize) -> usize,
) -> anyhow::Result<(Vec<Job>, BTreeMap<String, Vec<u8>>)> {
    let (mut jobs, mut objects) = (Vec::new(), BTreeMap::new());
    for i in 0..n {
        let key = format!("{prefix}/{i}.bin");
        let body = data(size(i), i as u64);
        jobs.push(put(w, &key, &body).await?);
        objects.insert(key, body);
    }
    Ok((jobs, objects))
}

/// Every message body now in `url`, each received and deleted.
async fn take_all(w: &World, url: &str) -> anyhow::Result<Vec<aws_sdk_sqs::types::Message>> {
    let messages = w.drain(url).await?;
    for m in &messages {
        w.own.sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap_or_default()).send().await?;
    }
    Ok(messages)
}

async fn assert_copied(w: &World, objects: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
    for (key, body) in objects {
        assert!(w.get_des(key).await?.is_some_and(|got| &got == body), "{key}: bytes differ or missing");
        let rec = w.ledger.get(&s3_migrate_core::job::object_key(&w.src_bucket, key)).await?.expect("record");
        assert_eq!((rec.status, rec.size), (Some(Status::Done), Some(body.len() as u64)), "{key}");
        assert!(rec.etag.is_some_and(|e| !e.is_empty()), "{key}: the copied ETag is recorded");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_mixed_pair_is_sent_as_exact_packs_and_single_jobs_then_copied() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let small_keys = ["m/a b+c.txt", "m/dir/", "m/%20x", "m/ünï#?.bin", "m/中文.txt"];
    let mut objects = BTreeMap::new();
    let mut expected_jobs = BTreeMap::new();
    for (i, key) in small_keys.iter().enumerate() {
        let body = data(i * 7 * KIB, i as u64);
        expected_jobs.insert(key.to_string(), put(&w, key, &body).await?);
        objects.insert(key.to_string(), body);
    }
    let large = data(200 * KIB, 99);
    expected_jobs.insert("m/large.bin".into(), put(&w, "m/large.bin", &large).await?);
    objects.insert("m/large.bin".into(), large);

    let settings = [("ResumableThreshold", "65536"), ("JobsenderPackObjects", "3")];
    let r = w.sender("", &settings).await?.run_pair(&w.pair(), &Default::default()).await?;
    assert_eq!(r.enqueued, 6);
    let messages = take_all(&w, &w.queue_url).await?;
    let bodies: Vec<&str> = messages.iter().map(|m| m.body().unwrap_or_default()).collect();
    let expected = |keys: &[&str]| keys.iter().map(|k| expected_jobs[*k].clone()).collect::<Vec<_>>();
    let mut small_sorted: Vec<&str> = small_keys.to_vec();
    small_sorted.sort();
    let mut packs = Vec::new();
    let mut singles = Vec::new();
    for body in &bodies {
        let value: serde_json::Value = serde_json::from_str(body)?;
        if Pack::is_pack(&value) {
            packs.push(Pack::from_value(value)?.jobs);
        } else {
            singles.push(Job::from_json(body)?);
        }
    }
    packs.sort_by(|a, b| a[0].src_key.cmp(&b[0].src_key));
    assert_eq!(packs, vec![expected(&small_sorted[..3]), expected(&small_sorted[3..])], "packs in listing order");
    assert_eq!(singles, expected(&["m/large.bin"]), "the large object is a single job in the original format");

    let p = w.processor(&settings).await?;
    for body in &bodies {
        assert_eq!(p.process("m", body, None).await, Disposition::Consumed, "{body}");
    }
    assert_copied(&w, &objects).await?;
    // What `jobsender status` reads: the run's figures and the workers' counters.
    let run = w.ledger.pair_counts(&w.pair().id()).await?.expect("figures of the complete run");
    assert_eq!((run.to_copy, run.copied_at_run), (6, 0));
    let progress = w.ledger.progress(&w.src_bucket, &w.des_bucket).await?;
    let bytes: usize = objects.values().map(Vec::len).sum();
    assert_eq!((progress.copied, progress.bytes, progress.failed), (6, bytes as u64, 0));
    assert!(w.drain(&w.dlq_url).await?.is_empty() && w.drain(&w.queue_url).await?.is_empty());
    Ok(())
}

/// A pack with two poison objects: one the worker may not read (permanent), one S3 keeps
/// failing (retryable, `MaxReceiveCount` 1). Each ends alone in the DLQ with its reason; the
/// others are copied and the pack's message is consumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn poison_objects_of_a_pack_end_alone_in_the_dlq_and_the_rest_are_copied() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let (jobs, mut objects) = put_objects(&w, "poison", 6, |i| KIB + i).await?;
    proxy.set().kms_denied(&w.src_bucket, "poison/1.bin");
    proxy.set().failing_object(&w.src_bucket, "poison/4.bin");
    objects.remove("poison/1.bin");
    objects.remove("poison/4.bin");
    let settings = [("DeadLetterQueueUrl", w.dlq_url.as_str()), ("MaxReceiveCount", "1")];
    let p = w.processor_via(&settings, &proxy).await?;
    let body = Pack { jobs: jobs.clone() }.to_json();
    assert_eq!(p.process("m1", &body, None).await, Disposition::Consumed);
    assert_copied(&w, &objects).await?;

    let mut parked = BTreeMap::new();
    for m in take_all(&w, &w.dlq_url).await? {
        let job = Job::from_json(m.body().unwrap_or_default())?;
        let reason = m.message_attributes().and_then(|a| a.get("error")).and_then(|v| v.string_value()).unwrap_or("");
        parked.insert(job.src_key.clone(), (job, reason.to_owned()));
    }
    assert_eq!(parked.keys().collect::<Vec<_>>(), ["poison/1.bin", "poison/4.bin"], "each poison object alone");
    let (denied, why) = &parked["poison/1.bin"];
    assert_eq!(denied, &jobs[1], "parked as the single job it was");
    assert!(why.contains("AccessDenied") && why.contains("poison/1.bin"), "{why}");
    let (failing, why) = &parked["poison/4.bin"];
    assert_eq!(failing.failures, 1);
    assert!(why.contains("failed 1 times"), "{why}");
    let rec = w.ledger.get(&jobs[1].ledger_key()).await?.expect("record");
    assert_eq!(rec.status, Some(Status::Failed));
    assert!(w.drain(&w.queue_url).await?.is_empty(), "nothing sent again");
    let progress = w.ledger.progress(&w.src_bucket, &w.des_bucket).await?;
    assert_eq!((progress.copied, progress.failed), (4, 2), "{progress:?}");
    let (key, reason) = progress.last_failure.expect("the last failure is kept");
    assert!(["poison/1.bin", "poison/4.bin"].contains(&key.as_str()) && !reason.is_empty(), "{key}: {reason}");

    // With tries left, the failing object alone is sent again, later, its failure counted.
    let p = w.processor_via(&[("DeadLetterQueueUrl", w.dlq_url.as_str()), ("MaxReceiveCount", "3")], &proxy).await?;
    let body = Pack { jobs: vec![jobs[4].clone(), jobs[5].clone()] }.to_json();
    assert_eq!(p.process("m2", &body, None).await, Disposition::Consumed);
    let attrs = w
        .own
        .sqs
        .get_queue_attributes()
        .queue_url(&w.queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await?;
    let delayed = attrs.attributes().and_then(|a| a.values().next().cloned()).unwrap_or_default();
    assert_eq!(delayed, "1", "one pack waits for its retry");
    assert!(w.drain(&w.dlq_url).await?.is_empty());
    Ok(())
}

/// The time budget ends inside a pack: the message is consumed, the objects copied stay
/// copied, the rest are sent again in one pack, and working that pack copies each object
/// exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pack_cut_by_the_time_budget_sends_the_rest_again_and_copies_nothing_twice() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    proxy.rules.latency(Duration::from_millis(300));
    let (jobs, objects) = put_objects(&w, "cut", 8, |_| 2 * KIB).await?;
    let p = w.processor_via(&[("MaxParallelFile", "1")], &proxy).await?;
    let deadline = Instant::now() + Duration::from_millis(2000);
    let body = Pack { jobs: jobs.clone() }.to_json();
    assert_eq!(p.process("m1", &body, Some(deadline)).await, Disposition::Consumed);
    let written_before: BTreeMap<&String, u64> = objects.keys().map(|k| (k, proxy.rules.counts.writes_to(k))).collect();
    let copied = written_before.values().filter(|n| **n > 0).count();
    assert!(copied > 0 && copied < 8, "the budget ends mid-pack: {written_before:?}");

    let again = take_all(&w, &w.queue_url).await?;
    assert_eq!(again.len(), 1, "the rest in one pack");
    let rest = jobs_in(again[0].body().unwrap_or_default())?;
    for key in objects.keys() {
        let sent_again = rest.iter().find(|j| &j.src_key == key);
        match sent_again {
            // Unstarted objects keep attempt 0; one cut in flight is handed on as attempt 1.
            Some(j) => assert!(j.failures == 0 && (j.attempt == 0 || j.attempt == 1), "{j:?}"),
            None => assert_eq!(written_before[key], 1, "{key}: neither copied nor sent again"),
        }
        if sent_again.is_some_and(|j| j.attempt == 0) {
            assert_eq!(written_before[key], 0, "{key}: sent again although copied");
        }
    }
    proxy.rules.latency(Duration::ZERO);
    assert_eq!(p.process("m2", again[0].body().unwrap_or_default(), None).await, Disposition::Consumed);
    assert_copied(&w, &objects).await?;
    for key in objects.keys() {
        let sent_again = u64::from(rest.iter().any(|j| &j.src_key == key));
        assert_eq!(
            proxy.rules.counts.writes_to(key),
            written_before[key] + sent_again,
            "{key}: copied objects are not copied again"
        );
    }
    Ok(())
}

/// A pack delivered again after its first delivery finished: the second writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pack_delivered_twice_in_turn_writes_once() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let (jobs, objects) = put_objects(&w, "twice", 5, |_| 3 * KIB).await?;
    let p = w.processor_via(&[], &proxy).await?;
    let body = Pack { jobs }.to_json();
    assert_eq!(p.process("m1", &body, None).await, Disposition::Consumed);
    assert_eq!(p.process("m1", &body, None).await, Disposition::Consumed);
    for key in objects.keys() {
        assert_eq!(proxy.rules.counts.writes_to(key), 1, "{key}: the second delivery writes nothing");
    }
    assert_copied(&w, &objects).await?;
    Ok(())
}

/// A pack delivered twice at once (SQS's at-least-once delivery): both consumed, every object
/// copied right (both deliveries may write it: the same bytes), nothing left or parked.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pack_delivered_twice_at_once_copies_every_object() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let (jobs, objects) = put_objects(&w, "twice", 5, |_| 3 * KIB).await?;
    let p = w.processor(&[]).await?;
    let body = Pack { jobs }.to_json();
    let (a, b) = tokio::join!(p.process("m2", &body, None), p.process("m2", &body, None));
    assert_eq!((a, b), (Disposition::Consumed, Disposition::Consumed));
    assert_copied(&w, &objects).await?;
    assert!(w.drain(&w.queue_url).await?.is_empty() && w.drain(&w.dlq_url).await?.is_empty());
    Ok(())
}

/// A pack naming one object twice (a hand-made one): copied once, the message consumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pack_naming_an_object_twice_copies_it_once() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let proxy = FaultProxy::rules_only(&std::env::var("AWS_ENDPOINT_URL")?).await?;
    let p = w.processor_via(&[], &proxy).await?;
    let body = data(KIB, 77);
    let twice = put(&w, "twice/named-twice.bin", &body).await?;
    let pack = Pack { jobs: vec![twice.clone(), twice] }.to_json();
    assert_eq!(p.process("m3", &pack, None).await, Disposition::Consumed);
    assert_eq!(proxy.rules.counts.writes_to("twice/named-twice.bin"), 1);
    assert_eq!(w.get_des("twice/named-twice.bin").await?, Some(body));
    Ok(())
}
