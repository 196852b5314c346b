//! Whether a listed object can be read now, from its storage class and restore status.
//!
//! S3 User Guide, "Working with archived objects": objects in S3 Glacier Flexible Retrieval
//! (`GLACIER`) and S3 Glacier Deep Archive (`DEEP_ARCHIVE`) cannot be read (GetObject and
//! CopyObject answer `403 InvalidObjectState`) until a restore made a temporary copy. A
//! listing shows a restore only when asked (ListObjectsV2 / ListObjectVersions
//! `OptionalObjectAttributes=RestoreStatus`): `IsRestoreInProgress=false` with a
//! `RestoreExpiryDate` is a readable restored copy. `GLACIER_IR` is read like STANDARD.
//! S3 Intelligent-Tiering's opt-in archive tiers do not show in a listing (the class stays
//! `INTELLIGENT_TIERING`); such an object fails its GET with `InvalidObjectState`, which the
//! worker records as a permanent failure (see `ledger`), so it is not enqueued again.

/// What a listed object allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// Readable now.
    #[default]
    Readable,
    /// Archived, no restore asked for (or the restored copy expired).
    Archived,
    /// Archived, a restore is in progress.
    Restoring,
}

/// A listing's `RestoreStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestoreStatus {
    pub in_progress: bool,
    /// A restored copy exists until some date.
    pub has_expiry: bool,
}

/// Storage classes whose objects must be restored before they are read.
pub const ARCHIVE_CLASSES: &[&str] = &["GLACIER", "DEEP_ARCHIVE"];

/// The access a listed object allows.
pub fn access(storage_class: Option<&str>, restore: Option<RestoreStatus>) -> Access {
    if !storage_class.is_some_and(|c| ARCHIVE_CLASSES.contains(&c)) {
        return Access::Readable;
    }
    match restore {
        Some(RestoreStatus { in_progress: true, .. }) => Access::Restoring,
        Some(RestoreStatus { in_progress: false, has_expiry: true }) => Access::Readable,
        _ => Access::Archived,
    }
}

/// What the jobsender does with archived objects (`ArchivedObjects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchivedObjects {
    /// Count them, enqueue nothing (default).
    Skip,
    /// Ask S3 to restore them; a later run copies them once readable.
    Restore,
}

/// Settings of a restore request (`RestoreTier`, `RestoreDays`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreRequest {
    /// `Bulk` (default, cheapest), `Standard` or `Expedited` (not for DEEP_ARCHIVE).
    pub tier: String,
    /// Days the restored copy stays readable. Default 7.
    pub days: i32,
}

/// Retrieval tiers of RestoreObject (S3 API reference, "GlacierJobParameters").
pub const RESTORE_TIERS: &[&str] = &["Bulk", "Standard", "Expedited"];

#[cfg(test)]
mod tests {
    use super::*;

    const DONE: Option<RestoreStatus> = Some(RestoreStatus { in_progress: false, has_expiry: true });
    const ONGOING: Option<RestoreStatus> = Some(RestoreStatus { in_progress: true, has_expiry: false });
    const NEVER: Option<RestoreStatus> = Some(RestoreStatus { in_progress: false, has_expiry: false });

    #[test]
    fn only_archive_classes_need_a_restore() {
        for class in [None, Some("STANDARD"), Some("STANDARD_IA"), Some("GLACIER_IR"), Some("INTELLIGENT_TIERING")] {
            assert_eq!(access(class, None), Access::Readable, "{class:?}");
        }
    }

    #[test]
    fn archived_objects_are_readable_once_restored() {
        for class in ARCHIVE_CLASSES {
            assert_eq!(access(Some(class), None), Access::Archived, "no status asked or given");
            assert_eq!(access(Some(class), NEVER), Access::Archived);
            assert_eq!(access(Some(class), ONGOING), Access::Restoring);
            assert_eq!(access(Some(class), DONE), Access::Readable);
        }
    }
}
