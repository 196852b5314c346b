use super::*;

fn job(src: &str, key: &str, size: u64) -> Job {
    Job {
        src_bucket: src.into(),
        src_key: key.into(),
        des_bucket: "des".into(),
        des_key: format!("p/{key}"),
        size,
        version_id: Some(format!("v-{key}")),
        etag: Some("\"0cc175b9c0f1b6a831c399e269772661\"".into()),
        ..Job::default()
    }
}

const PACKING: Packing = Packing { max_objects: 3, max_size: 100, max_body_bytes: PACK_MAX_BODY_BYTES };

fn shape(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| match m {
            Message::Single(j) => format!("single {}", j.src_key),
            Message::Pack(p) => {
                format!("pack {}", p.jobs.iter().map(|j| j.src_key.as_str()).collect::<Vec<_>>().join(","))
            }
        })
        .collect()
}

#[test]
fn small_objects_are_packed_in_order_and_large_ones_sent_alone() {
    let jobs = vec![
        job("s", "a", 1),
        job("s", "b", 100),
        job("s", "big", 101),
        job("s", "c", 0),
        job("s", "d", 5),
        job("s", "e", 5),
    ];
    let messages = pack_jobs(jobs, PACKING);
    assert_eq!(shape(&messages), ["single big", "pack a,b,c", "pack d,e"]);
}

#[test]
fn a_pack_of_one_is_the_original_single_job() {
    let messages = pack_jobs(vec![job("s", "only", 1)], PACKING);
    assert_eq!(messages, vec![Message::Single(job("s", "only", 1))]);
    let one_each = pack_jobs(vec![job("s", "a", 1), job("s", "b", 1)], Packing { max_objects: 1, ..PACKING });
    assert_eq!(shape(&one_each), ["single a", "single b"], "JobsenderPackObjects=1: one message per object");
}

#[test]
fn a_pack_never_mixes_pairs() {
    let messages = pack_jobs(vec![job("s", "a", 1), job("s", "b", 1), job("t", "c", 1), job("t", "d", 1)], PACKING);
    assert_eq!(shape(&messages), ["pack a,b", "pack c,d"]);
}

#[test]
fn bodies_stay_under_the_byte_cap_even_with_longest_keys() {
    let long = |i: usize| job("s", &format!("{i:04}{}", "é".repeat(510)), 1);
    let packing = Packing { max_objects: MAX_PACK_OBJECTS, max_size: 100, max_body_bytes: PACK_MAX_BODY_BYTES };
    let messages = pack_jobs((0..300).map(long).collect(), packing);
    assert!(messages.len() > 1, "300 objects with 1 KiB keys do not fit one body");
    let mut total = 0;
    for m in &messages {
        let body = m.to_json();
        assert!(body.len() <= PACK_MAX_BODY_BYTES, "{} bytes", body.len());
        assert!(body.len() > PACK_MAX_BODY_BYTES - 4 * 1024 || m == messages.last().unwrap(), "packs are filled");
        total += m.jobs().len();
    }
    assert_eq!(total, 300);
}

#[test]
fn a_pack_round_trips_with_awkward_keys_and_every_field() {
    let mut jobs = vec![job("s", "a b+c%20/中文/\"q\"\\", 1), job("s", "dir/", 0)];
    jobs[1].version_id = None;
    jobs[1].etag = None;
    jobs[0].attempt = 2;
    jobs[0].failures = 3;
    jobs[0].checksum_algorithm = Some("CRC32".into());
    let pack = Pack { jobs };
    let body = pack.to_json();
    let value: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(Pack::is_pack(&value));
    assert_eq!(value["Objects"][0].get("Src_bucket"), None, "buckets are written once per pack");
    assert_eq!(Pack::from_value(value).unwrap(), pack);
}

#[test]
fn a_bad_object_is_named_by_its_index() {
    let body = r#"{"Src_bucket":"s","Des_bucket":"d","Objects":[{"Src_key":"a","Des_key":"a","Size":1},{"Src_key":"b","Des_key":"b"}]}"#;
    let err = Pack::from_value(serde_json::from_str(body).unwrap()).unwrap_err().to_string();
    assert!(err.contains("object 1") && err.contains("Size"), "{err}");
    let empty = r#"{"Src_bucket":"s","Des_bucket":"d","Objects":[]}"#;
    assert!(matches!(Pack::from_value(serde_json::from_str(empty).unwrap()), Err(PackError::Empty)));
    let no_bucket = r#"{"Des_bucket":"d","Objects":[{"Src_key":"a","Des_key":"a","Size":1}]}"#;
    let err = Pack::from_value(serde_json::from_str(no_bucket).unwrap()).unwrap_err().to_string();
    assert!(err.contains("Src_bucket"), "{err}");
}

#[test]
fn unfinished_objects_are_regrouped_by_delay() {
    let (a, b, c, d) = (job("s", "a", 1), job("s", "b", 1), job("s", "c", 1), job("s", "d", 1));
    let packs = regroup(vec![(a.clone(), 0), (b.clone(), 30), (c.clone(), 0), (d.clone(), 60)]);
    assert_eq!(packs, vec![(Pack { jobs: vec![a, c] }, 0), (Pack { jobs: vec![b] }, 30), (Pack { jobs: vec![d] }, 60)]);
    assert!(regroup(Vec::new()).is_empty());
}

#[test]
fn failures_back_off_then_park() {
    let delays: Vec<AfterFailure> = (1..=7).map(|f| after_failure(f, 7)).collect();
    assert_eq!(
        delays,
        [30, 60, 120, 240, 480, 900]
            .map(|delay_secs| AfterFailure::Retry { delay_secs })
            .into_iter()
            .chain([AfterFailure::Park])
            .collect::<Vec<_>>()
    );
    assert_eq!(after_failure(1, 1), AfterFailure::Park, "MaxReceiveCount 1: no second try");
    assert_eq!(after_failure(40, 100), AfterFailure::Retry { delay_secs: 900 });
}
