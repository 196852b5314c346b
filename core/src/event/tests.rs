use super::*;

fn dest() -> EventDestination {
    EventDestination { des_bucket: Some("des".into()), des_prefix: "backup".into() }
}

fn record(event: &str, key: &str, size: Option<u64>, version: Option<&str>) -> serde_json::Value {
    let mut object = serde_json::json!({ "key": key, "eTag": "abc", "sequencer": "0A" });
    if let Some(s) = size {
        object["size"] = s.into();
    }
    if let Some(v) = version {
        object["versionId"] = v.into();
    }
    serde_json::json!({
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-22T00:00:00.000Z", "eventName": event,
        "s3": { "s3SchemaVersion": "1.0", "bucket": { "name": "src", "arn": "arn:aws:s3:::src" }, "object": object }
    })
}

fn body(records: Vec<serde_json::Value>) -> String {
    serde_json::json!({ "Records": records }).to_string()
}

#[test]
fn key_decoding_plus_is_space() {
    assert_eq!(decode_event_key("a+b%2Bc%20d").as_deref(), Some("a b+c d"));
    assert_eq!(decode_event_key("%E4%B8%AD%E6%96%87/%23x").as_deref(), Some("中文/#x"));
    assert_eq!(decode_event_key("dir/").as_deref(), Some("dir/"));
    assert_eq!(decode_event_key("%FF"), None);
}

#[test]
fn every_record_becomes_a_job() {
    let b = body(vec![
        record("ObjectCreated:Put", "a+b%2Bc%20d", Some(10), Some("v1")),
        record("ObjectCreated:CompleteMultipartUpload", "x/y", Some(20), None),
    ]);
    let items = parse_message(&b, &dest()).unwrap();
    assert_eq!(items.len(), 2);
    let Incoming::Copy(first) = &items[0] else { panic!("{items:?}") };
    assert_eq!(first.src_bucket, "src");
    assert_eq!(first.src_key, "a b+c d");
    assert_eq!(first.des_bucket, "des");
    assert_eq!(first.des_key, "backup/a b+c d");
    assert_eq!(first.size, 10);
    assert_eq!(first.version_id.as_deref(), Some("v1"));
    assert_eq!(first.etag.as_deref(), Some("\"abc\""), "the event's bare eTag, quoted as S3 answers it");
    let Incoming::Copy(second) = &items[1] else { panic!("{items:?}") };
    assert_eq!((second.src_key.as_str(), second.size, second.version_id.clone()), ("x/y", 20, None));
}

#[test]
fn removed_records_carry_no_size() {
    let b = body(vec![record("ObjectRemoved:Delete", "gone%21", None, Some("v9"))]);
    let items = parse_message(&b, &dest()).unwrap();
    assert_eq!(
        items,
        vec![Incoming::Removed {
            src_bucket: "src".into(),
            src_key: "gone!".into(),
            des_bucket: "des".into(),
            des_key: "backup/gone!".into(),
            version_id: Some("v9".into()),
            event_time: Some(1_795_305_600),
        }]
    );
    let marker = body(vec![record("ObjectRemoved:DeleteMarkerCreated", "k", None, None)]);
    assert!(matches!(parse_message(&marker, &dest()).unwrap()[0], Incoming::Removed { .. }));
}

#[test]
fn test_event_is_recognised() {
    let b = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-22T00:00:00.000Z","Bucket":"src","RequestId":"r","HostId":"h"}"#;
    assert_eq!(parse_message(b, &dest()).unwrap(), vec![Incoming::TestEvent { bucket: Some("src".into()) }]);
}

#[test]
fn other_events_are_ignored_not_failed() {
    let b = body(vec![record("ObjectRestore:Completed", "k", Some(1), None)]);
    assert!(matches!(parse_message(&b, &dest()).unwrap()[0], Incoming::Ignored { .. }));
}

#[test]
fn created_without_size_is_an_error() {
    let b = body(vec![record("ObjectCreated:Put", "k", None, None)]);
    assert!(parse_message(&b, &dest()).unwrap_err().to_string().contains("s3.object.size"));
}

#[test]
fn events_need_a_default_destination() {
    let b = body(vec![record("ObjectCreated:Put", "k", Some(1), None)]);
    let err = parse_message(&b, &EventDestination::default()).unwrap_err().to_string();
    assert!(err.contains("Des_bucket_default"), "{err}");
}

#[test]
fn empty_prefix_keeps_event_key() {
    let d = EventDestination { des_bucket: Some("des".into()), des_prefix: String::new() };
    let b = body(vec![record("ObjectCreated:Put", "dir%2F", Some(0), None)]);
    let Incoming::Copy(job) = &parse_message(&b, &d).unwrap()[0] else { panic!() };
    assert_eq!(job.des_key, "dir/");
}

#[test]
fn job_messages_pass_through() {
    let b = r#"{"Src_bucket":"s","Src_key":"k","Des_bucket":"d","Des_key":"k","Size":5,"versionId":"null"}"#;
    let items = parse_message(b, &EventDestination::default()).unwrap();
    assert!(matches!(&items[0], Incoming::Copy(j) if j.size == 5 && j.version_id.is_none()));
}

#[test]
fn sns_wrapped_messages_are_unwrapped() {
    let inner = body(vec![record("ObjectCreated:Put", "k", Some(3), None)]);
    let b = serde_json::json!({ "Type": "Notification", "Message": inner }).to_string();
    assert!(matches!(&parse_message(&b, &dest()).unwrap()[0], Incoming::Copy(j) if j.size == 3));
}

#[test]
fn malformed_bodies_are_errors() {
    assert!(matches!(parse_message("not json", &dest()), Err(MessageError::NotJson(_))));
    assert!(matches!(parse_message(r#"{"Src_bucket":"s"}"#, &dest()), Err(MessageError::Job(_))));
    let bad_record = r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#;
    assert!(matches!(parse_message(bad_record, &dest()), Err(MessageError::Record { index: 0, .. })));
}

#[test]
fn event_times_are_read_as_seconds_since_the_epoch() {
    assert_eq!(rfc3339_secs("1970-01-01T00:00:00.000Z"), Some(0));
    assert_eq!(rfc3339_secs("2026-11-22T00:00:00.000Z"), Some(1_795_305_600));
    assert_eq!(rfc3339_secs("2000-02-29T12:34:56Z"), Some(951_827_696));
    for bad in ["", "2026-11-22", "2026-13-01T00:00:00Z", "2026-11-22T00:00:00+01:00", "yesterday"] {
        assert_eq!(rfc3339_secs(bad), None, "{bad}");
    }
}

#[test]
fn a_pack_is_one_item_and_a_bad_pack_is_named() {
    let body = r#"{"Src_bucket":"s","Des_bucket":"d","Objects":[{"Src_key":"a","Des_key":"a","Size":1},{"Src_key":"b","Des_key":"x/b","Size":2}]}"#;
    let items = parse_message(body, &dest()).unwrap();
    let [Incoming::Pack(pack)] = items.as_slice() else { panic!("{items:?}") };
    assert_eq!(pack.jobs.len(), 2);
    assert_eq!((pack.jobs[1].src_bucket.as_str(), pack.jobs[1].des_key.as_str()), ("s", "x/b"));
    let bad = r#"{"Src_bucket":"s","Des_bucket":"d","Objects":[{"Src_key":"a","Des_key":"a"}]}"#;
    let err = parse_message(bad, &dest()).unwrap_err().to_string();
    assert!(err.contains("pack object 0") && err.contains("Size"), "{err}");
}
