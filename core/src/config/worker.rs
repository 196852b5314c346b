//! Worker settings.

use super::{CommonConfig, ConfigError, DestinationOptions, Env};
use crate::event::EventDestination;
use crate::plan::{DEFAULT_PART_SIZE_BYTES, MAX_PART_SIZE_BYTES, MIN_PART_SIZE_BYTES};
use crate::units::{GIB, MIB};

/// How bytes move (`TransferMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferMode {
    /// Server mode when one set of credentials serves both sides, stream otherwise.
    Auto,
    /// Ranged GET + UploadPart through the worker (needed across accounts and partitions).
    Stream,
    /// CopyObject / UploadPartCopy: no bytes pass through the worker.
    Server,
}

/// How a worker moves an object's bytes: `TransferMode` resolved for the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyPath {
    /// Through the worker: ranged GET + UploadPart, or GET + PUT.
    Stream,
    /// Inside S3: CopyObject / UploadPartCopy.
    Server,
}

/// S3 storage classes accepted for `StorageClass`.
pub const STORAGE_CLASSES: &[&str] = &[
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
    "OUTPOSTS",
    "SNOW",
    "EXPRESS_ONEZONE",
];

/// Memory kept for the runtime, SDK and bookkeeping when the part-buffer budget is derived
/// from the Lambda's memory size.
pub const RUNTIME_RESERVE_MIB: u64 = 128;

/// Everything the worker reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerConfig {
    pub common: CommonConfig,
    /// `Des_bucket_default` / `Des_prefix_default`: destination of S3 event notifications.
    pub event_destination: EventDestination,
    /// `StorageClass`, default STANDARD.
    pub storage_class: String,
    /// `MaxThread`: parts in flight per object. Default 10.
    pub max_thread: usize,
    /// `MaxParallelFile`: objects in progress at once. Default 5.
    pub max_parallel_file: usize,
    /// `JobTimeout`: seconds one run may spend on one object before handing it on. Default 870.
    pub job_timeout_secs: u64,
    /// `ResumableThreshold`: bytes at or below which an object is copied in one request. Default 5 MiB.
    pub resumable_threshold: u64,
    /// `ChunkSize`: starting part size in bytes. Default 5 MiB.
    pub chunk_size: u64,
    /// `UpdateVersionId`: look the real version up when a job says "null". Default false.
    pub update_version_id: bool,
    /// `GetObjectWithVersionId`: pin every GET to the job's version. Default false.
    pub get_object_with_version_id: bool,
    /// `TransferMode`: auto (default), stream or server.
    pub transfer_mode: TransferMode,
    /// `CopyTags`: copy object tags. Default false.
    pub copy_tags: bool,
    /// `PropagateDeletes`: an ObjectRemoved event deletes the destination object. Default false.
    pub propagate_deletes: bool,
    /// `DeadLetterQueueUrl`: malformed bodies go here at once. Default unset.
    pub dead_letter_queue_url: Option<String>,
    /// `LeaseSeconds`: how long a copy holds its object against concurrent duplicates without
    /// renewing (renewed every third of it). A crashed worker's object is free again after
    /// this. Default 60.
    pub lease_secs: u64,
    /// `MaxReceiveCount`: times an object of a pack may fail with a retryable error before it
    /// is parked in the dead-letter queue with its reason (the stack passes its queue's
    /// `maxReceiveCount`, so a packed object gets the tries a single job gets); and the
    /// receive (`ApproximateReceiveCount`) on which a message that comes back goes to the
    /// dead-letter queue instead, its jobs then counted failed for their pairs. Default 5.
    pub max_receive_count: u32,
    /// `MemoryBudgetMiB`: most bytes of objects read whole (up to `ResumableThreshold`) held at
    /// once by the whole process (stream mode); parts of larger objects are piped from GET to
    /// UploadPart and never buffered. Default: Lambda memory minus 128 MiB; off Lambda
    /// `MaxThread` x `ChunkSize`.
    pub memory_budget_bytes: u64,
    /// `ssm_parameter_bucket`: the bucket pairs a job must fall in (see
    /// [`crate::scope::JobScope`]). Default `s3_migration_bucket_para`, as the jobsender's.
    pub bucket_parameter: String,
    /// What every written object gets: encryption, ACL, Object Lock (see [`DestinationOptions`]).
    pub destination: DestinationOptions,
    /// `ssm_parameter_ignore_list`: the jobsender's ignore list, which S3 events honour too.
    /// Default `s3_migrate_ignore_list`; a missing parameter ignores nothing.
    pub ignore_parameter: String,
    /// `EventSourceBuckets`: comma-separated buckets whose S3 events may be copied to
    /// `Des_bucket_default`, besides the pairs' source buckets. Default none.
    pub event_source_buckets: Vec<String>,
}

