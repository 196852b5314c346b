//! Listing a bucket prefix page by page, in key order, ahead of the merge-join.
//!
//! Each listing runs in its own task and keeps at most [`PAGES_AHEAD`] pages ready, so the
//! source and destination are listed concurrently while memory stays bounded.

use crate::error::SendError;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{Object, OptionalObjectAttributes, RestoreStatus};
use s3_migrate_core::archive;
use s3_migrate_core::diff::{DestinationMapping, Entry};
use s3_migrate_core::job::listed_etag;
use s3_migrate_core::ranges::{KeyRange, Probe};
use s3_migrate_core::regions::{bucket_region_of, client_in_region, region_of, RegionError};
use s3_migrate_core::store::ListVersion;
use tokio::sync::mpsc;

mod paging;
use paging::{next_cursor, Cursor, PageEnd};

/// Pages a listing may run ahead of the merge-join.
pub const PAGES_AHEAD: usize = 2;
/// Keys per ListObjectsV2 / ListObjectVersions page (the S3 maximum).
const PAGE_KEYS: i32 = 1000;

/// One page; `last` when the listing is over.
pub type Page = Result<(Vec<Entry>, bool), SendError>;

/// What to list.
#[derive(Debug, Clone)]
pub struct ListSpec {
    pub bucket: String,
    pub prefix: String,
    /// The keys to list, in source key space (a checkpoint's or a split's range).
    pub range: KeyRange,
    /// The listing API the store answers (`list_objects_version`).
    pub list: ListVersion,
    /// Latest versions (ListObjectVersions) instead of ListObjectsV2.
    pub versions: bool,
    /// Destination side: keys are given back in source key space.
    pub mapping: Option<DestinationMapping>,
}

fn s3_error<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &'static str,
    bucket: &str,
    e: SdkError<E>,
) -> SendError {
    match e.code() {
        Some("NoSuchBucket") => SendError::NoSuchBucket { bucket: bucket.to_owned() },
        Some("AccessDenied") | Some("AllAccessDisabled") => SendError::AccessDenied { bucket: bucket.to_owned(), op },
        Some("NotImplemented") => SendError::S3 {
            op,
            bucket: bucket.to_owned(),
            message: s3_migrate_core::store::not_implemented_hint(op).to_owned(),
        },
        _ => SendError::S3 { op, bucket: bucket.to_owned(), message: s3_migrate_core::clients::error_chain(&e) },
    }
}

/// Checks that a bucket exists and can be reached, and returns the client for its region:
/// `configured` (the pair's) when given, else the one HeadBucket names (see
/// `s3_migrate_core::regions`). Errors name the bucket (and both regions when they differ).
pub async fn check_bucket(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    configured: Option<&str>,
) -> Result<aws_sdk_s3::Client, SendError> {
    let client = configured.map_or_else(|| s3.clone(), |r| client_in_region(s3, r));
    let mismatch = |found: String| {
        SendError::Region(RegionError::Mismatch {
            bucket: bucket.to_owned(),
            configured: configured.unwrap_or_default().to_owned(),
            bucket_region: found,
        })
    };
    match client.head_bucket().bucket(bucket).send().await {
        Ok(out) => match (out.bucket_region(), configured) {
            (Some(found), Some(c)) if found != c => Err(mismatch(found.to_owned())),
            (Some(found), None) if region_of(&client).as_deref() != Some(found) => Ok(client_in_region(&client, found)),
            _ => Ok(client),
        },
        Err(e) => match (s3_migrate_core::retry::status_of(&e), bucket_region_of(&e)) {
            (Some(301 | 400), Some(found)) if configured.is_some() => Err(mismatch(found)),
            (Some(301 | 400), Some(found)) if region_of(&client).as_deref() != Some(found.as_str()) => {
                // Once more, signed for the bucket's own region.
                Box::pin(check_bucket(&client_in_region(&client, &found), bucket, Some(&found))).await
            }
            (Some(404), _) => Err(SendError::NoSuchBucket { bucket: bucket.to_owned() }),
            (Some(501 | 405), _) => {
                tracing::warn!(bucket, "the store has no HeadBucket; its listing will tell whether the bucket exists");
                Ok(client)
            }
            (Some(403), _) => Err(SendError::AccessDenied { bucket: bucket.to_owned(), op: "HeadBucket" }),
            _ => Err(s3_error("HeadBucket", bucket, e)),
        },
    }
}

/// Starts listing in the background; pages arrive on the returned channel.
pub fn spawn(s3: aws_sdk_s3::Client, spec: ListSpec) -> mpsc::Receiver<Page> {
    let (tx, rx) = mpsc::channel(PAGES_AHEAD);
    tokio::spawn(async move {
        let result =
            if spec.versions { list_versions(&s3, &spec, &tx).await } else { list_objects(&s3, &spec, &tx).await };
        if let Err(e) = result {
            let _ = tx.send(Err(e)).await;
        }
    });
    rx
}

