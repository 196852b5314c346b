//! Restores of archived source objects (`ArchivedObjects=restore`): one RestoreObject each,
//! with the configured tier and days; a later run copies them once the listing shows them
//! restored (see `s3_migrate_core::archive`).

use crate::run::{Sender, MARKS_IN_FLIGHT};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{GlacierJobParameters, RestoreRequest, Tier};
use futures::StreamExt;
use s3_migrate_core::diff::Entry;
use tracing::{info, warn};

impl Sender {
    /// Asks S3 to restore archived objects (`ArchivedObjects=restore`); returns how many
    /// requests S3 took. A restore already in progress counts as taken; other refusals are
    /// logged and asked again next run.
    pub(crate) async fn request_restores(&self, bucket: &str, entries: &[&Entry]) -> u64 {
        let taken: Vec<bool> = futures::stream::iter(entries)
            .map(|e| async move {
                let request = RestoreRequest::builder()
                    .days(self.restore.days)
                    .glacier_job_parameters(
                        GlacierJobParameters::builder().tier(Tier::from(self.restore.tier.as_str())).build().ok()?,
                    )
                    .build();
                let res = self
                    .src_s3
                    .restore_object()
                    .bucket(bucket)
                    .key(&e.key)
                    .set_version_id(e.version_id.clone())
                    .restore_request(request)
                    .send()
                    .await;
                match res {
                    Ok(_) => Some(()),
                    Err(err) if err.code() == Some("RestoreAlreadyInProgress") => Some(()),
                    Err(err) => {
                        let err = s3_migrate_core::clients::error_chain(&err);
                        warn!(bucket, key = %e.key, error = %err, "could not request a restore; asked again next run");
                        None
                    }
                }
            })
            .buffer_unordered(MARKS_IN_FLIGHT)
            .map(|r| r.is_some())
            .collect()
            .await;
        let n = taken.iter().filter(|t| **t).count() as u64;
        if n > 0 {
            info!(bucket, restores = n, tier = %self.restore.tier, days = self.restore.days, "restores requested");
        }
        n
    }
}
