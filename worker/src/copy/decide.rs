//! The copy's decisions, pure and table-tested: one plan per copy (`plan`: skip, one request,
//! a piped PUT, multipart, too large) from the facts read once, what every read is pinned to
//! (`ReadPin`), how many requests an object takes, whether a recorded upload can be resumed,
//! and what the destination is expected to hold. The I/O around them lives in the other
//! modules of `copy`; the decisions of finishing an upload are beside it
//! (`complete::completed_check`, `complete::completed_earlier`).

use s3_migrate_core::config::CopyPath;
use s3_migrate_core::ledger::{ObjectRecord, Status};
use s3_migrate_core::units::GIB;

/// Largest object one CopyObject may copy (S3 User Guide, "Copying objects"): in server mode
/// anything up to this is one atomic request, as fast as S3 copies, with nothing to resume.
pub const COPY_OBJECT_MAX_BYTES: u64 = 5 * GIB;

/// Largest object copied in one request: `ResumableThreshold` when streaming (larger objects
/// are a resumable multipart upload); in server mode anything one CopyObject takes, on a job's
/// first attempt. A job handed on (`attempt` > 0) may be one whose CopyObject was cut by the
/// deadline: a CopyObject cannot resume, and one longer than any invocation would be cut and
/// handed on forever, so from then on it is a multipart copy, resumable part by part (unless
/// the destination has no multipart: CopyObject is then the only way).
pub fn single_request_limit(path: CopyPath, resumable_threshold: u64, attempt: u32, des_multipart: bool) -> u64 {
    if path == CopyPath::Stream || (attempt > 0 && des_multipart) {
        resumable_threshold
    } else {
        resumable_threshold.max(COPY_OBJECT_MAX_BYTES)
    }
}

/// How an object is copied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// One request: GET + PUT (stream, read whole) or CopyObject (server).
    OneRequest,
    /// One PUT whose body is piped from the GET, for a destination without multipart.
    StreamedPut,
    /// A resumable multipart upload.
    Multipart,
    /// More than the destination takes in one PUT, and it has no multipart.
    TooLarge { limit: u64 },
}

/// Largest object one request writes to the destination: its `max_put_bytes`, and in server
/// mode also what one CopyObject copies.
pub fn one_put_max(path: CopyPath, des_max_put: u64) -> u64 {
    if path == CopyPath::Stream {
        des_max_put
    } else {
        des_max_put.min(COPY_OBJECT_MAX_BYTES)
    }
}

/// How an object of `size` is copied: in one request up to `single_limit`
/// ([`single_request_limit`]) and what the destination takes in one request; else multipart
/// where the destination has it; else one piped PUT (stream) up to the destination's
/// `max_put_bytes`, or one CopyObject (server) up to that and 5 GiB; beyond, not at all.
pub fn transfer(size: u64, single_limit: u64, path: CopyPath, des_multipart: bool, des_max_put: u64) -> Transfer {
    let one_put_max = one_put_max(path, des_max_put);
    if size <= single_limit.min(one_put_max) {
        Transfer::OneRequest
    } else if des_multipart {
        Transfer::Multipart
    } else if size > one_put_max {
        Transfer::TooLarge { limit: one_put_max }
    } else if path == CopyPath::Stream {
        Transfer::StreamedPut
    } else {
        Transfer::OneRequest
    }
}

/// True when the job alone is enough for a single-request copy with no HEAD first (`listed`):
/// the object fits one request (`limit`, [`single_request_limit`]) and, in server mode, the
/// CopyObject can be pinned (`pinnable`: the job names the version to copy, or the listed ETag
/// for `x-amz-copy-source-if-match`) and needs nothing read from the source first (an Object
/// Lock to copy, `CopyObjectLock`). A stream GET's own headers describe its body.
pub fn copy_without_head(size: u64, limit: u64, path: CopyPath, pinnable: bool, copy_object_lock: bool) -> bool {
    size <= limit && (path == CopyPath::Stream || (pinnable && !copy_object_lock))
}

/// What every read of one copy is tied to, so that all its bytes are of one source object:
/// the consistency rule, stated once. A version when there is one to read by, else `If-Match`
/// on the ETag HEAD saw (a source overwritten mid-copy then fails the read with 412 and the copy
/// starts over), else nothing (a store that gives no ETag). The requests apply it themselves
/// (`read.rs`: GetObject, UploadPartCopy, CopyObject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadPin {
    Version(String),
    Etag(String),
    Unpinned,
}

impl ReadPin {
    /// The job's version when `GetObjectWithVersionId` (`job_version` is then set), else the
    /// one HEAD saw when `UpdateVersionId` and the job names none; else the ETag HEAD saw.
    pub fn decide(
        job_version: Option<&str>,
        head_version: Option<&str>,
        head_etag: Option<&str>,
        update_version_id: bool,
        job_names_a_version: bool,
    ) -> ReadPin {
        let version = match (job_version, head_version) {
            (Some(v), _) => Some(v),
            (None, Some(v)) if update_version_id && !job_names_a_version => Some(v),
            _ => None,
        };
        ReadPin::of(version, head_etag)
    }

