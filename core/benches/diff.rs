//! Merge-join throughput and memory on synthetic listings (no network).
//!
//! `cargo bench -p s3-migrate-core --bench diff [-- KEYS]` diffs KEYS sorted keys per side
//! (default 10,000,000), fed in pages of 1,000 as S3 lists them: one in ten destination keys
//! missing, one in seventeen with another size. Prints keys per second and peak RSS.

use s3_migrate_core::diff::{Compared, Entry, MergeJoin, Need};
use std::time::Instant;

/// Keys per listing page (the S3 maximum).
const PAGE: u64 = 1000;

/// Key number `i`; increasing `i` gives increasing keys, as in an S3 listing.
fn key(i: u64) -> String {
    format!("data/{:04}/object-{i:010}.bin", i / 100_000)
}

fn src_page(from: u64, to: u64) -> Vec<Entry> {
    (from..to).map(|i| Entry::new(key(i), 1000 + i % 4096)).collect()
}

fn des_page(from: u64, to: u64) -> Vec<Entry> {
    (from..to).filter(|i| i % 10 != 3).map(|i| Entry::new(key(i), 1000 + i % 4096 + u64::from(i % 17 == 0))).collect()
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    let keys: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000_000);
    let started = Instant::now();
    let mut mj = MergeJoin::new();
    let (mut missing, mut differs, mut equal) = (0u64, 0u64, 0u64);
    let (mut s_next, mut d_next) = (0u64, 0u64);
    let mut peak_buffered = 0;
    loop {
        mj.drain(|c| match c {
            Compared::Missing(_) => missing += 1,
            Compared::SizeDiffers { .. } => differs += 1,
            Compared::Equal(_) | Compared::Identical(_) => equal += 1,
        });
        match mj.need() {
            Need::Finished => break,
            Need::Source => {
                let to = (s_next + PAGE).min(keys);
                mj.push_source(src_page(s_next, to), to == keys);
                s_next = to;
            }
            Need::Destination => {
                let to = (d_next + PAGE).min(keys);
                mj.push_destination(des_page(d_next, to), to == keys);
                d_next = to;
            }
        }
        peak_buffered = peak_buffered.max(mj.buffered());
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(missing + differs + equal, keys);
    assert_eq!(missing, keys / 10 + u64::from(keys % 10 > 3));
    println!("merge-join diff of {keys} keys per side (generating the keys included)");
    println!("  missing {missing}, size differs {differs}, equal {equal}");
    println!("  {secs:.2} s, {:.2} million source keys/s", keys as f64 / secs / 1e6);
    println!("  peak entries held {peak_buffered}, peak RSS {:.1} MiB", peak_rss_mib());
}
