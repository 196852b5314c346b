//! Splitting one bucket pair's key space into ranges that are listed and diffed concurrently,
//! and the checkpoint that records which ranges a stopped run left unfinished.
//!
//! A [`KeyRange`] is the half-open interval `(after, until]` of keys, the shape S3's
//! `StartAfter` gives: a listing starts after `after` and stops once a key passes `until`.
//! Consecutive ranges share their boundary, so they tile the key space exactly *whatever the
//! boundaries are*: a badly chosen split only makes the ranges uneven, never loses or repeats a
//! key. That is why the split can be found cheaply by probing ([`SplitWalk`]).

use serde::{Deserialize, Serialize};

/// Probes a [`SplitWalk`] may send before it settles (each is one ListObjectsV2 of one key).
pub const DEFAULT_MAX_PROBES: usize = 100;

/// Keys `k` with `after < k <= until`; `None` leaves that side open.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyRange {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

impl KeyRange {
    /// The whole key space after `after`.
    pub fn from(after: Option<String>) -> Self {
        Self { after, until: None }
    }

    pub fn contains(&self, key: &str) -> bool {
        self.after.as_deref().is_none_or(|a| key > a) && !self.is_past(key)
    }

    /// True when `key` lies beyond the end of the range (a listing in key order can stop).
    pub fn is_past(&self, key: &str) -> bool {
        self.until.as_deref().is_some_and(|u| key > u)
    }

    /// The same range, continuing after `key`.
    pub fn continuing_after(&self, key: &str) -> Self {
        Self { after: Some(key.to_owned()), until: self.until.clone() }
    }
}

/// Splits `whole` at `points` (in key order; points outside it are dropped) into ranges that
/// tile it exactly.
pub fn split(whole: &KeyRange, points: &[String]) -> Vec<KeyRange> {
    let mut inner: Vec<&String> =
        points.iter().filter(|p| whole.contains(p) && whole.until.as_ref() != Some(*p)).collect();
    inner.sort();
    inner.dedup();
    let mut out = Vec::with_capacity(inner.len() + 1);
    let mut after = whole.after.clone();
    for p in inner {
        out.push(KeyRange { after: after.replace(p.clone()), until: Some(p.clone()) });
    }
    out.push(KeyRange { after, until: whole.until.clone() });
    out
}

/// Where an unfinished pair stands: the ranges still to list. Stored as JSON in the ledger's
/// checkpoint row; an older checkpoint that is a bare key reads as one range after that key.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    pub ranges: Vec<KeyRange>,
}

impl Checkpoint {
    pub fn decode(text: &str) -> Self {
        if text.starts_with('{') {
            if let Ok(c) = serde_json::from_str::<Checkpoint>(text) {
                return c;
            }
        }
        Self { ranges: vec![KeyRange::from(Some(text.to_owned()))] }
    }

    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a checkpoint always serializes")
    }
}

/// One probe to send: the first key under `prefix` strictly after `start_after`
/// (ListObjectsV2 with `MaxKeys=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub prefix: String,
    pub start_after: Option<String>,
}

/// Finds split points for a prefix by probing a sorted listing, without reading it whole.
///
/// It walks the distinct characters that follow `base` (initially the pair's prefix): the first
/// key after `base` gives the first character `c`, the first key after `base + c + U+10FFFF`
/// gives the next character, and so on. When every key shares the next character (a bucket
/// whose keys all start `logs/2024/`), the walk descends one character and starts again. Each
/// distinct character starts a group; the groups are dealt into the wanted number of ranges.
/// A walk is bounded by its probe budget; it never needs to be exact (see the module docs).
#[derive(Debug, Clone)]
pub struct SplitWalk {
    base: String,
    next: Option<Option<String>>,
    chars: Vec<char>,
    probes: usize,
    max_probes: usize,
}

impl SplitWalk {
    pub fn new(prefix: &str, max_probes: usize) -> Self {
        Self { base: prefix.to_owned(), next: Some(None), chars: Vec::new(), probes: 0, max_probes }
    }

    /// The next probe, or `None` when the walk is over.
    pub fn next_probe(&self) -> Option<Probe> {
        let start_after = self.next.clone()?;
        Some(Probe { prefix: self.base.clone(), start_after })
    }

    /// Takes the answer to the last probe: the first key found, or `None`.
    pub fn observe(&mut self, first_key: Option<&str>) {
        self.probes += 1;
        let next_char = first_key.and_then(|k| k.strip_prefix(self.base.as_str())).map(|rest| rest.chars().next());
        self.next = match next_char {
            // The key equals `base`: no character follows it; look past it.
            Some(None) => Some(Some(self.base.clone())),
            Some(Some(c)) => {
                self.chars.push(c);
                Some(Some(past_group(&self.base, c)))
            }
            // No key after (or outside the prefix, which a listing never returns): this level is
            // walked. One character only: every key shares it, so descend.
            None if self.chars.len() == 1 => {
                self.base.push(self.chars[0]);
                self.chars.clear();
                Some(None)
            }
            None => None,
        };
        if self.probes >= self.max_probes {
            self.next = None;
        }
    }

    /// Probes sent so far.
    pub fn probes(&self) -> usize {
        self.probes
    }

    /// Up to `ranges - 1` split points dealing the groups found evenly; none when fewer than
    /// two groups were found. A point is `base + c + U+10FFFF` for the last character `c` of the
    /// groups before it, so each group's keys start after it.
    pub fn split_points(&self, ranges: usize) -> Vec<String> {
        let groups = self.chars.len();
        let n = ranges.min(groups);
        if n < 2 {
            return Vec::new();
        }
        (1..n).map(|i| past_group(&self.base, self.chars[i * groups / n - 1])).collect()
    }
}

/// A key after every key that starts with `base + c` (but for keys holding U+10FFFF there).
fn past_group(base: &str, c: char) -> String {
    format!("{base}{c}{}", char::MAX)
}

#[cfg(test)]
mod tests;