    /// Tied to `version` when given, else to `etag`, else to nothing.
    pub fn of(version: Option<&str>, etag: Option<&str>) -> ReadPin {
        match (version, etag) {
            (Some(v), _) => ReadPin::Version(v.to_owned()),
            (None, Some(e)) => ReadPin::Etag(e.to_owned()),
            (None, None) => ReadPin::Unpinned,
        }
    }

    /// The version reads name, if pinned by version.
    pub fn version(&self) -> Option<&str> {
        match self {
            ReadPin::Version(v) => Some(v),
            _ => None,
        }
    }

    /// The ETag reads must match (`If-Match`), if pinned by ETag.
    pub fn if_match(&self) -> Option<&str> {
        match self {
            ReadPin::Etag(e) => Some(e),
            _ => None,
        }
    }
}

/// The source and destination a multipart upload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadTarget<'a> {
    pub size: u64,
    pub part_size: u64,
    pub etag: Option<&'a str>,
    pub version_id: Option<&'a str>,
    pub des: (&'a str, &'a str),
}

/// True when the upload a record names was made for exactly this source (size, ETag,
/// version), part size and destination: only then are its parts reused.
pub fn upload_fits(r: &ObjectRecord, t: &UploadTarget<'_>) -> bool {
    r.size == Some(t.size)
        && r.part_size == Some(t.part_size)
        && r.etag.as_deref() == t.etag
        && r.version_id.as_deref() == t.version_id
        && r.des_bucket.as_deref() == Some(t.des.0)
        && r.des_key.as_deref() == Some(t.des.1)
}

/// True when the destination probably holds a copy already (the ledger recorded one): a
/// single PUT then looks at it first and writes on condition of what it saw.
pub fn destination_expected(record: Option<&ObjectRecord>) -> bool {
    record.is_some_and(|r| r.status == Some(Status::Done))
}

/// The source as the copy's HEAD saw it: what a plan needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceFacts<'a> {
    pub size: u64,
    pub version_id: Option<&'a str>,
    pub etag: Option<&'a str>,
}

/// What a copy reads before it decides, once (`Copier::copy_once` reads them).
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts<'a> {
    /// The source (`None`: HEAD found no object, or not the job's version).
    pub source: Option<SourceFacts<'a>>,
    /// The object's ledger record.
    pub record: Option<&'a ObjectRecord>,
    /// The destination's size, read only when the record says this source was copied.
    pub destination_size: Option<u64>,
}

impl Facts<'_> {
    /// Whether the destination must be looked at: the record says this source was copied.
    pub fn needs_destination(source: SourceFacts<'_>, record: Option<&ObjectRecord>) -> bool {
        record.is_some_and(|r| r.is_done_for(source.size, source.version_id, source.etag))
    }
}

/// What the settings and the two stores allow a copy of this job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// [`single_request_limit`] for the job.
    pub single_request: u64,
    pub path: CopyPath,
    /// The destination store has multipart upload (`multipart`), and takes this much in one PUT
    /// (`max_put_bytes`).
    pub des_multipart: bool,
    pub des_max_put: u64,
}

/// What one copy does, decided once from its facts; the executors make the requests it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// The source object (or the job's version) is gone: nothing to copy, recorded SKIPPED.
    SourceGone,
    /// The ledger says this size and version (or ETag) were copied, and the destination has
    /// that size: skipped.
    AlreadyCopied,
    /// One request (GET + PUT read whole, or CopyObject); a stale upload the record names is
    /// aborted first. `dest_expected`: the ledger recorded a copy, so a PUT looks first and
    /// writes on condition of what it saw.
    OneRequest { dest_expected: bool },
    /// One PUT piped from the GET, for a destination without multipart.
    StreamedPut { dest_expected: bool },
    /// A resumable multipart upload.
    Multipart,
    /// More than the destination takes in one PUT, and it has no multipart.
    TooLarge { limit: u64 },
}

/// Plans a copy (see [`Plan`]) from its facts and limits.
pub fn plan(facts: &Facts<'_>, limits: &Limits) -> Plan {
    let Some(source) = facts.source else { return Plan::SourceGone };
    if Facts::needs_destination(source, facts.record) && facts.destination_size == Some(source.size) {
        return Plan::AlreadyCopied;
    }
    let dest_expected = destination_expected(facts.record);
    match transfer(source.size, limits.single_request, limits.path, limits.des_multipart, limits.des_max_put) {
        Transfer::OneRequest => Plan::OneRequest { dest_expected },
        Transfer::StreamedPut => Plan::StreamedPut { dest_expected },
        Transfer::Multipart => Plan::Multipart,
        Transfer::TooLarge { limit } => Plan::TooLarge { limit },
    }
}

#[cfg(test)]
mod tests;
