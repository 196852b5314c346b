use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

/// The listing a probe would see: the first key under `prefix` after `start_after`.
fn answer(keys: &BTreeSet<String>, p: &Probe) -> Option<String> {
    keys.iter()
        .filter(|k| k.starts_with(&p.prefix))
        .find(|k| p.start_after.as_ref().is_none_or(|a| k.as_str() > a.as_str()))
        .cloned()
}

fn walk(keys: &BTreeSet<String>, prefix: &str, want: usize, max_probes: usize) -> SplitWalk {
    let mut w = SplitWalk::new(prefix, want, max_probes);
    while let Some(p) = w.next_probe() {
        let a = answer(keys, &p);
        w.observe(a.as_deref());
    }
    w
}

fn past(points: &[&str]) -> Vec<String> {
    points.iter().map(|p| format!("{p}{}", char::MAX)).collect()
}

fn set(keys: &[&str]) -> BTreeSet<String> {
    keys.iter().map(|k| k.to_string()).collect()
}

#[test]
fn hex_keys_split_by_first_character() {
    let keys: BTreeSet<String> = (0..4096u32).map(|i| format!("{:03x}-object", i)).collect();
    let w = walk(&keys, "", 4, DEFAULT_MAX_PROBES);
    // 16 groups found with 17 probes (the last finds nothing).
    assert_eq!(w.probes(), 17);
    assert_eq!(w.split_points(), past(&["3", "7", "b"]));
    let ranges = split(&KeyRange::default(), &w.split_points());
    let counts: Vec<usize> = ranges.iter().map(|r| keys.iter().filter(|k| r.contains(k)).count()).collect();
    assert_eq!(counts, vec![1024, 1024, 1024, 1024]);
}

#[test]
fn shared_prefix_is_descended() {
    let keys = set(&["logs/2024/a1", "logs/2024/a2", "logs/2024/b", "logs/2024/c/x"]);
    let w = walk(&keys, "logs/", 3, DEFAULT_MAX_PROBES);
    assert_eq!(w.split_points(), past(&["logs/2024/a", "logs/2024/b"]));
    // More ranges wanted: the groups are expanded further, down to single keys.
    let w = walk(&keys, "logs/", 8, DEFAULT_MAX_PROBES);
    assert_eq!(w.split_points(), past(&["logs/2024/a1", "logs/2024/a2", "logs/2024/b"]));
}

#[test]
fn a_dominant_group_is_expanded_until_the_ranges_are_even() {
    // The jobsender benchmark's keys: all but one start "k0".
    let keys: BTreeSet<String> = (1..=100_000u32).map(|i| format!("k{i:06}")).collect();
    let w = walk(&keys, "", 8, DEFAULT_MAX_PROBES);
    let ranges = split(&KeyRange::default(), &w.split_points());
    let counts: Vec<usize> = ranges.iter().map(|r| keys.iter().filter(|k| r.contains(k)).count()).collect();
    assert_eq!(counts.len(), 8);
    assert_eq!(counts.iter().sum::<usize>(), 100_000);
    assert!(counts.iter().all(|&n| n <= 20_000), "{counts:?}");
    assert!(w.probes() <= 20, "{} probes", w.probes());
}

#[test]
fn key_equal_to_the_prefix_is_stepped_over() {
    let keys = set(&["p/", "p/a", "p/b"]);
    let w = walk(&keys, "p/", 2, DEFAULT_MAX_PROBES);
    assert_eq!(w.split_points(), past(&["p/a"]));
}

#[test]
fn empty_or_single_key_listing_gives_one_range() {
    assert!(walk(&BTreeSet::new(), "x/", 8, DEFAULT_MAX_PROBES).split_points().is_empty());
    assert!(walk(&set(&["only"]), "", 8, DEFAULT_MAX_PROBES).split_points().is_empty());
    assert!(walk(&set(&["a", "b"]), "", 1, DEFAULT_MAX_PROBES).split_points().is_empty());
}

#[test]
fn probe_budget_is_kept() {
    let keys: BTreeSet<String> = (0..90u8).map(|c| format!("{}", (b' ' + c) as char)).collect();
    let w = walk(&keys, "", 2, 10);
    assert_eq!(w.probes(), 10);
    assert_eq!(w.split_points().len(), 1);
}

#[test]
fn unicode_next_characters_are_whole_characters() {
    let keys = set(&["ä1", "ä2", "é", "日本", "z"]);
    let w = walk(&keys, "", 4, DEFAULT_MAX_PROBES);
    // Byte order: z < ä < é < 日.
    assert_eq!(w.split_points(), past(&["z", "ä", "é"]));
}

#[test]
fn split_drops_points_outside_and_duplicates() {
    let whole = KeyRange { after: Some("b".into()), until: Some("m".into()) };
    let r = split(&whole, &["a".into(), "d".into(), "d".into(), "m".into(), "z".into()]);
    assert_eq!(
        r,
        vec![
            KeyRange { after: Some("b".into()), until: Some("d".into()) },
            KeyRange { after: Some("d".into()), until: Some("m".into()) },
        ]
    );
}

#[test]
fn range_membership() {
    let r = KeyRange { after: Some("b".into()), until: Some("d".into()) };
    assert!(!r.contains("b") && r.contains("b0") && r.contains("d") && !r.contains("d0"));
    assert!(r.is_past("d0") && !r.is_past("c"));
    assert!(KeyRange::default().contains(""));
    assert_eq!(r.continuing_after("c"), KeyRange { after: Some("c".into()), until: Some("d".into()) });
}

#[test]
fn checkpoint_round_trips_and_reads_the_old_bare_key() {
    let c = Checkpoint {
        ranges: vec![KeyRange { after: Some("{odd key".into()), until: Some("x".into()) }, KeyRange::from(None)],
    };
    assert_eq!(Checkpoint::decode(&c.encode()), c);
    assert_eq!(
        Checkpoint::decode("dir/last key"),
        Checkpoint { ranges: vec![KeyRange::from(Some("dir/last key".into()))] }
    );
    assert_eq!(Checkpoint::decode("{not json").ranges[0].after.as_deref(), Some("{not json"));
}

fn key_strategy() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[a-c/é日]{0,5}").expect("valid regex")
}

proptest! {
    /// Whatever the points, every key falls in exactly one range.
    #[test]
    fn ranges_tile_the_key_space(
        keys in proptest::collection::vec(key_strategy(), 0..60),
        points in proptest::collection::vec(key_strategy(), 0..8),
        after in proptest::option::of(key_strategy()),
        until in proptest::option::of(key_strategy()),
    ) {
        let whole = KeyRange { after, until };
        let ranges = split(&whole, &points);
        for k in &keys {
            let n = ranges.iter().filter(|r| r.contains(k)).count();
            prop_assert_eq!(n, usize::from(whole.contains(k)), "key {:?} in {:?}", k, ranges);
        }
    }

    /// The walk finds at most the wanted number of ranges, and every range it makes holds a key.
    #[test]
    fn walked_splits_make_non_empty_ranges(
        keys in proptest::collection::btree_set(key_strategy(), 0..80),
        want in 1usize..10,
    ) {
        let w = walk(&keys, "", want, DEFAULT_MAX_PROBES);
        let ranges = split(&KeyRange::default(), &w.split_points());
        prop_assert!(ranges.len() <= want.max(1));
        // An empty listing is one (empty) range.
        if keys.is_empty() {
            prop_assert_eq!(ranges.len(), 1);
            return Ok(());
        }
        for r in &ranges {
            prop_assert!(keys.iter().any(|k| r.contains(k)), "empty range {:?}", r);
        }
    }
}
