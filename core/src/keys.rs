//! Destination key rule shared by the jobsender (bucket pairs) and the worker (S3 events).

/// Joins a destination prefix and a source key the way the original project did
/// (`PurePosixPath(prefix) / key`), but without any other rewriting: exactly one `/` stands
/// between a non-empty prefix and the key, and `//`, `.` segments and a trailing `/` inside
/// the key survive unchanged. An empty prefix leaves the key as it is.
pub fn dest_key(des_prefix: &str, src_key: &str) -> String {
    if des_prefix.is_empty() {
        return src_key.to_owned();
    }
    let prefix = des_prefix.trim_end_matches('/');
    let mut out = String::with_capacity(prefix.len() + 1 + src_key.len());
    out.push_str(prefix);
    out.push('/');
    out.push_str(src_key);
    out
}

#[cfg(test)]
mod tests {
    use super::dest_key;

    #[test]
    fn empty_prefix_keeps_key() {
        assert_eq!(dest_key("", "a/b.txt"), "a/b.txt");
        assert_eq!(dest_key("", "dir/"), "dir/");
    }

    #[test]
    fn one_slash_between_prefix_and_key() {
        assert_eq!(dest_key("backup", "a/b.txt"), "backup/a/b.txt");
        assert_eq!(dest_key("backup/", "a/b.txt"), "backup/a/b.txt");
        assert_eq!(dest_key("backup//", "a"), "backup/a");
    }

    #[test]
    fn key_is_not_rewritten() {
        assert_eq!(dest_key("p", "a//b/./c/"), "p/a//b/./c/");
        assert_eq!(dest_key("p", "/leading"), "p//leading");
        assert_eq!(dest_key("p", "ünï code+%20 x"), "p/ünï code+%20 x");
    }
}

/// A bucket and key named by an `s3://bucket/key` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    pub key: String,
}

/// A malformed `s3://` URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url:?} is not an s3://bucket/key URL")]
pub struct S3UrlError {
    pub url: String,
}

/// Parses `s3://bucket/key` (the key is taken as written, `/` and all; it may be empty).
pub fn parse_s3_url(url: &str) -> Result<S3Url, S3UrlError> {
    let err = || S3UrlError { url: url.to_owned() };
    let rest = url.strip_prefix("s3://").ok_or_else(err)?;
    let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(err());
    }
    Ok(S3Url { bucket: bucket.to_owned(), key: key.to_owned() })
}

#[cfg(test)]
mod url_tests {
    use super::*;

    #[test]
    fn parses_bucket_and_key() {
        assert_eq!(parse_s3_url("s3://b/a/b c.txt").unwrap(), S3Url { bucket: "b".into(), key: "a/b c.txt".into() });
        assert_eq!(parse_s3_url("s3://b").unwrap().key, "");
        assert_eq!(parse_s3_url("s3://b/dir/").unwrap().key, "dir/");
    }

    #[test]
    fn rejects_other_urls() {
        for bad in ["b/k", "s3:///k", "https://b/k", ""] {
            assert!(parse_s3_url(bad).is_err(), "{bad}");
        }
    }
}
