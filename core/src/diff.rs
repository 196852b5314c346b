//! The listing merge-join: source and destination listings, both in S3 key order, compared
//! one entry at a time. It holds only what the caller pushed and has not yet been decided,
//! so memory stays at about one listing page per side whatever the bucket size.
//!
//! Destination keys are given in *source key space* (the destination prefix stripped; see
//! [`DestinationMapping`]), so both sides compare by the same key.

use crate::archive::Access;
use crate::keys::dest_key;
use std::collections::VecDeque;

/// One listed object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub size: u64,
    /// Latest version (source side, when versions are compared).
    pub version_id: Option<String>,
    /// ETag as listed (quoted), when the listing gave one.
    pub etag: Option<String>,
    /// Whether it can be read now (source side; see [`crate::archive`]).
    pub access: Access,
    /// Additional checksum algorithm as listed (source side).
    pub checksum_algorithm: Option<String>,
    /// Last modified, as listed (seconds since the epoch).
    pub last_modified: Option<u64>,
}

impl Entry {
    pub fn new(key: impl Into<String>, size: u64) -> Self {
        Self {
            key: key.into(),
            size,
            version_id: None,
            etag: None,
            access: Access::Readable,
            checksum_algorithm: None,
            last_modified: None,
        }
    }
}

/// The verdict for one source object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compared {
    /// Not at the destination.
    Missing(Entry),
    /// At the destination with another size.
    SizeDiffers { src: Entry, des_size: u64 },
    /// At the destination with the same size (and not known to be identical).
    Equal(Entry),
    /// At the destination with the same size and the same listed ETag: the same bytes (an
    /// ETag is a digest of the content, or of its parts and their layout; S3 API reference,
    /// "Object"), so no ledger lookup can say more about it.
    Identical(Entry),
}

/// Which listing the merge-join needs another page of before it can decide more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Source,
    Destination,
    /// Every source entry is decided.
    Finished,
}

/// The merge-join state.
#[derive(Debug, Default)]
pub struct MergeJoin {
    src: VecDeque<Entry>,
    des: VecDeque<Entry>,
    src_done: bool,
    des_done: bool,
}

impl MergeJoin {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a source page (in key order); `last` when the listing has no more.
    pub fn push_source(&mut self, page: impl IntoIterator<Item = Entry>, last: bool) {
        self.src.extend(page);
        self.src_done |= last;
    }

    /// Adds a destination page (source key space, in key order); `last` when it has no more.
    pub fn push_destination(&mut self, page: impl IntoIterator<Item = Entry>, last: bool) {
        self.des.extend(page);
        self.des_done |= last;
    }

    /// Decides every source entry that can be decided now, calling `emit` for each.
    pub fn drain(&mut self, mut emit: impl FnMut(Compared)) {
        loop {
            let Some(src) = self.src.front() else { return };
            match self.des.front() {
                Some(des) => match src.key.as_str().cmp(des.key.as_str()) {
                    std::cmp::Ordering::Less => {
                        let src = self.src.pop_front().expect("front exists");
                        emit(Compared::Missing(src));
                    }
                    std::cmp::Ordering::Equal => {
                        let src = self.src.pop_front().expect("front exists");
                        let des = self.des.pop_front().expect("front exists");
                        if src.size == des.size && src.etag.is_some() && src.etag == des.etag {
                            emit(Compared::Identical(src));
                        } else if src.size == des.size {
                            emit(Compared::Equal(src));
                        } else {
                            emit(Compared::SizeDiffers { src, des_size: des.size });
                        }
                    }
                    // A destination object with no source counterpart: not ours to judge.
                    std::cmp::Ordering::Greater => {
                        self.des.pop_front();
                    }
                },
                None if self.des_done => {
                    let src = self.src.pop_front().expect("front exists");
                    emit(Compared::Missing(src));
                }
                None => return,
            }
        }
    }

    /// What to fetch next. Call after [`MergeJoin::drain`].
    pub fn need(&self) -> Need {
        if self.src.is_empty() {
            if self.src_done {
                Need::Finished
            } else {
                Need::Source
            }
        } else if self.des.is_empty() && !self.des_done {
            Need::Destination
        } else {
            // drain() leaves a source entry only when the destination side is empty.
            Need::Source
        }
    }

    /// Entries held right now (for memory accounting in benchmarks).
    pub fn buffered(&self) -> usize {
        self.src.len() + self.des.len()
    }
}

/// How destination keys relate to source keys for one bucket pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationMapping {
    root: String,
}

impl DestinationMapping {
    pub fn new(des_prefix: &str) -> Self {
        Self { root: dest_key(des_prefix, "") }
    }

    /// The destination key of a source key.
    pub fn to_destination(&self, src_key: &str) -> String {
        format!("{}{}", self.root, src_key)
    }

    /// The source key of a destination key; `None` when it lies outside the mapping.
    pub fn to_source<'a>(&self, des_key: &'a str) -> Option<&'a str> {
        des_key.strip_prefix(self.root.as_str())
    }
}

#[cfg(test)]
mod tests;
