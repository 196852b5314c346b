//! The real `worker` and `jobsender` binaries as Lambdas, under cargo-lambda's runtime API
//! emulator (`cargo lambda watch --only-lambda-apis`, cargo-lambda from PyPI; scripts/test.sh
//! installs it): the worker gets an SQS batch read from the emulator's queue and answers with
//! its partial batch response; the jobsender gets a scheduled EventBridge event and its jobs
//! land on the queue. Each runs twice: the x86_64 debug build, and the exact arm64 `bootstrap`
//! of the zip the stack deploys (`scripts/package.sh`), under qemu user-mode emulation.

use s3_migrate_tests::bins::binary;
use s3_migrate_tests::world::{Mode, World};
use s3_migrate_tests::{data, unique};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// cargo-lambda: `CARGO_LAMBDA`, else the one scripts/test.sh installs, else the PATH.
fn cargo_lambda() -> PathBuf {
    if let Some(p) = std::env::var_os("CARGO_LAMBDA") {
        return p.into();
    }
    let installed = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.emulator/lambda-venv/bin/cargo-lambda");
    if installed.exists() {
        return installed;
    }
    PathBuf::from("cargo-lambda")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Kills the child when dropped, so no emulator or function outlives its test.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How a function process is started: the x86_64 debug binary, or the arm64 `bootstrap` of its
/// Lambda package under qemu.
#[derive(Clone, Copy, Debug)]
enum Build {
    Native,
    Arm64Package,
}

/// The directory of the Lambda packages (`scripts/package.sh`): `S3M_LAMBDA_DIR`, else
/// `target/lambda`.
fn lambda_dir() -> PathBuf {
    std::env::var_os("S3M_LAMBDA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/lambda"))
}

/// The `bootstrap` of `bin`'s arm64 zip, extracted into a directory of its own.
fn arm64_bootstrap(bin: &str) -> anyhow::Result<PathBuf> {
    let zip = lambda_dir().join(bin).join("bootstrap.zip");
    anyhow::ensure!(zip.exists(), "{} is missing: run scripts/package.sh first", zip.display());
    let dir = std::env::temp_dir().join(unique("pkg"));
    let out = Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&zip).arg(&dir).output()?;
    anyhow::ensure!(out.status.success(), "cannot unzip {}: {}", zip.display(), String::from_utf8_lossy(&out.stderr));
    let bootstrap = dir.join("bootstrap");
    let header = std::fs::read(&bootstrap)?;
    // ELF, 64-bit, little-endian, e_machine 183 (EM_AARCH64).
    anyhow::ensure!(
        header.len() > 20 && header[..4] == *b"\x7fELF" && header[4] == 2 && header[18] == 183 && header[19] == 0,
        "{}: the bootstrap is not an arm64 ELF binary",
        zip.display()
    );
    std::fs::set_permissions(&bootstrap, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    Ok(bootstrap)
}

/// The command that runs `bin` as built by `build`.
fn function_command(bin: &str, build: Build) -> anyhow::Result<Command> {
    Ok(match build {
        Build::Native => Command::new(binary(bin)),
        Build::Arm64Package => {
            // qemu-user-static and libc6-arm64-cross (Debian; scripts/test.sh installs them).
            let qemu = std::env::var("QEMU_AARCH64").unwrap_or_else(|_| "qemu-aarch64-static".into());
            let mut c = Command::new(qemu);
            c.args(["-L", "/usr/aarch64-linux-gnu"]).arg(arm64_bootstrap(bin)?);
            c
        }
    })
}

/// The runtime API emulator and one function binary polling it.
struct LambdaUnderTest {
    port: u16,
    _function: Running,
    _emulator: Running,
}

