//! Typed configuration read once from the environment, with the original project's variable
//! names. Every setting has a default (see the README's table); a bad value is an error
//! naming the variable and the value.

mod destination;
mod env;
mod jobsender;
mod worker;

pub use destination::{DestinationOptions, CANNED_ACLS, DESTINATION_SSE};
pub use env::{ConfigError, Env};
pub use jobsender::JobsenderConfig;
pub use worker::{CopyPath, TransferMode, WorkerConfig};

/// Which side of the copy uses the credentials from the SSM SecureString (`JobType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobType {
    /// The Lambda runs in the source account and PUTs into a destination reached with the
    /// SecureString credentials.
    Put,
    /// The Lambda runs in the destination account and GETs from a source reached with the
    /// SecureString credentials.
    Get,
}

/// Settings both binaries share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonConfig {
    /// `table_queue_name`: DynamoDB table of the ledger. Default `s3_migrate_file_list`.
    pub table: String,
    /// `sqs_queue`: job queue name or URL. Default `s3_migrate_file_list`.
    pub queue: String,
    /// `JobType`: `PUT`, `GET`, or unset (one set of credentials serves both sides).
    pub job_type: Option<JobType>,
    /// `ssm_parameter_credentials`: SecureString with the other side's keys.
    /// Default `s3_migration_credentials`.
    pub credentials_parameter: String,
    /// `MaxRetry`: attempts per S3 request beyond the SDK's own. Default 20.
    pub max_retry: u32,
    /// `RequestPayer=requester`: the source bucket is requester-pays; every request to the
    /// source (both binaries) says the requester pays. Default unset.
    pub requester_pays: bool,
}

/// Default name of the DynamoDB table (`table_queue_name`).
pub const DEFAULT_TABLE: &str = "s3_migrate_file_list";
/// Default queue name (`sqs_queue`).
pub const DEFAULT_QUEUE: &str = "s3_migrate_file_list";
/// Default credentials parameter (`ssm_parameter_credentials`), the original's name.
pub const DEFAULT_CREDENTIALS_PARAMETER: &str = "s3_migration_credentials";

impl CommonConfig {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            table: env.string("table_queue_name", DEFAULT_TABLE)?,
            queue: env.string("sqs_queue", DEFAULT_QUEUE)?,
            job_type: env.choice(
                "JobType",
                None,
                &[("PUT", Some(JobType::Put)), ("GET", Some(JobType::Get)), ("", None)],
            )?,
            credentials_parameter: env.string("ssm_parameter_credentials", DEFAULT_CREDENTIALS_PARAMETER)?,
            max_retry: env.number("MaxRetry", 20, 0..=1000)?,
            requester_pays: env.choice("RequestPayer", false, &[("requester", true), ("", false)])?,
        })
    }
}

#[cfg(test)]
mod tests;
