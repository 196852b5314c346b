//! The jobsender against the emulator: the queue holds exactly the expected jobs; a second
//! run waits for them, and a backlog that stops moving is sent once more, with queue records; a run cut short by its time budget continues from a checkpoint;
//! versions are compared through the ledger.

use jobsender::run::run_all;
use jobsender::run::{RunOptions, Sender};
use s3_migrate_core::pairs::BucketPair;
use s3_migrate_core::Job;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{JobKey, Mode, World};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

async fn sender(w: &World, ignore: &str, extra: &[(&str, &str)]) -> anyhow::Result<Sender> {
    w.sender(ignore, extra).await
}

/// Every job in the queue, taken from it (deleted); panics on a duplicate.
async fn queued_jobs(w: &World) -> anyhow::Result<BTreeSet<JobKey>> {
    let counts = w.jobs_in_queue(false).await?;
    assert!(counts.values().all(|n| *n == 1), "a job enqueued twice: {counts:?}");
    Ok(counts.into_keys().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_holds_exactly_the_expected_jobs_and_later_runs_wait_for_them() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    // Pair 1: "bulk/" -> "copy/": 1,100 source keys (two listing pages), 1,050 at the
    // destination, ten of them with another size; keys ending in 7 ignored.
    let bulk: Vec<(String, usize)> = (0..1100).map(|i| (format!("bulk/{i:04}"), 1)).collect();
    w.put_many(&bulk, false).await?;
    let present: Vec<(String, usize)> =
        (0..1050).map(|i| (format!("copy/bulk/{i:04}"), if i < 10 { 2 } else { 1 })).collect();
    w.put_many(&present, true).await?;
    // Pair 2: "odd/" -> "" (empty destination prefix): awkward keys, none at the destination.
    let odd =
        ["odd/ünï cödé.txt", "odd/plus+sign", "odd/percent%20x", "odd/with space", "odd/dir/", "odd/中文/ファイル"];
    for k in odd {
        w.put_src(k, if k.ends_with('/') { b"" } else { b"abc" }).await?;
    }
    let ignore = format!("# keys ending in 7\n{}/bulk/*7\n", w.src_bucket);
    let pairs = vec![
        BucketPair {
            src_bucket: w.src_bucket.clone(),
            src_prefix: "bulk/".into(),
            des_bucket: w.des_bucket.clone(),
            des_prefix: "copy".into(),
            ..Default::default()
        },
        BucketPair {
            src_bucket: w.src_bucket.clone(),
            src_prefix: "odd/".into(),
            des_bucket: w.des_bucket.clone(),
            des_prefix: String::new(),
            ..Default::default()
        },
    ];
    let mut expected = BTreeSet::new();
    for i in 0..1100 {
        let k = format!("bulk/{i:04}");
        if !(10..1050).contains(&i) && !k.ends_with('7') {
            expected.insert((w.src_bucket.clone(), k.clone(), w.des_bucket.clone(), format!("copy/{k}"), 1));
        }
    }
    for k in odd {
        let size = if k.ends_with('/') { 0 } else { 3 };
        expected.insert((w.src_bucket.clone(), k.to_owned(), w.des_bucket.clone(), k.to_owned(), size));
    }

    let s = sender(&w, &ignore, &[]).await?;
    let reports = run_all(&s, &pairs, &RunOptions::default()).await;
    assert!(reports.iter().all(|r| r.error.is_none() && r.complete), "{reports:?}");
    let bulk_report = &reports[0];
    assert_eq!(bulk_report.ignored, 110, "one key in ten ends in 7");
    assert_eq!(bulk_report.equal, 1040 - 104, "equal and not ignored");
    let once = |keys: &BTreeSet<JobKey>, n: usize| keys.iter().map(|k| (k.clone(), n)).collect::<BTreeMap<_, _>>();
    assert_eq!(w.jobs_in_queue(true).await?, once(&expected, 1));
    assert_eq!(reports.iter().map(|r| r.enqueued).sum::<u64>(), expected.len() as u64);

    // A second run while those jobs wait lists nothing: each pair waits for its backlog, and
    // the first run left no queue records (the ledger has none of these objects).
    let again = run_all(&s, &pairs, &RunOptions::default()).await;
    let waiting: Vec<u64> = again.iter().map(|r| r.waiting).collect();
    assert_eq!(waiting, reports.iter().map(|r| r.enqueued).collect::<Vec<_>>(), "{again:?}");
    assert!(again.iter().all(|r| r.enqueued == 0 && r.complete), "{again:?}");
    assert_eq!(w.jobs_in_queue(true).await?, once(&expected, 1), "nothing sent twice");
    for (src, key, ..) in expected.iter().take(3) {
        assert!(w.ledger.get(&format!("{src}/{key}")).await?.is_none(), "{key}: a first run writes no queue record");
    }

    // No worker takes those messages, so the backlog never moves: once it has shown no
    // progress for the stall time, the pairs are listed again and every job sent once more,
    // now with a queue record; a new object, modified after the first run, needs none.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    w.put_src("odd/brand new", b"12345").await?;
    for r in &reports {
        w.age_pair_look(&r.pair, s3_migrate_core::backlog::STALL_AFTER_SECS).await?;
    }
    let third = run_all(&s, &pairs, &RunOptions::default()).await;
    assert_eq!(third.iter().map(|r| r.enqueued).sum::<u64>(), expected.len() as u64 + 1, "{third:?}");
    let brand_new =
        (w.src_bucket.clone(), "odd/brand new".to_owned(), w.des_bucket.clone(), "odd/brand new".to_owned(), 5);
    let mut twice = once(&expected, 2);
    twice.insert(brand_new.clone(), 1);
    assert_eq!(w.jobs_in_queue(true).await?, twice);
    for (src, key, ..) in &expected {
        let rec = w.ledger.get(&format!("{src}/{key}")).await?;
        assert!(rec.is_some_and(|r| r.queued_time.is_some()), "{key}: sent again without a queue record");
    }
    assert!(w.ledger.get(&format!("{}/odd/brand new", w.src_bucket)).await?.is_none());

    // A fourth run, once that backlog stalls too, sends only the new object again: the others'
    // records say their messages may still exist.
    for r in &third {
        w.age_pair_look(&r.pair, s3_migrate_core::backlog::STALL_AFTER_SECS).await?;
    }
    let fourth = run_all(&s, &pairs, &RunOptions::default()).await;
    assert_eq!(fourth.iter().map(|r| r.already_queued).sum::<u64>(), expected.len() as u64, "{fourth:?}");
    assert_eq!(fourth.iter().map(|r| r.enqueued).sum::<u64>(), 1, "{fourth:?}");

    // Every message gone (lost, or parked by hand): an empty queue holds no backlog and makes
    // every queue record stale, so the next run lists at once and sends every job again.
    w.jobs_in_queue(false).await?;
    let fifth = run_all(&s, &pairs, &RunOptions::default()).await;
    assert_eq!(fifth.iter().map(|r| (r.waiting, r.already_queued)).collect::<Vec<_>>(), [(0, 0), (0, 0)], "{fifth:?}");
    let mut all = once(&expected, 1);
    all.insert(brand_new, 1);
    assert_eq!(w.jobs_in_queue(false).await?, all);
    Ok(())
}

/// Records a complete run of `pair` that ended now and whose jobs are finished, so the next
/// run lists the pair and records the objects modified until now as queued (a first run
/// records none: see `s3_migrate_core::backlog`).
async fn an_earlier_run_may_have_sent_them(w: &World, pair: &BucketPair) -> anyhow::Result<()> {
    let now = s3_migrate_core::ledger::now_secs();
    let counts = s3_migrate_core::ledger::PairCounts { at: now, looked_at: now, ..Default::default() };
    w.ledger.set_pair_counts(&pair.id(), counts).await?;
    Ok(())
}

/// Runs `pair` with an already spent time budget until it completes; returns the runs taken,
/// the most ranges any checkpoint held, and the jobs enqueued in all.
async fn run_to_completion(s: &Sender, pair: &BucketPair) -> anyhow::Result<(u32, usize, u64)> {
    let (mut runs, mut most_ranges, mut enqueued) = (0, 0, 0);
    loop {
        runs += 1;
        assert!(runs <= 10, "no progress");
        // A budget that is already spent: each range does one page, then checkpoints.
        let r = s.run_pair(pair, &RunOptions { deadline: Some(Instant::now()), ..Default::default() }).await?;
        enqueued += r.enqueued;
        if r.complete {
            break;
        }
        let saved = s.ledger.checkpoint(&pair.id()).await?.expect("checkpoint saved");
        most_ranges = most_ranges.max(saved.checkpoint.ranges.len());
    }
    assert_eq!(s.ledger.checkpoint(&pair.id()).await?, None, "checkpoint cleared at the end");
    Ok((runs, most_ranges, enqueued))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_run_stopped_by_its_time_budget_continues_from_the_checkpoint() -> anyhow::Result<()> {
    // One sequential listing, and the key space split into ranges listed at once.
    for ranges in ["1", "2"] {
        let w = World::new(Mode::Server, false).await?;
        let keys: Vec<(String, usize)> = (0..2500).map(|i| (format!("k/{i:05}"), 1 + i % 3)).collect();
        w.put_many(&keys, false).await?;
        let expected: BTreeSet<JobKey> = keys
            .iter()
            .map(|(k, s)| (w.src_bucket.clone(), k.clone(), w.des_bucket.clone(), k.clone(), *s as u64))
            .collect();
        let pair = BucketPair {
            src_bucket: w.src_bucket.clone(),
            src_prefix: String::new(),
            des_bucket: w.des_bucket.clone(),
            des_prefix: String::new(),
            ..Default::default()
        };
        let s = sender(&w, "", &[("JobsenderParallelRanges", ranges)]).await?;
        let (runs, most_ranges, enqueued) = run_to_completion(&s, &pair).await?;
        if ranges == "1" {
            assert_eq!((runs, most_ranges), (3, 1), "2,500 keys are three pages of one listing");
        } else {
            // The walk finds the groups k/00…, k/01…, k/02… and deals them into two ranges of
            // 1,000 and 1,500 keys: one page each in the first run, the rest in the second.
            assert_eq!((runs, most_ranges), (2, 2), "both ranges checkpointed after the first run");
        }
        assert_eq!(enqueued, 2500);
        let once: BTreeMap<JobKey, usize> = expected.iter().map(|k| (k.clone(), 1)).collect();
        assert_eq!(w.jobs_in_queue(true).await?, once, "each job exactly once over all runs ({ranges} ranges)");
        if ranges == "1" {
            backlog_of_a_run_over_three_invocations(&w, &s, &pair).await?;
        }
    }
    Ok(())
}

/// The run that spanned three invocations recorded the whole run's figures: the next run
/// waits for all 2,500 jobs, still for 2,200 once the worker has copied three packs, and lists
/// the pair once the worker has copied them all.
async fn backlog_of_a_run_over_three_invocations(w: &World, s: &Sender, pair: &BucketPair) -> anyhow::Result<()> {
    let counts = w.ledger.pair_counts(&pair.id()).await?.expect("the run's figures");
    assert_eq!(counts.to_copy, 2500, "counted from the first invocation: {counts:?}");
    assert_eq!(s.run_pair(pair, &RunOptions::default()).await?.waiting, 2500);
    let p = w.processor(&[]).await?;
    let mut copied = 0;
    for _ in 0..3 {
        let out = w.own.sqs.receive_message().queue_url(&w.queue_url).max_number_of_messages(1).send().await?;
        let m = out.messages().first().ok_or_else(|| anyhow::anyhow!("no message"))?;
        let body = m.body().unwrap_or_default();
        copied += s3_migrate_tests::jobs_in(body)?.len();
        assert_eq!(p.process("m", body, None).await, worker::message::Disposition::Consumed);
        let receipt = m.receipt_handle().unwrap_or_default();
        w.own.sqs.delete_message().queue_url(&w.queue_url).receipt_handle(receipt).send().await?;
    }
    assert_eq!(copied, 300);
    let r = s.run_pair(pair, &RunOptions::default()).await?;
    assert_eq!((r.waiting, r.enqueued), (2200, 0), "{r:?}");
    w.work_queue(&p).await?;
    let r = s.run_pair(pair, &RunOptions::default()).await?;
    assert_eq!((r.waiting, r.enqueued, r.equal), (0, 0, 2500), "{r:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn compare_version_id_enqueues_objects_whose_version_changed() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, true).await?;
    w.put_src("v/a.txt", b"first").await?;
    w.put_src("v/b.txt", b"steady").await?;
    // Copy both with the worker so the ledger records their versions.
    let p = w.processor(&[]).await?;
    for (k, n) in [("v/a.txt", 5), ("v/b.txt", 6)] {
        assert_eq!(p.process("m", &w.job(k, n).to_json(), None).await, worker::message::Disposition::Consumed);
    }
    let v2 = w.put_src("v/a.txt", b"secnd").await?.expect("versioned");
    let pair = BucketPair {
        src_bucket: w.src_bucket.clone(),
        src_prefix: "v/".into(),
        des_bucket: w.des_bucket.clone(),
        des_prefix: String::new(),
        ..Default::default()
    };

    // Same sizes: equal when neither versions nor ETags are compared (the ETag comparison,
    // on by default, is `lifecycle::a_same_size_rewrite_is_copied_again`).
    let plain = sender(&w, "", &[("JobsenderCompareETag", "false")]).await?;
    let r = plain.run_pair(&pair, &RunOptions::default()).await?;
    assert_eq!((r.enqueued, r.equal), (0, 2), "same sizes: equal without version or ETag comparison");

    let comparing = sender(&w, "", &[("JobsenderCompareVersionId", "true")]).await?;
    let r = comparing.run_pair(&pair, &RunOptions::default()).await?;
    assert_eq!((r.enqueued, r.equal), (1, 1));
    let queued = w.drain(&w.queue_url).await?;
    let job = Job::from_json(queued[0].body().unwrap_or_default())?;
    assert_eq!((job.src_key.as_str(), job.version_id.as_deref()), ("v/a.txt", Some(v2.as_str())));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pair_that_fits_one_page_is_listed_without_split_probes() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    for k in ["one/a", "two/b", "three/c"] {
        w.put_src(k, b"x").await?;
    }
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL")?, 0.0, 0.0).await?;
    let mut s = sender(&w, "", &[("JobsenderParallelRanges", "8")]).await?;
    (s.src_s3, s.des_s3) = (proxy.client(&s.src_s3), proxy.client(&s.des_s3));
    let pair = BucketPair {
        src_bucket: w.src_bucket.clone(),
        src_prefix: String::new(),
        des_bucket: w.des_bucket.clone(),
        des_prefix: String::new(),
        ..Default::default()
    };
    let r = s.run_pair(&pair, &RunOptions::default()).await?;
    assert_eq!(r.enqueued, 3);
    assert_eq!(queued_jobs(&w).await?.len(), 3);
    // Per side: the bucket check, the look that finds it fits one page, and its listing.
    assert_eq!(proxy.counts.get().0, 6, "S3 requests, no split probe among them");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dry_run_enqueues_nothing_and_lists_the_jobs() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    w.put_src("a", b"1").await?;
    w.put_src("b", b"22").await?;
    let pair = BucketPair {
        src_bucket: w.src_bucket.clone(),
        src_prefix: String::new(),
        des_bucket: w.des_bucket.clone(),
        des_prefix: "p".into(),
        ..Default::default()
    };
    let buf: std::sync::Arc<std::sync::Mutex<Vec<u8>>> = Default::default();
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out: jobsender::run::JobsOut = std::sync::Arc::new(std::sync::Mutex::new(Box::new(Shared(buf.clone()))));
    let s = sender(&w, "", &[]).await?;
    let r = s.run_pair(&pair, &RunOptions { dry_run: true, jobs_out: Some(out), ..Default::default() }).await?;
    assert_eq!((r.to_copy, r.bytes_to_copy, r.enqueued), (2, 3, 0));
    assert!(w.drain(&w.queue_url).await?.is_empty(), "nothing enqueued");
    let text = String::from_utf8(buf.lock().map(|b| b.clone()).unwrap_or_default())?;
    let jobs: Vec<Job> = text.lines().map(Job::from_json).collect::<Result<_, _>>()?;
    // Key ranges are diffed concurrently: the list holds each job once, in no promised order.
    let des_keys: BTreeSet<&str> = jobs.iter().map(|j| j.des_key.as_str()).collect();
    assert_eq!((jobs.len(), des_keys), (2, BTreeSet::from(["p/a", "p/b"])));
    Ok(())
}

/// The `expireAt` number of the ledger item of `key`, if any.
async fn expire_at(w: &World, key: &str) -> anyhow::Result<Option<u64>> {
    let item = w
        .own
        .dynamodb
        .get_item()
        .table_name(&w.table)
        .key("Key", aws_sdk_dynamodb::types::AttributeValue::S(format!("{}/{key}", w.src_bucket)))
        .consistent_read(true)
        .send()
        .await?
        .item
        .ok_or_else(|| anyhow::anyhow!("no ledger item for {key}"))?;
    Ok(match item.get("expireAt") {
        Some(aws_sdk_dynamodb::types::AttributeValue::N(n)) => Some(n.parse()?),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_records_expire_unless_a_worker_takes_them() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    w.put_src("ttl/a", b"aaa").await?;
    w.put_src("ttl/b", b"bbb").await?;
    let pair = BucketPair {
        src_bucket: w.src_bucket.clone(),
        src_prefix: "ttl/".into(),
        des_bucket: w.des_bucket.clone(),
        des_prefix: String::new(),
        ..Default::default()
    };
    let s = sender(&w, "", &[]).await?;
    an_earlier_run_may_have_sent_them(&w, &pair).await?;
    assert_eq!(s.run_pair(&pair, &RunOptions::default()).await?.enqueued, 2);
    let now = s3_migrate_core::ledger::now_secs();
    let ttl = s3_migrate_core::ledger::QUEUE_RECORD_TTL_SECS;
    for k in ["ttl/a", "ttl/b"] {
        let exp = expire_at(&w, k).await?.expect("a queue record carries expireAt");
        assert!(exp >= now + ttl - 60 && exp <= now + ttl + 60, "{k}: expireAt {exp}, now {now}");
    }
    // The worker copies one: its record is kept for good; the other still expires.
    let p = w.processor(&[]).await?;
    assert_eq!(p.process("m", &w.job("ttl/a", 3).to_json(), None).await, worker::message::Disposition::Consumed);
    assert_eq!(expire_at(&w, "ttl/a").await?, None, "a copied object's record never expires");
    assert!(expire_at(&w, "ttl/b").await?.is_some());
    Ok(())
}

/// Jobs SQS would not take leave no queue record behind (the run fails, naming the queue), so
/// the next run enqueues them at once instead of after `RequeueAfterSeconds`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_that_could_not_be_sent_leave_no_queue_record() -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let keys = ["unsent/a", "unsent/b", "unsent/c"];
    for k in keys {
        w.put_src(k, b"xyz").await?;
    }
    let pair = BucketPair {
        src_bucket: w.src_bucket.clone(),
        src_prefix: "unsent/".into(),
        des_bucket: w.des_bucket.clone(),
        des_prefix: String::new(),
        ..Default::default()
    };
    let good = sender(&w, "", &[]).await?;
    an_earlier_run_may_have_sent_them(&w, &pair).await?;
    let mut broken = good.clone();
    broken.enqueuer.queue_url = format!("{}-deleted", w.queue_url);
    let err = broken.run_pair(&pair, &RunOptions::default()).await.expect_err("the queue does not exist");
    assert!(err.to_string().contains("-deleted"), "the error names the queue: {err}");
    for k in keys {
        let rec = w.ledger.get(&format!("{}/{k}", w.src_bucket)).await?;
        assert!(rec.is_none(), "{k}: queue record left for a job never sent: {rec:?}");
    }
    let r = good.run_pair(&pair, &RunOptions::default()).await?;
    assert_eq!((r.enqueued, r.already_queued), (3, 0));
    assert_eq!(queued_jobs(&w).await?.len(), 3);
    Ok(())
}
