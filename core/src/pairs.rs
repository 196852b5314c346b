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
}
