//! One S3 client per region, chosen per bucket.
//!
//! A request signed for another region than its bucket's answers `301 PermanentRedirect` (or
//! `400 AuthorizationHeaderMalformed`), with the bucket's region in `x-amz-bucket-region` (S3
//! API reference, "HeadBucket" and "Error responses"); the Rust SDK does not follow it. So each
//! side keeps one client per region: a bucket's region is what its pair says
//! (`src_region` / `des_region`, checked by the jobsender), or else is discovered once with
//! HeadBucket, whose answer (a success, or the redirect itself) carries `x-amz-bucket-region`.

use crate::clients::error_chain;
use aws_config::Region;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The header S3 names a bucket's region in.
const BUCKET_REGION_HEADER: &str = "x-amz-bucket-region";

/// A bucket whose region could not be settled. Names the bucket and both regions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    #[error("bucket {bucket} is in region {bucket_region}, but its pair says {configured}: correct the pair's region or remove it")]
    Mismatch { bucket: String, configured: String, bucket_region: String },
}

/// `client` signing for (and, without an endpoint override, addressed to) `region`.
pub fn client_in_region(client: &aws_sdk_s3::Client, region: &str) -> aws_sdk_s3::Client {
    if region_of(client).as_deref() == Some(region) {
        return client.clone();
    }
    aws_sdk_s3::Client::from_conf(client.config().to_builder().region(Region::new(region.to_owned())).build())
}

/// The region a client signs for.
pub fn region_of(client: &aws_sdk_s3::Client) -> Option<String> {
    client.config().region().map(|r| r.as_ref().to_owned())
}

/// The bucket region an S3 error answer names (`x-amz-bucket-region`), if any.
pub fn bucket_region_of<E>(e: &aws_sdk_s3::error::SdkError<E>) -> Option<String> {
    e.raw_response().and_then(|r| r.headers().get(BUCKET_REGION_HEADER)).map(str::to_owned)
}

/// A side's clients: the one built from the configuration, and one per other region met.
#[derive(Clone, Debug)]
pub struct RegionalClients {
    base: aws_sdk_s3::Client,
    /// Bucket -> its region, once looked up (`None`: S3 did not say; the base client serves
    /// it). Looked up once per bucket and process, whatever the answer.
    buckets: Arc<Mutex<HashMap<String, Option<String>>>>,
    /// Region -> client.
    clients: Arc<Mutex<HashMap<String, aws_sdk_s3::Client>>>,
}

impl RegionalClients {
    pub fn new(base: aws_sdk_s3::Client) -> Self {
        Self { base, buckets: Arc::default(), clients: Arc::default() }
    }

    /// The same clients with `f` applied to the base (e.g. a proxy in tests); what was
    /// learnt is forgotten.
    pub fn map(&self, f: impl FnOnce(&aws_sdk_s3::Client) -> aws_sdk_s3::Client) -> Self {
        Self::new(f(&self.base))
    }

    /// Forgets the buckets whose region S3 did not name, so they are asked again (after new
    /// keys: a refused HeadBucket names no region).
    pub fn forget_unnamed(&self) {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, region| region.is_some());
    }

    fn base_region(&self) -> Option<String> {
        region_of(&self.base)
    }

    /// The client for `region`, built once.
    pub fn in_region(&self, region: &str) -> aws_sdk_s3::Client {
        if self.base_region().as_deref() == Some(region) {
            return self.base.clone();
        }
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.entry(region.to_owned()).or_insert_with(|| client_in_region(&self.base, region)).clone()
    }

    /// The client for `bucket`, in the region HeadBucket names (looked up once). When S3 does
    /// not say (no such bucket, access denied, an emulator without the header), the base
    /// client: the request that follows then fails with its own clear error.
    pub async fn for_bucket(&self, bucket: &str) -> aws_sdk_s3::Client {
        let known = self.buckets.lock().unwrap_or_else(|e| e.into_inner()).get(bucket).cloned();
        let region = match known {
            Some(looked_up) => looked_up,
            None => {
                let found = self.discover(bucket).await;
                self.buckets.lock().unwrap_or_else(|e| e.into_inner()).insert(bucket.to_owned(), found.clone());
                if let Some(r) = found.as_deref().filter(|r| self.base_region().as_deref() != Some(*r)) {
                    tracing::info!(bucket, region = %r, "bucket is in another region than the client's; using a client there");
                }
                found
            }
        };
        match region {
            Some(r) => self.in_region(&r),
            None => self.base.clone(),
        }
    }

    /// The bucket's region as HeadBucket's answer (or redirect) names it.
    async fn discover(&self, bucket: &str) -> Option<String> {
        match self.base.head_bucket().bucket(bucket).send().await {
            Ok(out) => out.bucket_region().map(str::to_owned),
            Err(e) => {
                let region = bucket_region_of(&e);
                if region.is_none() {
                    tracing::debug!(bucket, error = %error_chain(&e), "HeadBucket named no region; using the base client");
                }
                region
            }
        }
    }
}
