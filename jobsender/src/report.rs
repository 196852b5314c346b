//! What a run reports: a pair's figures, a table on the terminal, JSON and EMF in Lambda.

use s3_migrate_core::emf;
use serde::Serialize;

/// Figures of one pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PairReport {
    pub pair: String,
    /// Jobs made (enqueued, or listed in a dry run).
    pub to_copy: u64,
    pub bytes_to_copy: u64,
    pub equal: u64,
    pub ignored: u64,
    pub already_queued: u64,
    pub enqueued: u64,
    /// Source objects in an archive storage class that cannot be read now (not enqueued).
    pub archived: u64,
    /// Restores asked for (`ArchivedObjects=restore`).
    pub restores_requested: u64,
    /// Objects whose copy failed permanently and whose source has not changed since (not
    /// enqueued; `--retry-failed` enqueues them).
    pub failed: u64,
    /// Jobs of the pair's last complete run still being copied: the pair was not listed now
    /// (0 when it was). See `s3_migrate_core::backlog`.
    pub waiting: u64,
    /// False when the time budget stopped the pair at a checkpoint.
    pub complete: bool,
    pub error: Option<String>,
}

impl PairReport {
    /// Adds the figures of one range of the pair.
    pub(crate) fn absorb(&mut self, r: &PairReport) {
        self.to_copy += r.to_copy;
        self.bytes_to_copy += r.bytes_to_copy;
        self.equal += r.equal;
        self.ignored += r.ignored;
        self.already_queued += r.already_queued;
        self.enqueued += r.enqueued;
        self.archived += r.archived;
        self.restores_requested += r.restores_requested;
        self.failed += r.failed;
    }
}

/// A table for people.
pub fn table(reports: &[PairReport], dry_run: bool) -> String {
    let mut out = format!(
        "{:<50} {:>10} {:>14} {:>10} {:>8} {:>8} {:>8} {:>8} {:>10}  {}\n",
        "pair",
        "to copy",
        "bytes",
        "equal",
        "ignored",
        "queued",
        "archived",
        "failed",
        if dry_run { "(dry run)" } else { "enqueued" },
        "state"
    );
    for r in reports {
        let state = match (&r.error, r.complete) {
            (Some(e), _) => format!("FAILED: {e}"),
            (None, true) if r.waiting > 0 => {
                format!("not listed: {} jobs of the last run still being copied", r.waiting)
            }
            (None, true) => "complete".into(),
            (None, false) => "checkpoint saved, continues next run".into(),
        };
        out.push_str(&format!(
            "{:<50} {:>10} {:>14} {:>10} {:>8} {:>8} {:>8} {:>8} {:>10}  {}\n",
            r.pair,
            r.to_copy,
            r.bytes_to_copy,
            r.equal,
            r.ignored,
            r.already_queued,
            r.archived,
            r.failed,
            r.enqueued,
            state
        ));
        if r.restores_requested > 0 {
            out.push_str(&format!("  {}: {} restores requested\n", r.pair, r.restores_requested));
        }
    }
    out
}

/// EMF lines, one per pair.
pub fn emf_lines(reports: &[PairReport]) -> Vec<String> {
    reports
        .iter()
        .map(|r| {
            emf::render(
                &[
                    ("JobsEnqueued", "Count", r.enqueued as f64),
                    ("ObjectsToCopy", "Count", r.to_copy as f64),
                    ("BytesToCopy", "Bytes", r.bytes_to_copy as f64),
                    ("ObjectsEqual", "Count", r.equal as f64),
                    ("ObjectsIgnored", "Count", r.ignored as f64),
                    ("ObjectsAlreadyQueued", "Count", r.already_queued as f64),
                    ("JobsOfLastRunWaiting", "Count", r.waiting as f64),
                    ("ObjectsArchived", "Count", r.archived as f64),
                    ("RestoresRequested", "Count", r.restores_requested as f64),
                    ("ObjectsFailedUnchanged", "Count", r.failed as f64),
                    ("PairsFailed", "Count", f64::from(u8::from(r.error.is_some()))),
                ],
                &[("Pair", r.pair.as_str())],
                emf::now_ms(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_emf_show_every_pair() {
        let reports = vec![
            PairReport {
                pair: "a/->b/".into(),
                to_copy: 3,
                enqueued: 3,
                archived: 4,
                failed: 2,
                complete: true,
                ..Default::default()
            },
            PairReport { pair: "c/->d/".into(), error: Some("bucket c does not exist".into()), ..Default::default() },
        ];
        let t = table(&reports, false);
        assert!(t.contains("a/->b/") && t.contains("complete"));
        assert!(t.contains("FAILED: bucket c does not exist"));
        let lines = emf_lines(&reports);
        assert_eq!(lines.len(), 2);
        let v: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
        assert_eq!(v["PairsFailed"], 1.0);
        let a: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!((a["ObjectsArchived"].as_f64(), a["ObjectsFailedUnchanged"].as_f64()), (Some(4.0), Some(2.0)));
        let row = t.lines().nth(1).unwrap();
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cols[1..10], ["3", "0", "0", "0", "0", "4", "2", "3", "complete"], "{row}");
        assert_eq!(v["Pair"], "c/->d/");
    }
}