impl ListSpec {
    /// Source listings ask for each object's restore status, so that archived objects that
    /// were restored are seen as readable (see `s3_migrate_core::archive`).
    fn restore_status(&self) -> Option<Vec<OptionalObjectAttributes>> {
        self.mapping.is_none().then(|| vec![OptionalObjectAttributes::RestoreStatus])
    }

    /// Where the S3 listing starts: after the range's start, in the listed bucket's key space.
    fn start_after(&self) -> Option<String> {
        let after = self.range.after.as_deref()?;
        Some(match &self.mapping {
            Some(m) => m.to_destination(after),
            None => after.to_owned(),
        })
    }
}

/// One listed object as the listings give it (ListObjectsV2's `Object`, ListObjectVersions'
/// `ObjectVersion`).
struct Listed<'a> {
    key: &'a str,
    size: Option<i64>,
    version_id: Option<String>,
    etag: Option<&'a str>,
    storage_class: Option<&'a str>,
    restore: Option<&'a RestoreStatus>,
    checksum_algorithm: Option<&'a str>,
    last_modified: Option<&'a aws_sdk_s3::primitives::DateTime>,
}

fn to_entry(spec: &ListSpec, o: Listed<'_>) -> Option<Entry> {
    if s3_migrate_core::store::is_listing_artefact(o.key) {
        return None;
    }
    let key = match &spec.mapping {
        Some(m) => m.to_source(o.key)?,
        None => o.key,
    };
    let size = o.size.unwrap_or(0).max(0) as u64;
    let restore = o.restore.map(|r| archive::RestoreStatus {
        in_progress: r.is_restore_in_progress() == Some(true),
        has_expiry: r.restore_expiry_date().is_some(),
    });
    Some(Entry {
        key: key.to_owned(),
        size,
        version_id: o.version_id,
        etag: listed_etag(o.etag),
        access: archive::access(o.storage_class, restore),
        checksum_algorithm: o.checksum_algorithm.map(str::to_owned),
        last_modified: o.last_modified.and_then(|t| u64::try_from(t.secs()).ok()),
    })
}

/// Cuts a page at the end of the range; true when it was cut (the listing is over).
fn cut_at_range_end(spec: &ListSpec, entries: &mut Vec<Entry>) -> bool {
    match entries.iter().position(|e| spec.range.is_past(&e.key)) {
        Some(i) => {
            entries.truncate(i);
            true
        }
        None => false,
    }
}

/// The first key under the probe's prefix after its start (a [`SplitWalk`] probe).
///
/// [`SplitWalk`]: s3_migrate_core::ranges::SplitWalk
pub async fn first_key(
    s3: &aws_sdk_s3::Client,
    list: ListVersion,
    bucket: &str,
    probe: &Probe,
) -> Result<Option<String>, SendError> {
    let q = PageQuery { bucket, prefix: &probe.prefix, max_keys: 1, attributes: None };
    let page = objects_page(s3, list, &q, Cursor::StartAfter(probe.start_after.clone())).await?;
    Ok(page.objects.first().and_then(|o| o.key()).map(str::to_owned))
}

/// True when every key under `prefix` fits one listing page: such a pair is listed in one
/// request per side, and splitting it first would cost more requests than it saves.
pub async fn fits_one_page(
    s3: &aws_sdk_s3::Client,
    list: ListVersion,
    bucket: &str,
    prefix: &str,
) -> Result<bool, SendError> {
    let q = PageQuery { bucket, prefix, max_keys: PAGE_KEYS, attributes: None };
    let page = objects_page(s3, list, &q, Cursor::StartAfter(None)).await?;
    Ok(next_cursor(list, false, page.end).is_none())
}

/// What every page of one listing asks.
struct PageQuery<'a> {
    bucket: &'a str,
    prefix: &'a str,
    max_keys: i32,
    attributes: Option<Vec<OptionalObjectAttributes>>,
}

/// One page of objects and what its answer said about the listing's end.
struct ObjectsPage {
    objects: Vec<Object>,
    end: PageEnd,
}

