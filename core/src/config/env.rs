//! Reading and validating environment variables.

use std::collections::HashMap;
use std::fmt::Display;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A setting that is missing or wrong. The message names the variable and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {var} is required: {hint}")]
    Missing { var: &'static str, hint: &'static str },
    #[error("environment variable {var}={value:?} is not valid: expected {expected}")]
    Invalid { var: &'static str, value: String, expected: String },
}

/// A snapshot of the environment variables, read once.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment (variables that are not valid UTF-8 are left out).
    pub fn from_process() -> Self {
        Self { vars: std::env::vars().collect() }
    }

    /// A given set of variables, for tests and embedding.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { vars: pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect() }
    }

    /// The raw value, `None` when unset. White space around it is trimmed.
    pub fn get(&self, var: &str) -> Option<&str> {
        self.vars.get(var).map(|v| v.trim())
    }

    /// A string with a default; set-but-empty counts as the default.
    pub fn string(&self, var: &'static str, default: &str) -> Result<String, ConfigError> {
        Ok(self.optional(var).unwrap_or(default).to_owned())
    }

    /// A string that may be absent (unset or empty).
    pub fn optional(&self, var: &str) -> Option<&str> {
        self.get(var).filter(|v| !v.is_empty())
    }

    /// A boolean: `true`/`false` in any case, also `1`/`0`, `yes`/`no`.
    pub fn flag(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        let Some(v) = self.optional(var) else { return Ok(default) };
        match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            _ => Err(ConfigError::Invalid { var, value: v.to_owned(), expected: "true or false".into() }),
        }
    }

    /// A number within `range`.
    pub fn number<T>(&self, var: &'static str, default: T, range: RangeInclusive<T>) -> Result<T, ConfigError>
    where
        T: FromStr + PartialOrd + Display + Copy,
    {
        let Some(v) = self.optional(var) else { return Ok(default) };
        let expected = || format!("a whole number from {} to {}", range.start(), range.end());
        let n: T = v.parse().map_err(|_| ConfigError::Invalid { var, value: v.to_owned(), expected: expected() })?;
        if !range.contains(&n) {
            return Err(ConfigError::Invalid { var, value: v.to_owned(), expected: expected() });
        }
        Ok(n)
    }

    /// One of a fixed set of words (compared without case).
    pub fn choice<T: Clone>(&self, var: &'static str, default: T, choices: &[(&str, T)]) -> Result<T, ConfigError> {
        let Some(v) = self.optional(var) else { return Ok(default) };
        choices.iter().find(|(name, _)| name.eq_ignore_ascii_case(v)).map(|(_, t)| t.clone()).ok_or_else(|| {
            ConfigError::Invalid {
                var,
                value: v.to_owned(),
                expected: format!(
                    "one of {}",
                    choices.iter().filter(|(n, _)| !n.is_empty()).map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                ),
            }
        })
    }
}
