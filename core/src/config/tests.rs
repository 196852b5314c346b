use super::*;
use crate::units::MIB;

fn env(pairs: &[(&str, &str)]) -> Env {
    Env::from_pairs(pairs.iter().copied())
}

#[test]
fn defaults_when_nothing_is_set() {
    let w = WorkerConfig::from_env(&Env::default()).unwrap();
    assert_eq!(w.common.table, DEFAULT_TABLE);
    assert_eq!(w.common.queue, DEFAULT_QUEUE);
    assert_eq!(w.common.job_type, None);
    assert_eq!(w.common.credentials_parameter, "s3_migration_credentials");
    assert_eq!(w.common.max_retry, 20);
    assert_eq!(w.storage_class, "STANDARD");
    assert_eq!((w.max_thread, w.max_parallel_file, w.job_timeout_secs), (10, 5, 870));
    assert_eq!((w.resumable_threshold, w.chunk_size), (5 * MIB, 5 * MIB));
    assert!(!w.update_version_id && !w.get_object_with_version_id && !w.copy_tags);
    assert!(!w.common.requester_pays && !w.propagate_deletes);
    assert_eq!(w.transfer_mode, TransferMode::Auto);
    assert_eq!(w.copy_path(), CopyPath::Server, "auto with one set of credentials is server mode");
    assert_eq!(w.event_destination.des_bucket, None);
    assert_eq!(w.memory_budget_bytes, 10 * 5 * MIB, "off Lambda: MaxThread parts of ChunkSize");

    let j = JobsenderConfig::from_env(&Env::default()).unwrap();
    assert_eq!(j.bucket_parameter, "s3_migration_bucket_para");
    assert_eq!(j.ignore_parameter, "s3_migrate_ignore_list");
    assert!(!j.compare_version_id);
    assert_eq!(j.requeue_after_secs, None, "the queue's retention, read at start");
    assert_eq!(j.parallel_ranges, 8);
    assert!(j.compare_etag, "same-size rewrites are looked for by default");
    assert_eq!(j.archived_objects, crate::archive::ArchivedObjects::Skip);
    assert_eq!(j.restore, crate::archive::RestoreRequest { tier: "Bulk".into(), days: 7 });
}

#[test]
fn parallel_ranges_are_bounded() {
    let j = JobsenderConfig::from_env(&env(&[("JobsenderParallelRanges", "1")])).unwrap();
    assert_eq!(j.parallel_ranges, 1);
    for bad in ["0", "65", "many"] {
        let e = JobsenderConfig::from_env(&env(&[("JobsenderParallelRanges", bad)])).unwrap_err().to_string();
        assert!(e.contains("JobsenderParallelRanges") && e.contains("1 to 64"), "{e}");
    }
}

#[test]
fn original_names_are_read() {
    let w = WorkerConfig::from_env(&env(&[
        ("table_queue_name", "t"),
        ("sqs_queue", "q"),
        ("JobType", "put"),
        ("ssm_parameter_credentials", "creds"),
        ("MaxRetry", "3"),
        ("MaxThread", "4"),
        ("MaxParallelFile", "2"),
        ("JobTimeout", "600"),
        ("UpdateVersionId", "TRUE"),
        ("GetObjectWithVersionId", "True"),
        ("StorageClass", "standard_ia"),
        ("Des_bucket_default", "des"),
        ("Des_prefix_default", "pre"),
        ("ChunkSize", "8388608"),
        ("ResumableThreshold", "0"),
    ]))
    .unwrap();
    assert_eq!((w.common.table.as_str(), w.common.queue.as_str()), ("t", "q"));
    assert_eq!(w.common.job_type, Some(JobType::Put));
    assert_eq!(w.common.credentials_parameter, "creds");
    assert_eq!((w.common.max_retry, w.max_thread, w.max_parallel_file, w.job_timeout_secs), (3, 4, 2, 600));
    assert!(w.update_version_id && w.get_object_with_version_id);
    assert_eq!(w.storage_class, "STANDARD_IA");
    assert_eq!(w.event_destination.des_bucket.as_deref(), Some("des"));
    assert_eq!(w.event_destination.des_prefix, "pre");
    assert_eq!((w.chunk_size, w.resumable_threshold), (8 * MIB, 0));
    assert_eq!(w.copy_path(), CopyPath::Stream, "auto with JobType is stream mode");
    let get = CommonConfig::from_env(&env(&[("JobType", "GET")])).unwrap();
    assert_eq!(get.job_type, Some(JobType::Get));
}

#[test]
fn bad_values_name_the_variable_and_value() {
    let cases: &[(&str, &str)] = &[
        ("JobType", "POST"),
        ("MaxThread", "0"),
        ("MaxThread", "many"),
        ("MaxParallelFile", "-1"),
        ("JobTimeout", "5"),
        ("UpdateVersionId", "maybe"),
        ("StorageClass", "COLD"),
        ("ChunkSize", "1024"),
        ("TransferMode", "teleport"),
        ("RequestPayer", "me"),
        ("MemoryBudgetMiB", "1"),
        ("MaxRetry", "1e3"),
    ];
    for (var, value) in cases {
        let err = WorkerConfig::from_env(&env(&[(var, value)])).unwrap_err().to_string();
        assert!(err.contains(var) && err.contains(value), "{var}={value}: {err}");
    }
    let err = JobsenderConfig::from_env(&env(&[("JobsenderCompareVersionId", "yes please")])).unwrap_err();
    assert!(err.to_string().contains("JobsenderCompareVersionId"));
    for (var, value) in [("ArchivedObjects", "thaw"), ("RestoreTier", "Fast"), ("RestoreDays", "0")] {
        let err = JobsenderConfig::from_env(&env(&[(var, value)])).unwrap_err().to_string();
        assert!(err.contains(var) && err.contains(value), "{var}={value}: {err}");
    }
}

#[test]
fn server_mode_needs_one_set_of_credentials() {
    let err = WorkerConfig::from_env(&env(&[("TransferMode", "server"), ("JobType", "PUT")])).unwrap_err();
    assert!(err.to_string().contains("TransferMode"));
    let w = WorkerConfig::from_env(&env(&[("TransferMode", "stream")])).unwrap();
    assert_eq!(w.copy_path(), CopyPath::Stream);
}

#[test]
fn empty_values_mean_default() {
    let w = WorkerConfig::from_env(&env(&[("JobType", ""), ("MaxThread", " "), ("table_queue_name", "")])).unwrap();
    assert_eq!(w.common.job_type, None);
    assert_eq!(w.max_thread, 10);
    assert_eq!(w.common.table, DEFAULT_TABLE);
}

#[test]
fn memory_budget_follows_lambda_memory() {
    let w = WorkerConfig::from_env(&env(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")])).unwrap();
    assert_eq!(w.memory_budget_bytes, (1024 - 128) * MIB);
    let flag = WorkerConfig::from_env(&env(&[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"), ("MemoryBudgetMiB", "100")]))
        .unwrap();
    assert_eq!(flag.memory_budget_bytes, 100 * MIB);
    let off = WorkerConfig::from_env(&env(&[("MaxThread", "3"), ("ChunkSize", "8388609")])).unwrap();
    assert_eq!(off.memory_budget_bytes, 25 * MIB, "3 parts of 8 MiB + 1 byte, rounded up to whole MiB");
    let tiny = WorkerConfig::from_env(&env(&[("MaxThread", "1")])).unwrap();
    assert_eq!(tiny.memory_budget_bytes, 16 * MIB, "never below the smallest budget accepted");
}
