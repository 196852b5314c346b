//! Where the next page of a listing starts, from what the last page's answer said: a pure
//! state machine over the three listing APIs, tested without a network.

use s3_migrate_core::store::ListVersion;

/// Where a page of a listing starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Cursor {
    /// After this key (the first page).
    StartAfter(Option<String>),
    /// ListObjectsV2's continuation token.
    Token(String),
    /// ListObjects' (V1) marker: the last key of the page before.
    Marker(String),
    /// ListObjectVersions' key and version-id markers.
    Versions { key: Option<String>, version: Option<String> },
}

/// What a page's answer says about the listing's end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct PageEnd {
    /// `IsTruncated`.
    pub truncated: bool,
    /// `NextContinuationToken` (V2), `NextMarker` (V1, only with a delimiter), or
    /// `NextKeyMarker` (versions).
    pub next: Option<String>,
    /// `NextVersionIdMarker` (versions).
    pub next_version: Option<String>,
    /// The page's last key (V1 pages without `NextMarker` continue after it).
    pub last_key: Option<String>,
    /// The page reached the end of the listed key range: the listing is over.
    pub cut: bool,
}

/// The next page's cursor; `None` when the listing is over. ListObjects (V1) gives
/// `NextMarker` only with a delimiter, so a truncated page without one continues after its
/// last key; a truncated answer that names no way on ends the listing (a store's bug, not a
/// loop).
pub(super) fn next_cursor(list: ListVersion, versions: bool, end: PageEnd) -> Option<Cursor> {
    if end.cut || !end.truncated {
        return None;
    }
    if versions {
        return end.next.map(|key| Cursor::Versions { key: Some(key), version: end.next_version });
    }
    match list {
        ListVersion::V2 => end.next.map(Cursor::Token),
        ListVersion::V1 => end.next.or(end.last_key).map(Cursor::Marker),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(truncated: bool, next: Option<&str>, last_key: Option<&str>) -> PageEnd {
        PageEnd {
            truncated,
            next: next.map(str::to_owned),
            last_key: last_key.map(str::to_owned),
            ..Default::default()
        }
    }

    #[test]
    fn the_next_page_of_each_listing_api() {
        use ListVersion::{V1, V2};
        let rows: &[(&str, ListVersion, bool, PageEnd, Option<Cursor>)] = &[
            ("V2, more", V2, false, end(true, Some("t"), Some("k")), Some(Cursor::Token("t".into()))),
            ("V2, last page", V2, false, end(false, None, Some("k")), None),
            ("V2, truncated with no token", V2, false, end(true, None, Some("k")), None),
            ("V1 with NextMarker", V1, false, end(true, Some("m"), Some("k")), Some(Cursor::Marker("m".into()))),
            ("V1 without NextMarker", V1, false, end(true, None, Some("k")), Some(Cursor::Marker("k".into()))),
            ("V1, empty truncated page", V1, false, end(true, None, None), None),
            ("V1, last page", V1, false, end(false, None, Some("k")), None),
            (
                "versions, more",
                V2,
                true,
                PageEnd { next_version: Some("v".into()), ..end(true, Some("k"), Some("k")) },
                Some(Cursor::Versions { key: Some("k".into()), version: Some("v".into()) }),
            ),
            ("versions, last page", V2, true, end(false, Some("k"), None), None),
            ("cut at the range's end", V2, false, PageEnd { cut: true, ..end(true, Some("t"), Some("k")) }, None),
        ];
        for (what, list, versions, page, want) in rows {
            assert_eq!(next_cursor(*list, *versions, page.clone()), *want, "{what}");
        }
    }
}
