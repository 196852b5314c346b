//! Bucket pairs: which source bucket and prefix go to which destination bucket and prefix.
//!
//! The original project's JSON shape, from the SSM parameter `ssm_parameter_bucket` or a
//! file: `[{"src_bucket": "a", "src_prefix": "", "des_bucket": "b", "des_prefix": ""}]`.

use serde::Deserialize;

/// One source/destination pair.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct BucketPair {
    pub src_bucket: String,
    #[serde(default)]
    pub src_prefix: String,
    pub des_bucket: String,
    #[serde(default)]
    pub des_prefix: String,
    /// Region of the source bucket (our extension); discovered with HeadBucket when absent.
    #[serde(default)]
    pub src_region: Option<String>,
    /// Region of the destination bucket (our extension); discovered when absent.
    #[serde(default)]
    pub des_region: Option<String>,
}

impl BucketPair {
    /// A stable name of the pair (logs, checkpoints, status).
    pub fn id(&self) -> String {
        format!("{}/{}->{}/{}", self.src_bucket, self.src_prefix, self.des_bucket, self.des_prefix)
    }
}

/// Bad bucket pairs text.
#[derive(Debug, thiserror::Error)]
pub enum PairsError {
    #[error("bucket pairs from {source_name} are not a JSON list of {{\"src_bucket\",\"src_prefix\",\"des_bucket\",\"des_prefix\"}}: {reason}")]
    Malformed { source_name: String, reason: String },
    #[error("bucket pair {index} from {source_name}: `{field}` is empty")]
    Empty { source_name: String, index: usize, field: &'static str },
    #[error("bucket pairs from {source_name}: the list is empty")]
    None { source_name: String },
    #[error(
        "bucket pairs from {source_name}: pairs {first} and {second} copy the same source objects to different \
         destinations; the ledger keeps one copy per source object, so give each source key one destination"
    )]
    Overlap { source_name: String, first: String, second: String },
}

impl BucketPair {
    /// Where this pair puts a source key: destination bucket and the root of its keys.
    pub fn destination_root(&self) -> (String, String) {
        (self.des_bucket.clone(), crate::keys::dest_key(&self.des_prefix, ""))
    }

    /// True when some source key falls in both pairs.
    pub fn overlaps(&self, other: &BucketPair) -> bool {
        self.src_bucket == other.src_bucket
            && (self.src_prefix.starts_with(&other.src_prefix) || other.src_prefix.starts_with(&self.src_prefix))
    }
}

/// Errs when two pairs send one source key to two destinations (the ledger is keyed by source
/// object: two copies of it would overwrite each other's records and abort each other's uploads).
pub fn check_one_destination(pairs: &[BucketPair], source_name: &str) -> Result<(), PairsError> {
    for (i, a) in pairs.iter().enumerate() {
        for b in &pairs[i + 1..] {
            if a.overlaps(b) && a.destination_root() != b.destination_root() {
                return Err(PairsError::Overlap { source_name: source_name.to_owned(), first: a.id(), second: b.id() });
            }
        }
    }
    Ok(())
}

/// Parses the JSON list; `source_name` (parameter or file) goes into every error.
pub fn parse_pairs(text: &str, source_name: &str) -> Result<Vec<BucketPair>, PairsError> {
    let pairs: Vec<BucketPair> = serde_json::from_str(text)
        .map_err(|e| PairsError::Malformed { source_name: source_name.to_owned(), reason: e.to_string() })?;
    if pairs.is_empty() {
        return Err(PairsError::None { source_name: source_name.to_owned() });
    }
    for (index, p) in pairs.iter().enumerate() {
        for (field, v) in [("src_bucket", &p.src_bucket), ("des_bucket", &p.des_bucket)] {
            if v.trim().is_empty() {
                return Err(PairsError::Empty { source_name: source_name.to_owned(), index, field });
            }
        }
    }
    check_one_destination(&pairs, source_name)?;
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_original_shape() {
        let p = parse_pairs(
            r#"[{"src_bucket":"a","src_prefix":"x/","des_bucket":"b","des_prefix":"y"},{"src_bucket":"c","des_bucket":"d"}]"#,
            "param",
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].src_prefix, "x/");
        assert_eq!(p[1].des_prefix, "");
        assert_eq!(p[0].id(), "a/x/->b/y");
    }

    #[test]
    fn errors_name_the_source_and_field() {
        let e = parse_pairs(r#"[{"src_bucket":"a"}]"#, "my-param").unwrap_err().to_string();
        assert!(e.contains("my-param") && e.contains("des_bucket"), "{e}");
        let e = parse_pairs(r#"[{"src_bucket":"","des_bucket":"b"}]"#, "f.json").unwrap_err().to_string();
        assert!(e.contains("f.json") && e.contains("src_bucket") && e.contains("pair 0"), "{e}");
        assert!(parse_pairs("[]", "p").unwrap_err().to_string().contains("empty"));
        assert!(parse_pairs("{", "p").unwrap_err().to_string().contains("not a JSON list"));
    }

    #[test]
    fn one_source_key_has_one_destination() {
        let ok = r#"[{"src_bucket":"a","src_prefix":"x/","des_bucket":"b"},{"src_bucket":"a","src_prefix":"y/","des_bucket":"c"},
                     {"src_bucket":"a","src_prefix":"x/deep/","des_bucket":"b"}]"#;
        assert!(parse_pairs(ok, "p").is_ok(), "disjoint prefixes, or the same destination");
        for bad in [
            r#"[{"src_bucket":"a","des_bucket":"b"},{"src_bucket":"a","src_prefix":"x/","des_bucket":"c"}]"#,
            r#"[{"src_bucket":"a","src_prefix":"x/","des_bucket":"b"},{"src_bucket":"a","src_prefix":"x/","des_bucket":"b","des_prefix":"copy"}]"#,
        ] {
            let e = parse_pairs(bad, "my-param").unwrap_err().to_string();
            assert!(e.contains("my-param") && e.contains("different destinations") && e.contains("a/"), "{e}");
        }
    }
}
