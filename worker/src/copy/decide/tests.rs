//! The decisions' tables.

use super::*;

/// What the row is, the facts, the limits, the plan.
type PlanRow<'a> = (&'a str, Facts<'a>, Limits, Plan);

#[test]
fn one_plan_per_outcome() {
    const MIB: u64 = 1024 * 1024;
    let small = SourceFacts { size: MIB, version_id: None, etag: Some("\"e\"") };
    let big = SourceFacts { size: 100 * MIB, ..small };
    let done = ObjectRecord {
        key: "b/k".into(),
        status: Some(Status::Done),
        size: Some(MIB),
        etag: Some("\"e\"".into()),
        ..Default::default()
    };
    let done_other_etag = ObjectRecord { etag: Some("\"old\"".into()), ..done.clone() };
    let stream = Limits {
        single_request: 5 * MIB,
        path: CopyPath::Stream,
        des_multipart: true,
        des_max_put: COPY_OBJECT_MAX_BYTES,
    };
    let server = Limits { single_request: COPY_OBJECT_MAX_BYTES, path: CopyPath::Server, ..stream };
    let server_again = Limits { single_request: 5 * MIB, ..server };
    let gateway = Limits { des_multipart: false, des_max_put: 50 * MIB, ..stream };
    let gateway_big = Limits { des_max_put: 200 * MIB, ..gateway };
    let copy = |dest_expected| Plan::OneRequest { dest_expected };
    let on = |source, record, destination_size| Facts { source: Some(source), record, destination_size };
    #[rustfmt::skip]
    let rows: &[PlanRow] = &[
        ("source gone", Facts::default(), stream, Plan::SourceGone),
        ("copied at this ETag, destination has it", on(small, Some(&done), Some(MIB)), stream, Plan::AlreadyCopied),
        ("copied at this ETag, destination lost it", on(small, Some(&done), None), stream, copy(true)),
        ("copied at this ETag, destination of another size", on(small, Some(&done), Some(7)), stream, copy(true)),
        ("copied at another ETag (a same-size rewrite)", on(small, Some(&done_other_etag), Some(MIB)), stream, copy(true)),
        ("never copied, small, stream", on(small, None, None), stream, copy(false)),
        ("large, stream: multipart", on(big, None, None), stream, Plan::Multipart),
        ("large, server: one CopyObject", on(big, None, None), server, copy(false)),
        ("large, server, handed on: multipart", on(big, None, None), server_again, Plan::Multipart),
        ("large, no multipart, one PUT takes it: piped", on(big, None, None), gateway_big, Plan::StreamedPut { dest_expected: false }),
        ("large, no multipart, too large for one PUT", on(big, None, None), gateway, Plan::TooLarge { limit: 50 * MIB }),
    ];
    for (what, facts, limits, want) in rows {
        assert_eq!(plan(facts, limits), *want, "{what}");
    }
}

/// The tables below say `true` for stream mode.
fn path(stream: bool) -> CopyPath {
    if stream {
        CopyPath::Stream
    } else {
        CopyPath::Server
    }
}
use s3_migrate_core::units::MIB;

#[test]
fn the_transfer_follows_the_destination_store() {
    use Transfer::*;
    let (t, g) = (5 * MIB, 5 * GIB);
    // (size, single_limit, stream, multipart, max_put) -> transfer
    for (size, limit, stream, multipart, max_put, want) in [
        (t, t, true, true, g, OneRequest),
        (t + 1, t, true, true, g, Multipart),
        (12 * MIB, t, true, false, g, StreamedPut),
        (g, t, true, false, g, StreamedPut),
        (g + 1, t, true, false, g, TooLarge { limit: g }),
        (12 * MIB, t, true, false, 8 * MIB, TooLarge { limit: 8 * MIB }),
        (3 * MIB, t, true, true, MIB, Multipart),
        (3 * MIB, t, true, false, MIB, TooLarge { limit: MIB }),
        (g, g, false, true, g, OneRequest),
        (g + 1, g, false, true, g, Multipart),
        (12 * MIB, t, false, false, g, OneRequest),
        (g + 1, g, false, false, g, TooLarge { limit: g }),
        (12 * MIB, g, false, false, 8 * MIB, TooLarge { limit: 8 * MIB }),
    ] {
        assert_eq!(
            transfer(size, limit, path(stream), multipart, max_put),
            want,
            "{size} {limit} {stream} {multipart} {max_put}"
        );
    }
}