impl WorkerConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        let storage_class = env.string("StorageClass", "STANDARD")?.to_ascii_uppercase();
        if !STORAGE_CLASSES.contains(&storage_class.as_str()) {
            return Err(ConfigError::Invalid {
                var: "StorageClass",
                value: storage_class,
                expected: format!("one of {}", STORAGE_CLASSES.join(", ")),
            });
        }
        let transfer_mode = env.choice(
            "TransferMode",
            TransferMode::Auto,
            &[("auto", TransferMode::Auto), ("stream", TransferMode::Stream), ("server", TransferMode::Server)],
        )?;
        if transfer_mode == TransferMode::Server && common.job_type.is_some() {
            return Err(ConfigError::Invalid {
                var: "TransferMode",
                value: "server".into(),
                expected:
                    "auto or stream when JobType is set (two sets of credentials cannot share a server-side copy)"
                        .into(),
            });
        }
        let lambda_memory_mib: Option<u64> =
            env.optional("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|v| v.parse().ok());
        let max_thread: usize = env.number("MaxThread", 10, 1..=1000)?;
        let chunk_size: u64 =
            env.number("ChunkSize", DEFAULT_PART_SIZE_BYTES, MIN_PART_SIZE_BYTES..=MAX_PART_SIZE_BYTES)?;
        // Off Lambda: `MaxThread` parts of `ChunkSize` for the whole process.
        let default_budget_mib = lambda_memory_mib.map_or_else(
            || (max_thread as u64 * chunk_size).div_ceil(MIB).max(16),
            |m| m.saturating_sub(RUNTIME_RESERVE_MIB).max(64),
        );
        let memory_budget_mib: u64 = env.number("MemoryBudgetMiB", default_budget_mib, 16..=1024 * 1024)?;
        Ok(Self {
            event_destination: EventDestination {
                des_bucket: env.optional("Des_bucket_default").map(str::to_owned),
                des_prefix: env.string("Des_prefix_default", "")?,
            },
            storage_class,
            max_thread,
            max_parallel_file: env.number("MaxParallelFile", 5, 1..=1000)?,
            job_timeout_secs: env.number("JobTimeout", 870, 10..=7 * 24 * 3600)?,
            resumable_threshold: env.number("ResumableThreshold", 5 * MIB, 0..=5 * GIB)?,
            chunk_size,
            update_version_id: env.flag("UpdateVersionId", false)?,
            get_object_with_version_id: env.flag("GetObjectWithVersionId", false)?,
            transfer_mode,
            copy_tags: env.flag("CopyTags", false)?,
            propagate_deletes: env.flag("PropagateDeletes", false)?,
            dead_letter_queue_url: env.optional("DeadLetterQueueUrl").map(str::to_owned),
            memory_budget_bytes: memory_budget_mib * MIB,
            lease_secs: env.number("LeaseSeconds", 60, 3..=3600)?,
            max_receive_count: env.number("MaxReceiveCount", 5, 1..=1000)?,
            destination: DestinationOptions::from_env(env)?,
            ignore_parameter: env.string("ssm_parameter_ignore_list", super::jobsender::DEFAULT_IGNORE_PARAMETER)?,
            bucket_parameter: env.string("ssm_parameter_bucket", super::jobsender::DEFAULT_BUCKET_PARAMETER)?,
            event_source_buckets: env
                .string("EventSourceBuckets", "")?
                .split(',')
                .map(str::trim)
                .filter(|b| !b.is_empty())
                .map(str::to_owned)
                .collect(),
            common,
        })
    }

    /// How bytes move: `TransferMode`, where `auto` streams when `JobType` puts one side
    /// behind other credentials and copies inside S3 otherwise.
    pub fn copy_path(&self) -> CopyPath {
        match self.transfer_mode {
            TransferMode::Stream => CopyPath::Stream,
            TransferMode::Server => CopyPath::Server,
            TransferMode::Auto if self.common.job_type.is_some() => CopyPath::Stream,
            TransferMode::Auto => CopyPath::Server,
        }
    }
}
