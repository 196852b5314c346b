//! Broken settings for each binary, run as a user runs them: a clear error naming the thing,
//! a non-zero exit, and nothing enqueued or copied. No secret appears in the output.

use s3_migrate_tests::bins::binary;
use s3_migrate_tests::world::{Mode, World};
use std::process::Command;

const SECRET: &str = s3_migrate_tests::OTHER_ACCOUNT_SECRET;

struct Case {
    name: &'static str,
    bin: &'static str,
    args: Vec<String>,
    env: Vec<(String, String)>,
    expect: Vec<String>,
}

fn run(c: &Case) -> (bool, String) {
    let out = Command::new(binary(c.bin)).args(&c.args).envs(c.env.iter().cloned()).output().expect("binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_broken_setting_fails_clearly() -> anyhow::Result<()> {
    let w = World::new(Mode::Stream, false).await?;
    w.put_src("a.txt", b"abc").await?;
    let dir = std::env::temp_dir().join(s3_migrate_tests::unique("bad-config"));
    std::fs::create_dir_all(&dir)?;
    let good_pairs = dir.join("pairs.json");
    std::fs::write(
        &good_pairs,
        serde_json::json!([{ "src_bucket": w.src_bucket, "src_prefix": "", "des_bucket": w.des_bucket, "des_prefix": "" }]).to_string(),
    )?;
    let unknown_bucket_pairs = dir.join("unknown.json");
    std::fs::write(
        &unknown_bucket_pairs,
        serde_json::json!([{ "src_bucket": "no-such-source-bucket-zz", "des_bucket": w.des_bucket }]).to_string(),
    )?;
    let wrong_region_pairs = dir.join("wrong-region.json");
    std::fs::write(
        &wrong_region_pairs,
        serde_json::json!([{ "src_bucket": w.src_bucket, "src_region": "ap-south-1", "des_bucket": w.des_bucket }])
            .to_string(),
    )?;
    let bad_glob = dir.join("ignore.txt");
    std::fs::write(&bad_glob, "# fine\nsrc/[unclosed\n")?;
    let empty_ignore = dir.join("empty.txt");
    std::fs::write(&empty_ignore, "")?;
    let bad_json_param = s3_migrate_tests::unique("pairs-bad-json");
    w.put_param(&bad_json_param, "[{\"src_bucket\": ").await?;
    let bad_creds = s3_migrate_tests::unique("creds-bad");
    w.put_param(
        &bad_creds,
        &format!(
            "{{\"aws_access_key_id\":\"111111111111\",\"aws_secret_access_key\":\"{SECRET}\",\"multipart\":\"sometimes\"}}"
        ),
    )
    .await?;

    let s = |v: &str| v.to_owned();
    let env = |extra: &[(&str, &str)]| w.env_vars(extra);
    let pairs_arg = |p: &std::path::Path| {
        vec![
            s("run"),
            s("--bucket-pairs"),
            p.display().to_string(),
            s("--ignore-list"),
            empty_ignore.display().to_string(),
        ]
    };
    let missing_param = s3_migrate_tests::unique("no-such-param");
    let cases = vec![
        Case {
            name: "missing bucket pairs parameter",
            bin: "jobsender",
            args: vec![s("run")],
            env: env(&[("ssm_parameter_bucket", &missing_param)]),
            expect: vec![missing_param.clone(), s("does not exist")],
        },
        Case {
            name: "bucket pairs not JSON",
            bin: "jobsender",
            args: vec![s("run")],
            env: env(&[("ssm_parameter_bucket", &bad_json_param)]),
            expect: vec![bad_json_param.clone(), s("not a JSON list")],
        },
        Case {
            name: "bad glob",
            bin: "jobsender",
            args: vec![
                s("run"),
                s("--bucket-pairs"),
                good_pairs.display().to_string(),
                s("--ignore-list"),
                bad_glob.display().to_string(),
            ],
            env: env(&[]),
            expect: vec![s("line 2"), s("src/[unclosed")],
        },
        Case {
            name: "unknown bucket",
            bin: "jobsender",
            args: pairs_arg(&unknown_bucket_pairs),
            env: env(&[]),
            expect: vec![s("no-such-source-bucket-zz"), s("does not exist")],
        },
        Case {
            name: "unknown queue",
            bin: "jobsender",
            args: pairs_arg(&good_pairs),
            env: env(&[("sqs_queue", "no-such-queue-zz")]),
            expect: vec![s("no-such-queue-zz")],
        },
        Case {
            name: "unknown table",
            bin: "jobsender",
            args: pairs_arg(&good_pairs),
            env: env(&[("table_queue_name", "no-such-table-zz")]),
            expect: vec![s("no-such-table-zz"), s("table_queue_name")],
        },
        Case {
            name: "credentials JSON incomplete",
            bin: "jobsender",
            args: pairs_arg(&good_pairs),
            env: env(&[("ssm_parameter_credentials", &bad_creds)]),
            expect: vec![bad_creds.clone(), s("multipart")],
        },
        Case {
            name: "bad store setting of our side",
            bin: "jobsender",
            args: pairs_arg(&good_pairs),
            env: env(&[("S3_CHECKSUMS", "crc64")]),
            expect: vec![s("S3_CHECKSUMS"), s("crc64"), s("sdk or md5")],
        },
        Case {
            name: "bad JobType",
            bin: "jobsender",
            args: pairs_arg(&good_pairs),
            env: env(&[("JobType", "SIDEWAYS")]),
            expect: vec![s("JobType"), s("SIDEWAYS")],
        },
        Case {
            name: "worker bad MaxThread",
            bin: "worker",
            args: vec![s("poll"), s("--until-empty")],
            env: env(&[("MaxThread", "zero")]),
            expect: vec![s("MaxThread"), s("zero")],
        },
        Case {
            name: "worker unknown queue",
            bin: "worker",
            args: vec![s("poll"), s("--until-empty"), s("--queue-url"), s("no-such-queue-zz")],
            env: env(&[]),
            expect: vec![s("no-such-queue-zz")],
        },
        Case {
            name: "worker unknown table",
            bin: "worker",
            args: vec![s("poll"), s("--until-empty")],
            env: env(&[("table_queue_name", "no-such-table-zz")]),
            expect: vec![s("no-such-table-zz")],
        },
        Case {
            name: "worker credentials JSON incomplete",
            bin: "worker",
            args: vec![s("poll"), s("--until-empty")],
            env: env(&[("ssm_parameter_credentials", &bad_creds)]),
            expect: vec![bad_creds.clone(), s("multipart")],
        },
        Case {
            name: "bad ArchivedObjects",
            bin: "jobsender",
            args: pairs_arg(&good_pairs),
            env: env(&[("ArchivedObjects", "thaw")]),
            expect: vec![s("ArchivedObjects"), s("thaw"), s("skip, restore")],
        },
        Case {
            name: "bad RestoreTier",
            bin: "jobsender",
            args: pairs_arg(&good_pairs),
            env: env(&[("RestoreTier", "Instant")]),
            expect: vec![s("RestoreTier"), s("Instant")],
        },
        Case {
            name: "worker bad DestinationSSE",
            bin: "worker",
            args: vec![s("poll"), s("--until-empty")],
            env: env(&[("DestinationSSE", "rot13")]),
            expect: vec![s("DestinationSSE"), s("rot13")],
        },
        Case {
            name: "worker KMS key without KMS encryption",
            bin: "worker",
            args: vec![s("poll"), s("--until-empty")],
            env: env(&[("DestinationKMSKeyId", "alias/lonely")]),
            expect: vec![s("DestinationKMSKeyId"), s("aws:kms")],
        },
        Case {
            name: "worker bad DestinationACL",
            bin: "worker",
            args: vec![s("poll"), s("--until-empty")],
            env: env(&[("DestinationACL", "everyone-may-write")]),
            expect: vec![s("DestinationACL"), s("bucket-owner-full-control")],
        },
        Case {
            name: "worker without its bucket pairs",
            bin: "worker",
            args: vec![s("poll"), s("--until-empty")],
            env: env(&[("ssm_parameter_bucket", &missing_param)]),
            expect: vec![missing_param.clone(), s("ssm_parameter_bucket")],
        },
        Case {
            name: "pair naming the wrong region",
            bin: "jobsender",
            args: pairs_arg(&wrong_region_pairs),
            env: env(&[]),
            expect: vec![w.src_bucket.clone(), s("us-east-1"), s("ap-south-1")],
        },
        Case {
            name: "worker copy of a missing object",
            bin: "worker",
            args: vec![s("copy"), format!("s3://{}/missing", w.src_bucket), format!("s3://{}/missing", w.des_bucket)],
            env: env(&[]),
            expect: vec![s("does not exist")],
        },
        Case {
            name: "worker copy bad url",
            bin: "worker",
            args: vec![s("copy"), s("bucket/key"), s("s3://b/k")],
            env: env(&[]),
            expect: vec![s("not an s3://bucket/key URL")],
        },
    ];
    let mut problems = Vec::new();
    for c in &cases {
        let (ok, text) = run(c);
        if ok {
            problems.push(format!("{}: exited 0\n{text}", c.name));
        }
        for e in &c.expect {
            if !text.contains(e.as_str()) {
                problems.push(format!("{}: output lacks {e:?}\n{text}", c.name));
            }
        }
        if text.contains(SECRET) {
            problems.push(format!("{}: the secret access key was printed", c.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n---\n"));
    assert!(w.drain(&w.queue_url).await?.is_empty(), "nothing was enqueued");
    assert!(w.get_des("a.txt").await?.is_none(), "nothing was copied");
    Ok(())
}
