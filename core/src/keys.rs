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
