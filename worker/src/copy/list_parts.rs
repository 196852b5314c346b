//! ListParts: the parts of an upload already on the destination, from S3 or from a store whose
//! answer the SDK cannot read.
//!
//! Some S3-compatible stores answer ListParts with another root element than S3's
//! `ListPartsResult` (moto 5.2 sends `ListPartsResponse`), which the SDK refuses as a whole
//! although every field is there. Such an answer (HTTP 200, not deserialized) is read here
//! leniently, by element names only, so a resumable copy still resumes there.

use super::Copier;
use crate::error::CopyError;
use crate::s3::{is_no_such_upload, is_not_found, s3_err};
use aws_sdk_s3::error::SdkError;
use s3_migrate_core::Job;
use std::collections::BTreeMap;

/// Most parts ListParts returns per page (S3 limit).
const LIST_PARTS_PAGE: i32 = 1000;

/// A part already on the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct UploadedPart {
    pub size: u64,
    pub etag: String,
}

/// One page of ListParts.
#[derive(Debug, Default, PartialEq, Eq)]
struct Page {
    parts: Vec<(u32, UploadedPart)>,
    /// The marker of the next page, when there is one.
    next: Option<String>,
}

/// Parts already uploaded, `None` when the upload no longer exists.
pub(super) async fn list_parts(
    c: &Copier,
    job: &Job,
    upload_id: &str,
) -> Result<Option<BTreeMap<u32, UploadedPart>>, CopyError> {
    let mut parts = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let res = c
            .des
            .list_parts()
            .bucket(&job.des_bucket)
            .key(&job.des_key)
            .upload_id(upload_id)
            .max_parts(LIST_PARTS_PAGE)
            .set_part_number_marker(marker.take())
            .send()
            .await;
        let page = match res {
            Ok(out) => Page {
                parts: out
                    .parts()
                    .iter()
                    .filter_map(|p| match (p.part_number(), p.size(), p.e_tag()) {
                        (Some(n), Some(size), Some(etag)) => {
                            Some((n as u32, UploadedPart { size: size.max(0) as u64, etag: etag.to_owned() }))
                        }
                        _ => None,
                    })
                    .collect(),
                next: match (out.is_truncated(), out.next_part_number_marker()) {
                    (Some(true), Some(next)) => Some(next.to_owned()),
                    _ => None,
                },
            },
            Err(e) if is_no_such_upload(&e) || is_not_found(&e) => return Ok(None),
            Err(e) => match unread_answer(&e).and_then(lenient_page) {
                Some(page) => page,
                None => return Err(s3_err("ListParts", &job.des_bucket, &job.des_key, e)),
            },
        };
        parts.extend(page.parts);
        match page.next {
            Some(next) => marker = Some(next),
            None => return Ok(Some(parts)),
        }
    }
}

/// The body of a successful answer the SDK could not deserialize.
fn unread_answer<E>(e: &SdkError<E>) -> Option<&str> {
    match e {
        SdkError::ResponseError(_) | SdkError::ServiceError(_) => {}
        _ => return None,
    }
    let raw = e.raw_response().filter(|r| r.status().is_success())?;
    std::str::from_utf8(raw.body().bytes()?).ok()
}

/// The text of the first `<name>` element of `xml`.
fn element<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{name}>"))?;
    Some(&xml[start..start + len])
}

/// A ListParts answer read by element names, whatever its root element.
fn lenient_page(xml: &str) -> Option<Page> {
    if !xml.contains("<UploadId>") {
        return None;
    }
    let mut parts = Vec::new();
    for block in xml.split("<Part>").skip(1) {
        let block = block.split("</Part>").next()?;
        let number = element(block, "PartNumber")?.trim().parse().ok()?;
        let size = element(block, "Size")?.trim().parse().ok()?;
        let etag = element(block, "ETag")?.replace("&quot;", "\"").replace("&#34;", "\"");
        parts.push((number, UploadedPart { size, etag }));
    }
    let truncated = element(xml, "IsTruncated").is_some_and(|t| t.trim() == "true");
    let next = element(xml, "NextPartNumberMarker").map(|m| m.trim().to_owned()).filter(|_| truncated);
    Some(Page { parts, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_parts_answer_with_another_root_is_read() {
        // moto 5.2.5's answer, as it came.
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<ListPartsResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>b</Bucket><Key>k</Key><UploadId>u1</UploadId><PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>1000</MaxParts><IsTruncated>false</IsTruncated><Part><PartNumber>1</PartNumber><LastModified>2026-12-01T18:20:16.000Z</LastModified><ETag>"aed563ecafb4bcc5654c597a421547b2"</ETag><Size>100</Size></Part><Part><PartNumber>2</PartNumber><ETag>&quot;bed563ecafb4bcc5654c597a421547b2&quot;</ETag><Size>7</Size></Part><StorageClass>STANDARD</StorageClass></ListPartsResponse>"#;
        let page = lenient_page(xml).expect("read");
        assert_eq!(
            page,
            Page {
                parts: vec![
                    (1, UploadedPart { size: 100, etag: "\"aed563ecafb4bcc5654c597a421547b2\"".into() }),
                    (2, UploadedPart { size: 7, etag: "\"bed563ecafb4bcc5654c597a421547b2\"".into() }),
                ],
                next: None,
            }
        );
        let truncated = xml.replace("<IsTruncated>false", "<IsTruncated>true");
        assert_eq!(lenient_page(&truncated).and_then(|p| p.next).as_deref(), Some("2"));
        assert_eq!(lenient_page("<Error><Code>InternalError</Code></Error>"), None, "not a ListParts answer");
        let broken = xml.replace("<Size>7</Size>", "<Size>seven</Size>");
        assert_eq!(lenient_page(&broken), None, "a part that cannot be read fails the whole page");
    }
}
