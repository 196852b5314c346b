//! The real `worker poll` process killed with SIGKILL in the middle of a multipart copy, then
//! started again: the copy completes byte-identically and no part that a killed process
//! reported as uploaded is sent again. Once, and five times at random moments on 200 MiB.

use s3_migrate_tests::bins::binary;
use s3_migrate_tests::data;
use s3_migrate_tests::fault_proxy::FaultProxy;
use s3_migrate_tests::world::{Mode, World};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;
const PARTS: usize = 12;

/// Part numbers from `part uploaded` log lines.
fn part_number(line: &str) -> Option<u32> {
    if !line.contains("part uploaded") {
        return None;
    }
    let at = line.find(" part=")? + " part=".len();
    line[at..].split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()
}

/// Starts `worker poll` on the world's queue; `extra_env` adds to (or overrides) its settings.
fn start(w: &World, extra_env: &[(&str, &str)]) -> anyhow::Result<(Child, mpsc::Receiver<String>)> {
    let mut child = Command::new(binary("worker"))
        .args(["poll", "--queue-url", &w.queue_url, "--until-empty", "--wait-seconds", "1"])
        .args(["--visibility-seconds", "4", "--retry-delay-seconds", "1"])
        .envs(w.env_vars(&[("MaxThread", "2"), ("LeaseSeconds", "3")]))
        .envs(extra_env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    Ok((child, rx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_copy_resumes_without_resending_parts() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let body = data(PARTS * 5 * MIB, 42);
    w.put_src("big/object.bin", &body).await?;
    let job = w.job("big/object.bin", body.len() as u64);
    w.own.sqs.send_message().queue_url(&w.queue_url).message_body(job.to_json()).send().await?;

    // First run: kill it once a third of the parts are reported.
    let (mut first, lines) = start(&w, &[])?;
    let mut before_kill = BTreeSet::new();
    let started = Instant::now();
    while before_kill.len() < PARTS / 3 {
        assert!(started.elapsed() < Duration::from_secs(120), "first run reported {before_kill:?} only");
        if let Ok(line) = lines.recv_timeout(Duration::from_secs(1)) {
            before_kill.extend(part_number(&line));
        }
    }
    first.kill()?; // SIGKILL
    first.wait()?;
    while let Ok(line) = lines.try_recv() {
        before_kill.extend(part_number(&line));
    }
    assert!(before_kill.len() < PARTS, "killed before the end");

    // Second run: resumes once the message and lease come back.
    let (mut second, lines) = start(&w, &[])?;
    let mut after = BTreeSet::new();
    let mut log = Vec::new();
    let started = Instant::now();
    loop {
        if let Some(status) = second.try_wait()? {
            while let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
                after.extend(part_number(&line));
                log.push(line);
            }
            assert!(status.success(), "second run failed:\n{}", log.join("\n"));
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(180), "second run did not finish:\n{}", log.join("\n"));
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            after.extend(part_number(&line));
            log.push(line);
        }
    }
    let resent: Vec<_> = before_kill.intersection(&after).collect();
    assert!(resent.is_empty(), "parts uploaded before the kill were sent again: {resent:?}");
    assert!(before_kill.len() + after.len() <= PARTS);
    assert!(log.iter().any(|l| l.contains("resuming upload")), "second run resumed:\n{}", log.join("\n"));
    assert!(w.get_des("big/object.bin").await?.is_some_and(|g| g == body), "bytes differ");
    assert_eq!(w.open_uploads().await?, 0);
    Ok(())
}

/// Parts of the five-kill object: 200 MiB in 5 MiB parts.
const BIG_PARTS: usize = 40;
/// `MaxThread` of the five-kill runs: at most this many parts are in flight at a kill.
const KILL_MAX_THREAD: usize = 2;
const KILLS: usize = 5;

/// Collects part numbers from `lines` into `parts` until `n` new ones arrived (or the limit).
fn wait_for_parts(
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
    parts: &mut Vec<u32>,
    log: &mut Vec<String>,
    n: usize,
) {
    let target = parts.len() + n;
    let started = Instant::now();
    while parts.len() < target {
        assert!(started.elapsed() < Duration::from_secs(180), "no progress: {} parts so far", parts.len());
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the worker exited ({status}) after {} of {target} parts", parts.len());
        }
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            parts.extend(part_number(&line));
            log.push(line);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_sigkills_at_random_moments_lose_nothing_and_resend_at_most_the_parts_in_flight() -> anyhow::Result<()> {
    use rand::Rng;
    // The workers' S3 requests pass through a proxy that injects nothing and counts UploadParts,
    // including those a kill cut short: the destination (the other account's store) is reached
    // through it, and so is the source.
    let proxy = FaultProxy::start(&std::env::var("AWS_ENDPOINT_URL")?, 0.0, 0.0).await?;
    let other = s3_migrate_tests::other_store_credentials_json(&proxy.url, &serde_json::json!({}));
    let w = World::with_other_store(Mode::Stream, false, &other).await?;
    let body = data(BIG_PARTS * 5 * MIB, 4242);
    w.put_src("big/200mib.bin", &body).await?;
    let job = w.job("big/200mib.bin", body.len() as u64);
    // Each kill costs a receive: room for five crashes before the redrive policy parks the job.
    let dlq_arn = format!("arn:aws:sqs:us-east-1:000000000000:{}", w.dlq_url.rsplit('/').next().unwrap_or_default());
    let redrive = serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": "10" });
    w.own
        .sqs
        .set_queue_attributes()
        .queue_url(&w.queue_url)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await?;
    w.own.sqs.send_message().queue_url(&w.queue_url).message_body(job.to_json()).send().await?;
    let max_thread = KILL_MAX_THREAD.to_string();
    let start_worker = || start(&w, &[("AWS_ENDPOINT_URL_S3", proxy.url.as_str()), ("MaxThread", max_thread.as_str())]);

    // Every part logged as uploaded, run by run, and every line logged.
    let mut logged: Vec<Vec<u32>> = Vec::new();
    let mut log: Vec<String> = Vec::new();
    for kill in 0..KILLS {
        let (mut child, lines) = start_worker()?;
        let mut parts = Vec::new();
        // A random moment: after 1 to 5 more parts of this run.
        let moment = rand::rng().random_range(1..=5);
        wait_for_parts(&mut child, &lines, &mut parts, &mut log, moment);
        child.kill()?; // SIGKILL
        child.wait()?;
        while let Ok(line) = lines.try_recv() {
            parts.extend(part_number(&line));
            log.push(line);
        }
        eprintln!("kill {}: after {} parts of this run ({} logged)", kill + 1, moment, parts.len());
        logged.push(parts);
    }
    let (mut last, lines) = start_worker()?;
    let mut parts = Vec::new();
    let started = Instant::now();
    loop {
        if let Some(status) = last.try_wait()? {
            while let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
                parts.extend(part_number(&line));
                log.push(line);
            }
            assert!(status.success(), "the last run failed");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "the last run did not finish");
        if let Ok(line) = lines.recv_timeout(Duration::from_millis(200)) {
            parts.extend(part_number(&line));
            log.push(line);
        }
    }
    logged.push(parts);

    assert!(w.get_des("big/200mib.bin").await?.is_some_and(|g| g == body), "bytes differ after {KILLS} kills");
    assert_eq!(w.open_uploads().await?, 0, "no upload left open");
    // A part logged as uploaded before a kill is never sent again.
    let mut seen = BTreeSet::new();
    for (run, parts) in logged.iter().enumerate() {
        for p in parts {
            assert!(seen.insert(*p), "part {p} logged before a kill was sent again in run {}", run + 1);
        }
    }
    // A part in flight at a kill may finish on S3 unlogged; the resume then finds it and never
    // uploads it again. Only those can go unlogged: at most MaxThread per kill.
    assert!(seen.iter().all(|p| (1..=BIG_PARTS as u32).contains(p)), "{seen:?}");
    let unlogged = BIG_PARTS - seen.len();
    assert!(unlogged <= KILL_MAX_THREAD * KILLS, "{unlogged} parts never logged as uploaded");
    // The other account's secret key (from the SecureString) is in no line the six runs logged.
    let secret = s3_migrate_tests::OTHER_ACCOUNT_SECRET;
    assert!(log.len() > BIG_PARTS, "the runs' logs were captured ({} lines)", log.len());
    assert!(!log.iter().any(|l| l.contains(secret)), "a log line shows the secret access key");
    let sent = proxy.counts.upload_parts.load(std::sync::atomic::Ordering::Relaxed) as usize;
    eprintln!("{sent} UploadPart requests for {BIG_PARTS} parts and {KILLS} kills");
    // The parts sent again are those in flight at a kill: at most MaxThread per kill.
    let resent = sent.saturating_sub(BIG_PARTS);
    eprintln!("{resent} parts sent again");
    assert!(
        sent >= BIG_PARTS && resent <= KILL_MAX_THREAD * KILLS,
        "{sent} UploadPart requests for {BIG_PARTS} parts and {KILLS} kills of MaxThread {KILL_MAX_THREAD}"
    );
    Ok(())
}
