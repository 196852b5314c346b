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
/// Keys are grouped by prefix, starting from one group, the pair's prefix. A group is expanded
/// by walking the distinct characters that follow its prefix: the first key after the prefix
/// gives the first character `c`, the first key after `prefix + c + U+10FFFF` the next, and so
/// on; each character found is a child group. While there are fewer groups than wanted ranges,
/// every group that has children is expanded again, breadth first, so keys that all start
/// `logs/2024/`, or 100,000 keys `k000001`..`k100000`, still split evenly. The groups are then
/// dealt into ranges in key order. A walk is bounded by its probe budget and never needs to be
/// exact (see the module docs).
#[derive(Debug, Clone)]
pub struct SplitWalk {
    /// Settled groups of the current round, in key order.
    groups: Vec<Group>,
    /// Groups still to expand this round (front first).
    todo: std::collections::VecDeque<Group>,
    /// The group being expanded: its children so far, whether its own key exists, and where
    /// the next probe starts.
    current: Option<Expansion>,
    want: usize,
    probes: usize,
    max_probes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    prefix: String,
    /// No key extends the prefix: nothing to expand.
    leaf: bool,
}

#[derive(Debug, Clone)]
struct Expansion {
    group: Group,
    children: Vec<Group>,
    has_own_key: bool,
    start_after: Option<String>,
}

impl SplitWalk {
    /// A walk of the keys under `prefix`, aiming at `want` ranges.
    pub fn new(prefix: &str, want: usize, max_probes: usize) -> Self {
        let mut w = Self {
            groups: Vec::new(),
            todo: Default::default(),
            current: None,
            want: want.max(1),
            probes: 0,
            max_probes,
        };
        w.todo.push_back(Group { prefix: prefix.to_owned(), leaf: false });
        w.advance();
        w
    }

    /// The next probe, or `None` when the walk is over.
    pub fn next_probe(&self) -> Option<Probe> {
        let e = self.current.as_ref()?;
        Some(Probe { prefix: e.group.prefix.clone(), start_after: e.start_after.clone() })
    }

    /// Takes the answer to the last probe: the first key found, or `None`.
    pub fn observe(&mut self, first_key: Option<&str>) {
        let Some(e) = self.current.as_mut() else { return };
        self.probes += 1;
        let next_char = first_key.and_then(|k| k.strip_prefix(e.group.prefix.as_str())).map(|rest| rest.chars().next());
        match next_char {
            // The key equals the prefix: no character follows it; look past it.
            Some(None) => {
                e.has_own_key = true;
                e.start_after = Some(e.group.prefix.clone());
            }
            Some(Some(c)) => {
                e.children.push(Group { prefix: format!("{}{c}", e.group.prefix), leaf: false });
                e.start_after = Some(past_group(&e.group.prefix, c));
            }
            // No key after (or outside the prefix, which a listing never returns): walked.
            None => self.settle(),
        }
        if self.probes >= self.max_probes {
            // Out of budget: what is being expanded keeps what it found; the rest stays as is.
            if self.current.is_some() {
                self.settle();
            }
            self.groups.extend(self.todo.drain(..));
            self.current = None;
        }
    }

    /// Ends the expansion of the current group and moves on.
    fn settle(&mut self) {
        if let Some(e) = self.current.take() {
            if e.children.is_empty() {
                if e.has_own_key {
                    self.groups.push(Group { leaf: true, ..e.group });
                }
            } else {
                self.groups.extend(e.children);
            }
        }
        self.advance();
    }

    /// Starts expanding the next group; starts another round when this one is over and more
    /// groups are wanted.
    fn advance(&mut self) {
        loop {
            if let Some(group) = self.todo.pop_front() {
                if group.leaf {
                    self.groups.push(group);
                    continue;
                }
                self.current = Some(Expansion { group, children: Vec::new(), has_own_key: false, start_after: None });
                return;
            }
            let expandable = self.groups.iter().any(|g| !g.leaf);
            if self.groups.len() >= self.want || !expandable || self.probes >= self.max_probes {
                return;
            }
            self.todo = std::mem::take(&mut self.groups).into();
        }
    }

    /// Probes sent so far.
    pub fn probes(&self) -> usize {
        self.probes
    }

    /// Up to `want - 1` split points dealing the groups found evenly; none when fewer than two
    /// groups were found. A point is `prefix + U+10FFFF` of the last group before it, so every
    /// group's keys start after it.
    pub fn split_points(&self) -> Vec<String> {
        let groups = self.groups.len();
        let n = self.want.min(groups);
        if n < 2 {
            return Vec::new();
        }
        (1..n).map(|i| format!("{}{}", self.groups[i * groups / n - 1].prefix, char::MAX)).collect()
    }
}

/// A key after every key that starts with `base + c` (but for keys holding U+10FFFF there).
fn past_group(base: &str, c: char) -> String {
    format!("{base}{c}{}", char::MAX)
}

#[cfg(test)]
mod tests;
