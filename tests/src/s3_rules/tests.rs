//! The rules without a network: what each answers and rewrites.

use super::*;

fn req(line: &str, headers: &[(&str, &str)]) -> Request {
    let mut head = format!("{line} HTTP/1.1\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    Request::parse(head.as_bytes())
}

#[test]
fn kms_etags_are_hex_but_not_the_md5_and_map_back() {
    let md5 = "\"5d41402abc4b2a76b9719d911017c592\"";
    let kms = kms_etag(md5);
    assert_ne!(kms, md5);
    assert_eq!(kms.len(), md5.len());
    assert_eq!(kms_etag(&kms), md5);
    assert_eq!(
        kms_etag("&quot;5d41402abc4b2a76b9719d911017c592-12&quot;"),
        "&quot;a2bebfd543b4d589468e626eefe83a6d-12&quot;"
    );
    assert_eq!(kms_etag("not-an-etag"), "not-an-etag");
}

#[test]
fn a_request_signed_for_another_region_is_redirected() {
    let mut rules = S3Rules::default();
    rules.bucket_region("b", "eu-west-1");
    let counts = RuleCounts::default();
    let wrong = req(
        "HEAD /b",
        &[("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261201/us-east-1/s3/aws4_request, SignedHeaders=host")],
    );
    let answer = rules.answer(&wrong, &counts).expect("redirected");
    assert!(answer.status.starts_with("301"));
    assert_eq!(answer.headers, vec![("x-amz-bucket-region", "eu-west-1".to_owned())]);
    let right = req(
        "HEAD /b",
        &[("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261201/eu-west-1/s3/aws4_request, SignedHeaders=host")],
    );
    assert_eq!(rules.answer(&right, &counts), None);
}

#[test]
fn requester_pays_needs_the_header_on_the_request_or_the_copy_source() {
    let mut rules = S3Rules::default();
    rules.requester_pays("rp");
    let counts = RuleCounts::default();
    assert!(rules.answer(&req("GET /rp/k", &[]), &counts).is_some());
    assert_eq!(rules.answer(&req("GET /rp/k", &[("x-amz-request-payer", "requester")]), &counts), None);
    assert!(rules.answer(&req("PUT /des/k", &[("x-amz-copy-source", "rp/k")]), &counts).is_some());
    assert_eq!(rules.answer(&req("PUT /des/k", &[]), &counts), None);
    assert_eq!(counts.payer_denied.load(Ordering::Relaxed), 2);
}

#[test]
fn archived_objects_refuse_reads_until_restored() {
    let mut rules = S3Rules::default();
    rules.archive("b", "cold key", Archived::Frozen);
    rules.archive("b", "warm", Archived::Restored);
    let counts = RuleCounts::default();
    let denied = rules.answer(&req("GET /b/cold%20key", &[]), &counts).expect("denied");
    assert_eq!(denied.code, Some("InvalidObjectState"));
    assert!(rules.answer(&req("PUT /d/x", &[("x-amz-copy-source", "b/cold%20key")]), &counts).is_some());
    assert_eq!(rules.answer(&req("GET /b/warm", &[]), &counts), None);
    assert_eq!(rules.answer(&req("POST /b/cold%20key?restore", &[]), &counts).map(|a| a.status), Some("202 Accepted"));
}

#[test]
fn listings_show_the_storage_class_and_restore_status_when_asked() {
    let mut rules = S3Rules::default();
    rules.archive("b", "a&b", Archived::Frozen);
    rules.archive("b", "w", Archived::Restored);
    let xml = "<ListBucketResult><Contents><Key>a&amp;b</Key><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>w</Key><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>z</Key><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>";
    let r = req("GET /b?list-type=2", &[("x-amz-optional-object-attributes", "RestoreStatus")]);
    let mut body = xml.as_bytes().to_vec();
    rules.rewrite_answer(&r, &mut vec![("content-type".into(), "application/xml".into())], &mut body);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(text.matches("GLACIER").count(), 2, "{text}");
    assert_eq!(text.matches("<RestoreExpiryDate>").count(), 1, "{text}");
    assert!(text.contains("<Key>z</Key><StorageClass>STANDARD</StorageClass>"), "{text}");
}

#[test]
fn a_revoked_key_is_refused_whatever_the_request() {
    let mut rules = S3Rules::default();
    rules.revoke_key("OLDKEY");
    let counts = RuleCounts::default();
    let signed = |key: &str| {
        let auth = format!("AWS4-HMAC-SHA256 Credential={key}/20261201/us-east-1/s3/aws4_request, SignedHeaders=host");
        req("PUT /b/k", &[("Authorization", auth.as_str())])
    };
    let answer = rules.answer(&signed("OLDKEY"), &counts).expect("refused");
    assert!(answer.status.starts_with("403"));
    assert_eq!(answer.code, Some("InvalidAccessKeyId"));
    assert!(rules.answer(&signed("NEWKEY"), &counts).is_none(), "other keys pass");
    assert!(rules.answer(&req("PUT /b/k", &[]), &counts).is_none(), "unsigned requests pass");
    assert_eq!(counts.keys_refused.load(Ordering::Relaxed), 1);
}

#[test]
fn a_gateway_refuses_what_it_lacks_and_answers_under_its_base_path() {
    let gw = Gateway {
        base_path: Some("/api/v1/s3".into()),
        no_multipart: true,
        no_versioning: true,
        no_trailers: true,
        no_list_v2: true,
        no_extras: true,
        timestamp_etags: true,
    };
    let head = b"GET /api/v1/s3/b/k%20x?versionId=3 HTTP/1.1\r\nHost: h\r\n\r\n";
    let stripped = gw.strip_base_path(head).expect("under the base path");
    assert!(stripped.starts_with(b"GET /b/k%20x?versionId=3 HTTP/1.1\r\nHost: h\r\n"));
    assert_eq!(gw.strip_base_path(b"GET /b/k HTTP/1.1\r\n\r\n"), None, "outside the base path");
    assert!(gw
        .strip_base_path(b"GET /api/v1/s3?x-id=ListBuckets HTTP/1.1\r\n\r\n")
        .is_some_and(|h| h.starts_with(b"GET /?x-id")));
    let code = |line: &str, headers: &[(&str, &str)]| gw.answer(&req(line, headers)).and_then(|a| a.code);
    assert_eq!(code("POST /b/k?uploads", &[]), Some("NotImplemented"));
    assert_eq!(code("PUT /b/k?partNumber=1&uploadId=u", &[]), Some("NotImplemented"));
    assert_eq!(code("GET /b?versions", &[]), Some("NotImplemented"));
    assert_eq!(code("GET /b/k?versionId=3", &[]), Some("NotImplemented"));
    assert_eq!(code("PUT /b/k", &[("x-amz-copy-source", "/a/k?versionId=3")]), Some("NotImplemented"));
    assert_eq!(code("PUT /b/k", &[("content-encoding", "aws-chunked")]), Some("InvalidArgument"));
    assert_eq!(code("PUT /b/k", &[("x-amz-trailer", "x-amz-checksum-crc32")]), Some("InvalidArgument"));
    assert_eq!(code("GET /b?list-type=2&prefix=", &[]), Some("NotImplemented"));
    assert_eq!(code("GET /b?prefix=", &[]), None, "ListObjects V1 is served");
    assert_eq!(code("PUT /b/k", &[("content-md5", "x")]), None);
    assert_eq!(code("HEAD /b", &[]), Some("NotImplemented"));
    assert_eq!(code("GET /b/k?tagging", &[]), Some("NotImplemented"));
    assert_eq!(code("HEAD /b/k", &[]), None, "HeadObject is served");
    assert_eq!(timestamp_etag("\"0123456789abcdef0123456789abcdef-3\""), "\"1700019088743\"");
    assert_eq!(timestamp_etag("&quot;0123456789abcdef0123456789abcdef-3&quot;"), "&quot;1700019088743&quot;");
    assert_eq!(timestamp_etag("\"0123456789abcdef0123456789abcdef\""), "\"0123456789abcdef0123456789abcdef\"");
}
