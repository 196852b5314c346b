//! The real `worker poll` process killed with SIGKILL in the middle of a multipart copy, then
//! started again: the copy completes byte-identically and no part that the first process
//! reported as uploaded is sent again.

use s3_migrate_tests::bins::binary;
use s3_migrate_tests::data;
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

fn start(w: &World) -> anyhow::Result<(Child, mpsc::Receiver<String>)> {
    let mut child = Command::new(binary("worker"))
        .args(["poll", "--queue-url", &w.queue_url, "--until-empty", "--wait-seconds", "1"])
        .args(["--visibility-seconds", "4", "--retry-delay-seconds", "1"])
        .envs(w.env_vars(&[("MaxThread", "2"), ("LeaseSeconds", "3")]))
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
    let (mut first, lines) = start(&w)?;
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
    let (mut second, lines) = start(&w)?;
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
