//! Jobsender settings.

use super::{CommonConfig, ConfigError, Env};
use crate::archive::{ArchivedObjects, RestoreRequest, RESTORE_TIERS};
use crate::pack::{DEFAULT_PACK_OBJECTS, MAX_PACK_OBJECTS};
use crate::units::{GIB, MIB};

/// Default SSM parameter of the bucket pairs (`ssm_parameter_bucket`), the original's name.
pub const DEFAULT_BUCKET_PARAMETER: &str = "s3_migration_bucket_para";
/// Default SSM parameter of the ignore list (`ssm_parameter_ignore_list`), the original's name.
pub const DEFAULT_IGNORE_PARAMETER: &str = "s3_migrate_ignore_list";

/// Default of `JobsenderParallelRanges`.
pub const DEFAULT_PARALLEL_RANGES: usize = 8;

/// Everything the jobsender reads from the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobsenderConfig {
    pub common: CommonConfig,
    /// `ssm_parameter_bucket`: JSON list of bucket pairs.
    pub bucket_parameter: String,
    /// `ssm_parameter_ignore_list`: ignore list text.
    pub ignore_parameter: String,
    /// `JobsenderCompareVersionId`: also compare the source's latest version with the ledger. Default false.
    pub compare_version_id: bool,
    /// `JobsenderCompareETag`: an object of equal size whose listed ETag differs from the one
    /// the ledger recorded for its copy is copied again (a same-size rewrite). Costs one
    /// BatchGetItem per 100 equal keys. Default true.
    pub compare_etag: bool,
    /// `RequeueAfterSeconds`: a queued or in-progress object is enqueued again only when it was
    /// last enqueued longer ago than this. Default unset: the queue's `MessageRetentionPeriod`
    /// (read from SQS at start), after which its message can no longer exist, so a backlog of
    /// several days is never enqueued twice.
    pub requeue_after_secs: Option<u64>,
    /// `JobsenderParallelRanges`: key ranges of one bucket pair listed and compared at once.
    /// Default 8; 1 lists each pair as one sequential listing.
    pub parallel_ranges: usize,
    /// `ArchivedObjects`: `skip` (default) counts objects in GLACIER / DEEP_ARCHIVE that are
    /// not restored and enqueues nothing for them; `restore` also asks S3 to restore them.
    pub archived_objects: ArchivedObjects,
    /// `RestoreTier` (`Bulk` default, `Standard`, `Expedited`) and `RestoreDays` (default 7,
    /// 1 to 365): the restore requests of `ArchivedObjects=restore`.
    pub restore: RestoreRequest,
    /// `JobsenderPackObjects`: most objects of up to `ResumableThreshold` bytes sent in one
    /// message (a pack, see `crate::pack`), within 200 KiB of message body. Default 100; 1
    /// sends one message per object in the original format.
    pub pack_objects: usize,
    /// `ResumableThreshold` (the worker's setting, default 5 MiB): objects up to this size are
    /// copied in one request by the worker, and packed.
    pub pack_max_size: u64,
}

impl JobsenderConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonConfig::from_env(env)?,
            bucket_parameter: env.string("ssm_parameter_bucket", DEFAULT_BUCKET_PARAMETER)?,
            ignore_parameter: env.string("ssm_parameter_ignore_list", DEFAULT_IGNORE_PARAMETER)?,
            compare_version_id: env.flag("JobsenderCompareVersionId", false)?,
            compare_etag: env.flag("JobsenderCompareETag", true)?,
            requeue_after_secs: match env.optional("RequeueAfterSeconds") {
                None => None,
                Some(_) => Some(env.number("RequeueAfterSeconds", 0, 0..=365 * 86_400)?),
            },
            parallel_ranges: env.number("JobsenderParallelRanges", DEFAULT_PARALLEL_RANGES, 1..=64)?,
            archived_objects: env.choice(
                "ArchivedObjects",
                ArchivedObjects::Skip,
                &[("skip", ArchivedObjects::Skip), ("restore", ArchivedObjects::Restore)],
            )?,
            restore: RestoreRequest {
                tier: env.choice(
                    "RestoreTier",
                    "Bulk".to_owned(),
                    &RESTORE_TIERS.iter().map(|t| (*t, (*t).to_owned())).collect::<Vec<_>>(),
                )?,
                days: env.number("RestoreDays", 7, 1..=365)?,
            },
            pack_objects: env.number("JobsenderPackObjects", DEFAULT_PACK_OBJECTS, 1..=MAX_PACK_OBJECTS)?,
            pack_max_size: env.number("ResumableThreshold", 5 * MIB, 0..=5 * GIB)?,
        })
    }
}
