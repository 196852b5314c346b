use super::*;
use proptest::prelude::*;

/// Runs the merge-join feeding pages of `page` entries, as the jobsender does.
fn run(src: &[Entry], des: &[Entry], page: usize) -> (Vec<Compared>, usize) {
    let mut mj = MergeJoin::new();
    let (mut si, mut di) = (src.chunks(page), des.chunks(page));
    let mut out = Vec::new();
    let mut peak = 0;
    loop {
        mj.drain(|c| out.push(c));
        match mj.need() {
            Need::Finished => return (out, peak),
            Need::Source => match si.next() {
                Some(p) => mj.push_source(p.to_vec(), si.len() == 0),
                None => mj.push_source([], true),
            },
            Need::Destination => match di.next() {
                Some(p) => mj.push_destination(p.to_vec(), di.len() == 0),
                None => mj.push_destination([], true),
            },
        }
        peak = peak.max(mj.buffered());
    }
}

fn e(key: &str, size: u64) -> Entry {
    Entry::new(key, size)
}

#[test]
fn classifies_missing_size_and_equal() {
    let src = [e("a", 1), e("b", 2), e("c", 3), e("e", 5)];
    let des = [e("a", 1), e("b", 20), e("d", 4), e("e", 5), e("z", 9)];
    let (out, _) = run(&src, &des, 2);
    assert_eq!(
        out,
        vec![
            Compared::Equal(e("a", 1)),
            Compared::SizeDiffers { src: e("b", 2), des_size: 20 },
            Compared::Missing(e("c", 3)),
            Compared::Equal(e("e", 5)),
        ]
    );
}

#[test]
fn empty_sides() {
    assert_eq!(run(&[], &[e("a", 1)], 10).0, vec![]);
    assert_eq!(run(&[e("a", 1)], &[], 10).0, vec![Compared::Missing(e("a", 1))]);
    assert_eq!(run(&[], &[], 10).0, vec![]);
}

#[test]
fn byte_order_like_s3() {
    // S3 lists in UTF-8 byte order: upper case before lower case, '/' (0x2f) before '0'.
    let src = [e("A", 1), e("a/", 0), e("a0", 1), e("é", 1)];
    let des = [e("A", 1), e("a/", 0), e("a0", 1), e("é", 1)];
    assert!(run(&src, &des, 1).0.iter().all(|c| matches!(c, Compared::Equal(_))));
}

#[test]
fn memory_is_bounded_by_pages() {
    let src: Vec<Entry> = (0..10_000).map(|i| e(&format!("k{i:06}"), 1)).collect();
    let des: Vec<Entry> = (0..10_000).filter(|i| i % 3 != 0).map(|i| e(&format!("k{i:06}"), 1)).collect();
    let (out, peak) = run(&src, &des, 1000);
    assert_eq!(out.len(), 10_000);
    assert!(peak <= 2 * 1000, "held {peak} entries");
}

#[test]
fn destination_mapping() {
    let m = DestinationMapping::new("backup");
    assert_eq!(m.to_destination("a/b"), "backup/a/b");
    assert_eq!(m.to_source("backup/a/b"), Some("a/b"));
    assert_eq!(m.to_source("other/a"), None);
    let root = DestinationMapping::new("");
    assert_eq!(root.to_destination("a"), "a");
    assert_eq!(root.to_source("a"), Some("a"));
    assert_eq!(DestinationMapping::new("p/").to_destination("x"), "p/x");
}

proptest! {
    /// The merge-join agrees with a map-based diff for any listings and page size.
    #[test]
    fn agrees_with_a_map(
        src in proptest::collection::btree_map("[a-c/é]{0,4}", 0u64..3, 0..60),
        des in proptest::collection::btree_map("[a-c/é]{0,4}", 0u64..3, 0..60),
        page in 1usize..7,
    ) {
        let s: Vec<Entry> = src.iter().map(|(k, v)| e(k, *v)).collect();
        let d: Vec<Entry> = des.iter().map(|(k, v)| e(k, *v)).collect();
        let (out, _) = run(&s, &d, page);
        let expected: Vec<Compared> = src.iter().map(|(k, v)| match des.get(k) {
            None => Compared::Missing(e(k, *v)),
            Some(dv) if dv == v => Compared::Equal(e(k, *v)),
            Some(dv) => Compared::SizeDiffers { src: e(k, *v), des_size: *dv },
        }).collect();
        prop_assert_eq!(out, expected);
    }
}

#[test]
fn the_same_listed_etag_is_identical_and_another_or_none_only_equal() {
    let tagged = |key: &str, etag: Option<&str>| Entry { etag: etag.map(str::to_owned), ..e(key, 1) };
    let src = [tagged("a", Some("\"x\"")), tagged("b", Some("\"x\"")), tagged("c", None), tagged("d", Some("\"y\""))];
    let des = [tagged("a", Some("\"x\"")), tagged("b", Some("\"z\"")), tagged("c", None), tagged("d", None)];
    let (out, _) = run(&src, &des, 2);
    assert_eq!(
        out,
        vec![
            Compared::Identical(src[0].clone()),
            Compared::Equal(src[1].clone()),
            Compared::Equal(src[2].clone()),
            Compared::Equal(src[3].clone()),
        ]
    );
}
