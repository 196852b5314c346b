//! Helpers shared by the emulator tests: names, emulator checks, fixtures.
//!
//! The tests need the local emulator (`scripts/emulator.sh up` and
//! `eval "$(scripts/emulator.sh env)"`; `scripts/test.sh` does both). Without it they fail
//! with a message saying so, never pass silently.

pub mod bins;
pub mod fault_proxy;
pub mod lambda_api;
pub mod listing_server;
pub mod s3_rules;
pub mod world;

use rand::Rng;

/// Account id of the simulated second (destination) account: LocalStack takes a 12-digit
/// access key id as the account id.
pub const OTHER_ACCOUNT: &str = "111111111111";

/// Panics with instructions when the emulator variables are not set.
pub fn require_emulator() {
    assert!(
        std::env::var("AWS_ENDPOINT_URL").is_ok_and(|v| !v.is_empty()),
        "AWS_ENDPOINT_URL is not set: run `scripts/emulator.sh up && eval \"$(scripts/emulator.sh env)\"` first (scripts/test.sh does both)"
    );
}

/// A name unique to this test run, valid as a bucket, queue, table or parameter name.
pub fn unique(prefix: &str) -> String {
    let n: u64 = rand::rng().random();
    format!("{prefix}-{:012x}", n & 0xffff_ffff_ffff)
}

/// The secret access key of the simulated second account, which no log line may show.
pub const OTHER_ACCOUNT_SECRET: &str = "other-account-secret";

/// The SecureString value that gives access to the simulated other account: the emulator's
/// S3 (the other side's endpoint comes from its SecureString only).
pub fn other_account_credentials_json() -> String {
    let s3 = std::env::var("AWS_ENDPOINT_URL_S3").or_else(|_| std::env::var("AWS_ENDPOINT_URL")).unwrap_or_default();
    other_store_credentials_json(&s3, &serde_json::json!({}))
}

/// The SecureString value for the other account on the S3 store at `endpoint`, with `store`'s
/// fields (see `s3_migrate_core::store`) added.
pub fn other_store_credentials_json(endpoint: &str, store: &serde_json::Value) -> String {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let mut v = serde_json::json!({
        "aws_access_key_id": OTHER_ACCOUNT,
        "aws_secret_access_key": OTHER_ACCOUNT_SECRET,
        "region": region,
        "endpoint_url": endpoint,
    });
    if let (Some(v), Some(extra)) = (v.as_object_mut(), store.as_object()) {
        v.extend(extra.iter().map(|(k, x)| (k.clone(), x.clone())));
    }
    v.to_string()
}

/// `len` bytes of deterministic pseudo-random data (xorshift64*), different for each `seed`.
pub fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Small objects in the demo's data set.
const DEMO_SMALL_OBJECTS: usize = 300;

/// The demo's data set (`scripts/demo.sh`), also copied between stores by the tests: (key,
/// size). Small objects, multipart objects, awkward keys (space, unicode, `+`, `%`, `#`,
/// parentheses, a trailing `/`), empty objects, and files the demo's ignore list skips.
pub fn dataset() -> Vec<(String, usize)> {
    const MIB: usize = 1024 * 1024;
    let mut set: Vec<(String, usize)> = (0..DEMO_SMALL_OBJECTS)
        .map(|i| (format!("photos/{:03}/img-{i:04}.jpg", i / 50), 1024 + (i * 7919) % (60 * 1024)))
        .collect();
    set.extend([
        ("videos/big one.mp4".to_owned(), 23 * MIB + 17),
        ("videos/中文 视频.mov".to_owned(), 12 * MIB),
        ("backups/db+dump%2026.tar".to_owned(), 31 * MIB + 5),
        ("docs/README (final) #2.md".to_owned(), 2048),
        ("docs/empty/".to_owned(), 0),
        ("docs/zero-bytes".to_owned(), 0),
        ("scratch/session.tmp".to_owned(), 4096),
        ("logs/2026/11/22.log".to_owned(), 8192),
        ("logs/2026/11/23.log".to_owned(), 8192),
    ]);
    set
}

/// The jobs of one queue message body: a single job or a pack's.
pub fn jobs_in(body: &str) -> anyhow::Result<Vec<s3_migrate_core::Job>> {
    use s3_migrate_core::event::{parse_message, EventDestination, Incoming};
    let mut jobs = Vec::new();
    for item in parse_message(body, &EventDestination::default())? {
        match item {
            Incoming::Copy(job) => jobs.push(job),
            Incoming::Pack(pack) => jobs.extend(pack.jobs),
            other => anyhow::bail!("not a job message: {other:?} in {body}"),
        }
    }
    Ok(jobs)
}

/// An S3 `ObjectRemoved` (or other) event notification of one object, as S3 sends it.
pub fn removal_event(event_name: &str, bucket: &str, key: &str, version: Option<&str>, event_time: &str) -> String {
    let mut object = serde_json::json!({ "key": key, "sequencer": "0A1B2C" });
    if let Some(v) = version {
        object["versionId"] = v.into();
    }
    serde_json::json!({ "Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": event_time, "eventName": event_name,
        "s3": { "s3SchemaVersion": "1.0", "bucket": { "name": bucket }, "object": object }
    }]})
    .to_string()
}

/// RFC 3339 time `secs_ago` seconds before now, as S3 events give it.
pub fn event_time(secs_ago: u64) -> String {
    let t = s3_migrate_core::ledger::now_secs() - secs_ago;
    aws_sdk_s3::primitives::DateTime::from_secs(t as i64)
        .fmt(aws_sdk_s3::primitives::DateTimeFormat::DateTime)
        .unwrap_or_default()
}