impl LambdaUnderTest {
    fn start(bin: &str, build: Build, env: Vec<(String, String)>) -> anyhow::Result<Self> {
        let port = free_port();
        let emulator = Command::new(cargo_lambda())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                anyhow::anyhow!("cannot run cargo-lambda ({e}); scripts/test.sh installs it into .emulator/lambda-venv")
            })?;
        let emulator = Running(emulator);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            anyhow::ensure!(started.elapsed() < Duration::from_secs(60), "cargo lambda watch did not listen on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let function = function_command(bin, build)?
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", format!("http://127.0.0.1:{port}/.rt"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "_")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Self { port, _function: Running(function), _emulator: emulator })
    }

    /// Invokes the function with `event` (`cargo lambda invoke`); its JSON answer.
    fn invoke(&self, event: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let file = std::env::temp_dir().join(format!("{}.json", unique("event")));
        std::fs::write(&file, event.to_string())?;
        let out = Command::new(cargo_lambda())
            .args(["lambda", "invoke", "_", "-A", "127.0.0.1", "-P", &self.port.to_string(), "--data-file"])
            .arg(&file)
            .args(["--output-format", "json"])
            .output()?;
        let _ = std::fs::remove_file(&file);
        anyhow::ensure!(
            out.status.success(),
            "cargo lambda invoke failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_lambda_answers_a_real_sqs_batch_with_its_failures() -> anyhow::Result<()> {
    worker_answers_a_real_sqs_batch(Build::Native).await
}

/// The arm64 package: run by scripts/test.sh after scripts/package.sh (`--include-ignored`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the arm64 zips of scripts/package.sh and qemu; scripts/test.sh runs it"]
async fn arm64_worker_package_answers_a_real_sqs_batch_with_its_failures() -> anyhow::Result<()> {
    worker_answers_a_real_sqs_batch(Build::Arm64Package).await
}

async fn worker_answers_a_real_sqs_batch(build: Build) -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    let objects: Vec<(String, Vec<u8>)> =
        (0..3u64).map(|i| (format!("lambda/obj-{i}"), data(2000 + i as usize, i))).collect();
    for (k, b) in &objects {
        w.put_src(k, b).await?;
        w.own
            .sqs
            .send_message()
            .queue_url(&w.queue_url)
            .message_body(w.job(k, b.len() as u64).to_json())
            .send()
            .await?;
    }
    // Two that must fail: a destination bucket that does not exist, and a malformed body
    // (no DeadLetterQueueUrl, so it comes back and reaches the DLQ by the redrive policy).
    w.put_src("missing/obj", b"to nowhere").await?;
    let missing = s3_migrate_core::Job { des_bucket: unique("no-such-bucket"), ..w.job("missing/obj", 10) };
    w.set_pairs(&[("lambda/", &w.des_bucket), ("missing/", &missing.des_bucket)]).await?;
    w.own.sqs.send_message().queue_url(&w.queue_url).message_body(missing.to_json()).send().await?;
    w.own.sqs.send_message().queue_url(&w.queue_url).message_body("{ not a job").send().await?;

    // A real batch, read from the emulator's queue as the SQS event source would.
    let mut messages = Vec::new();
    let started = Instant::now();
    while messages.len() < 5 {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "only {} messages received", messages.len());
        let out = w
            .own
            .sqs
            .receive_message()
            .queue_url(&w.queue_url)
            .max_number_of_messages(10)
            .visibility_timeout(120)
            .wait_time_seconds(1)
            .send()
            .await?;
        messages.extend(out.messages.unwrap_or_default());
    }
    let queue_arn =
        format!("arn:aws:sqs:us-east-1:000000000000:{}", w.queue_url.rsplit('/').next().unwrap_or_default());
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            serde_json::json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": { "ApproximateReceiveCount": "1", "SentTimestamp": "0", "SenderId": "000000000000", "ApproximateFirstReceiveTimestamp": "0" },
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1"
            })
        })
        .collect();
    let failing: BTreeSet<String> = messages
        .iter()
        .filter(|m| m.body().is_some_and(|b| b.starts_with("{ not") || b.contains("no-such-bucket")))
        .filter_map(|m| m.message_id().map(str::to_owned))
        .collect();
    assert_eq!(failing.len(), 2);

    let lambda = LambdaUnderTest::start("worker", build, w.env_vars(&[]))?;
    let answer = tokio::task::block_in_place(|| lambda.invoke(&serde_json::json!({ "Records": records })))?;
    let reported: BTreeSet<String> = answer["batchItemFailures"]
        .as_array()
        .map(|a| a.iter().filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert_eq!(reported, failing, "exactly the two bad messages are reported: {answer}");
    for (k, b) in &objects {
        assert!(w.get_des(k).await?.as_deref() == Some(b.as_slice()), "{k} copied by the Lambda");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobsender_lambda_runs_on_a_scheduled_event() -> anyhow::Result<()> {
    jobsender_runs_on_a_scheduled_event(Build::Native).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the arm64 zips of scripts/package.sh and qemu; scripts/test.sh runs it"]
async fn arm64_jobsender_package_runs_on_a_scheduled_event() -> anyhow::Result<()> {
    jobsender_runs_on_a_scheduled_event(Build::Arm64Package).await
}

/// The packaged binaries need no newer glibc than provided.al2023's (Amazon Linux 2023: 2.34),
/// as `scripts/lib/elf_glibc.py` reads them from each zip (the check `scripts/package.sh` makes).
#[test]
#[ignore = "needs the arm64 zips of scripts/package.sh; scripts/test.sh runs it"]
fn arm64_packages_need_no_newer_glibc_than_al2023() -> anyhow::Result<()> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/lib/elf_glibc.py");
    for bin in ["worker", "jobsender"] {
        arm64_bootstrap(bin)?; // an arm64 ELF binary
        let zip = lambda_dir().join(bin).join("bootstrap.zip");
        let out = Command::new("python3").arg(&script).arg(&zip).output()?;
        anyhow::ensure!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let newest = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let version: Vec<u32> = newest.split('.').filter_map(|p| p.parse().ok()).collect();
        assert!(
            newest == "none" || (version.len() >= 2 && (version[0], version[1]) <= (2, 34)),
            "{bin} needs glibc {newest}, provided.al2023 has 2.34"
        );
    }
    Ok(())
}

async fn jobsender_runs_on_a_scheduled_event(build: Build) -> anyhow::Result<()> {
    let w = World::new(Mode::Server, false).await?;
    let keys = ["sched/a.txt", "sched/b c.txt", "sched/skip.tmp"];
    for k in keys {
        w.put_src(k, k.as_bytes()).await?;
    }
    let (pairs_param, ignore_param) = (unique("pairs"), unique("ignore"));
    let pairs = serde_json::json!([{ "src_bucket": w.src_bucket, "src_prefix": "sched/", "des_bucket": w.des_bucket, "des_prefix": "copy" }]);
    w.put_param(&pairs_param, &pairs.to_string()).await?;
    w.put_param(&ignore_param, "*.tmp\n").await?;
    let mut env = w.env_vars(&[]);
    env.push(("ssm_parameter_bucket".into(), pairs_param));
    env.push(("ssm_parameter_ignore_list".into(), ignore_param));

    let lambda = LambdaUnderTest::start("jobsender", build, env)?;
    let scheduled = serde_json::json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2026-11-22T00:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/s3-migrate-hourly"],
        "detail": {}
    });
    let answer = tokio::task::block_in_place(|| lambda.invoke(&scheduled))?;
    assert_eq!(answer["continued"], false, "{answer}");
    assert_eq!(answer["pairs"][0]["enqueued"], 2, "{answer}");
    assert_eq!(answer["pairs"][0]["ignored"], 1, "{answer}");

    let jobs: BTreeSet<(String, String)> = w
        .drain(&w.queue_url)
        .await?
        .iter()
        .map(|m| s3_migrate_tests::jobs_in(m.body().unwrap_or_default()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .map(|j| (j.src_key, j.des_key))
        .collect();
    let expected: BTreeSet<(String, String)> =
        ["sched/a.txt", "sched/b c.txt"].iter().map(|k| (k.to_string(), format!("copy/{k}"))).collect();
    assert_eq!(jobs, expected);
    Ok(())
}