/// One page of ListObjectsV2, or of ListObjects (V1) for stores that only answer that:
/// V1 pages with `marker`, the last key of the page before (its `NextMarker` comes only with a
/// delimiter), and starts after a key the same way.
async fn objects_page(
    s3: &aws_sdk_s3::Client,
    list: ListVersion,
    q: &PageQuery<'_>,
    cursor: Cursor,
) -> Result<ObjectsPage, SendError> {
    match list {
        ListVersion::V2 => {
            let req = s3
                .list_objects_v2()
                .bucket(q.bucket)
                .prefix(q.prefix)
                .max_keys(q.max_keys)
                .set_optional_object_attributes(q.attributes.clone());
            let req = match cursor {
                Cursor::Token(t) => req.continuation_token(t),
                Cursor::StartAfter(after) | Cursor::Versions { key: after, .. } => req.set_start_after(after),
                Cursor::Marker(after) => req.start_after(after),
            };
            let out = req.send().await.map_err(|e| s3_error("ListObjectsV2", q.bucket, e))?;
            let end = PageEnd {
                truncated: out.is_truncated() == Some(true),
                next: out.next_continuation_token().map(str::to_owned),
                ..Default::default()
            };
            Ok(ObjectsPage { objects: out.contents.unwrap_or_default(), end })
        }
        ListVersion::V1 => {
            let marker = match cursor {
                Cursor::StartAfter(after) | Cursor::Versions { key: after, .. } => after,
                Cursor::Token(m) | Cursor::Marker(m) => Some(m),
            };
            let out = s3
                .list_objects()
                .bucket(q.bucket)
                .prefix(q.prefix)
                .max_keys(q.max_keys)
                .set_marker(marker)
                .set_optional_object_attributes(q.attributes.clone())
                .send()
                .await
                .map_err(|e| s3_error("ListObjects", q.bucket, e))?;
            let objects = out.contents.unwrap_or_default();
            let end = PageEnd {
                truncated: out.is_truncated == Some(true),
                next: out.next_marker,
                last_key: objects.last().and_then(|o| o.key()).map(str::to_owned),
                ..Default::default()
            };
            Ok(ObjectsPage { objects, end })
        }
    }
}

async fn list_objects(s3: &aws_sdk_s3::Client, spec: &ListSpec, tx: &mpsc::Sender<Page>) -> Result<(), SendError> {
    let q = PageQuery {
        bucket: &spec.bucket,
        prefix: &spec.prefix,
        max_keys: PAGE_KEYS,
        attributes: spec.restore_status(),
    };
    let mut cursor = Cursor::StartAfter(spec.start_after());
    loop {
        let page = objects_page(s3, spec.list, &q, cursor).await?;
        let mut entries: Vec<Entry> = page
            .objects
            .iter()
            .filter_map(|o| {
                let listed = Listed {
                    key: o.key()?,
                    size: o.size(),
                    version_id: None,
                    etag: o.e_tag(),
                    storage_class: o.storage_class().map(|c| c.as_str()),
                    restore: o.restore_status(),
                    checksum_algorithm: o.checksum_algorithm().first().map(|a| a.as_str()),
                    last_modified: o.last_modified(),
                };
                to_entry(spec, listed)
            })
            .collect();
        let cut = cut_at_range_end(spec, &mut entries);
        let Some(next) = next_cursor(spec.list, false, PageEnd { cut, ..page.end }) else {
            let _ = tx.send(Ok((entries, true))).await;
            return Ok(());
        };
        if tx.send(Ok((entries, false))).await.is_err() {
            return Ok(());
        }
        cursor = next;
    }
}

async fn list_versions(s3: &aws_sdk_s3::Client, spec: &ListSpec, tx: &mpsc::Sender<Page>) -> Result<(), SendError> {
    let mut cursor = Cursor::Versions { key: spec.start_after(), version: None };
    loop {
        let (key_marker, version_marker) = match cursor {
            Cursor::Versions { key, version } => (key, version),
            Cursor::StartAfter(key) => (key, None),
            Cursor::Token(key) | Cursor::Marker(key) => (Some(key), None),
        };
        let out = s3
            .list_object_versions()
            .bucket(&spec.bucket)
            .prefix(&spec.prefix)
            .max_keys(PAGE_KEYS)
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .set_optional_object_attributes(spec.restore_status())
            .send()
            .await
            .map_err(|e| s3_error("ListObjectVersions", &spec.bucket, e))?;
        // The latest version of each key; a key whose latest entry is a delete marker is gone.
        let mut entries: Vec<Entry> = out
            .versions()
            .iter()
            .filter(|v| v.is_latest() == Some(true))
            .filter_map(|v| {
                let listed = Listed {
                    key: v.key()?,
                    size: v.size(),
                    version_id: v.version_id().filter(|id| *id != "null").map(str::to_owned),
                    etag: v.e_tag(),
                    storage_class: v.storage_class().map(|c| c.as_str()),
                    restore: v.restore_status(),
                    checksum_algorithm: v.checksum_algorithm().first().map(|a| a.as_str()),
                    last_modified: v.last_modified(),
                };
                to_entry(spec, listed)
            })
            .collect();
        let cut = cut_at_range_end(spec, &mut entries);
        let end = PageEnd {
            truncated: out.is_truncated() == Some(true),
            next: out.next_key_marker().map(str::to_owned),
            next_version: out.next_version_id_marker().map(str::to_owned),
            last_key: None,
            cut,
        };
        let next = next_cursor(spec.list, true, end);
        if tx.send(Ok((entries, next.is_none()))).await.is_err() {
            return Ok(());
        }
        match next {
            Some(c) => cursor = c,
            None => return Ok(()),
        }
    }
}