#[test]
fn a_listed_copy_goes_without_head_only_when_the_job_suffices() {
    let f = copy_without_head;
    let (small, limit) = (MIB, 5 * MIB);
    // (size, stream, pinnable, copy_object_lock) -> without HEAD
    for (size, stream, pinnable, lock, want) in [
        (small, true, false, false, true),
        (small, true, false, true, true),
        (limit, true, true, false, true),
        (limit + 1, true, true, false, false),
        (small, false, true, false, true),
        (small, false, false, false, false),
        (small, false, true, true, false),
        (limit + 1, false, true, false, false),
    ] {
        assert_eq!(f(size, limit, path(stream), pinnable, lock), want, "{size} {stream} {pinnable} {lock}");
    }
}

#[test]
fn one_request_up_to_the_threshold_streaming_and_up_to_5_gib_server_side() {
    assert_eq!(single_request_limit(CopyPath::Stream, 5 * MIB, 0, true), 5 * MIB);
    assert_eq!(single_request_limit(CopyPath::Stream, 5 * MIB, 3, true), 5 * MIB);
    assert_eq!(single_request_limit(CopyPath::Server, 5 * MIB, 0, true), 5 * GIB);
    assert_eq!(single_request_limit(CopyPath::Server, 5 * GIB, 0, true), 5 * GIB);
    assert_eq!(single_request_limit(CopyPath::Server, 5 * MIB, 1, true), 5 * MIB, "handed on: in parts");
    assert_eq!(single_request_limit(CopyPath::Server, 5 * MIB, 1, false), 5 * GIB, "no multipart: CopyObject still");
    assert_eq!(single_request_limit(CopyPath::Server, 5 * GIB, 1, true), 5 * GIB);
    assert_eq!(single_request_limit(CopyPath::Stream, 0, 0, true), 0, "everything multipart");
}

/// job version, HEAD's version, `UpdateVersionId`, the job names a version, the pin.
type PinCase = (Option<&'static str>, Option<&'static str>, bool, bool, ReadPin);

#[test]
fn reads_are_pinned_to_the_jobs_version_or_the_one_head_saw_else_its_etag() {
    let v = |s: &str| ReadPin::Version(s.into());
    let etag = ReadPin::Etag("\"e\"".into());
    let table: &[PinCase] = &[
        (Some("v1"), Some("v2"), false, true, v("v1")),
        (Some("v1"), None, true, true, v("v1")),
        (None, Some("v2"), true, false, v("v2")),
        (None, Some("v2"), false, false, etag.clone()),
        (None, Some("v2"), true, true, etag.clone()),
        (None, None, true, false, etag.clone()),
    ];
    for (job, head, update, named, pin) in table {
        assert_eq!(
            &ReadPin::decide(*job, *head, Some("\"e\""), *update, *named),
            pin,
            "{job:?} {head:?} {update} {named}"
        );
    }
    assert_eq!(ReadPin::decide(None, None, None, true, false), ReadPin::Unpinned, "no ETag: nothing to match");
    assert_eq!((v("v1").version(), v("v1").if_match()), (Some("v1"), None));
    assert_eq!((etag.version(), etag.if_match()), (None, Some("\"e\"")));
}

#[test]
fn a_recorded_upload_fits_only_its_own_source_part_size_and_destination() {
    let r = ObjectRecord {
        key: "src/k".into(),
        size: Some(100),
        part_size: Some(10),
        etag: Some("\"e\"".into()),
        version_id: Some("v".into()),
        des_bucket: Some("des".into()),
        des_key: Some("p/k".into()),
        ..Default::default()
    };
    let t = UploadTarget { size: 100, part_size: 10, etag: Some("\"e\""), version_id: Some("v"), des: ("des", "p/k") };
    assert!(upload_fits(&r, &t));
    for other in [
        UploadTarget { size: 101, ..t },
        UploadTarget { part_size: 11, ..t },
        UploadTarget { etag: Some("\"f\""), ..t },
        UploadTarget { version_id: None, ..t },
        UploadTarget { des: ("other", "p/k"), ..t },
        UploadTarget { des: ("des", "q/k"), ..t },
    ] {
        assert!(!upload_fits(&r, &other), "{other:?}");
    }
}

#[test]
fn a_copy_is_expected_only_where_the_ledger_recorded_one() {
    let done = ObjectRecord { key: "k".into(), status: Some(Status::Done), ..Default::default() };
    assert!(destination_expected(Some(&done)));
    assert!(!destination_expected(Some(&ObjectRecord { status: Some(Status::Queued), ..done })));
    assert!(!destination_expected(None));
}
