//! The other side's keys, read from the SecureString and read again when S3 refuses them.
//!
//! Keys are rotated by storing the new pair in the parameter and then deactivating or deleting
//! the old key (IAM User Guide, "Rotating access keys"). A warm Lambda keeps what it read at
//! its start, so after a rotation S3 answers `403 InvalidAccessKeyId` (the key is inactive or
//! gone) or `403 SignatureDoesNotMatch` (the secret is not the key's) (S3 API reference,
//! "Error responses"); HEAD answers carry no body, so there a bare 403 is all S3 says
//! ([`crate::retry::keys_maybe_refused`]). The failing copy then asks [`RotatingKeys::reread_after`]
//! to read the parameter once more: new keys are used at once by every client built on them
//! (each request asks this provider; clients built on it keep no identity cache), and the copy
//! is tried once again; the same keys mean the refusal is real.

use crate::clients::{read_credentials, ClientError, OtherSideCredentials};
use aws_credential_types::provider::{future, ProvideCredentials};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// Shortest time between two reads of the parameter: refusals that are real (a key without
/// the permission) cost at most one GetParameter a minute, whatever the number of jobs.
pub const MIN_REREAD_INTERVAL: Duration = Duration::from_secs(60);

/// What a refused request's copy should do about the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reread {
    /// New keys are in use: try again.
    Changed,
    /// The keys are the parameter's current ones: the refusal stands.
    Unchanged,
}

/// Whether to read the parameter again (pure; see [`RotatingKeys::reread_after`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RereadDecision {
    /// Another copy already read newer keys than the refused request used.
    AlreadyNewer,
    /// The parameter was read less than [`MIN_REREAD_INTERVAL`] ago.
    ReadRecently,
    /// Read it.
    Read,
}

/// `seen`: generation the refused copy started with; `current`: generation now in use;
/// `since_reread`: time since the parameter was last read again (`None`: never; the read at
/// start does not count, keys may be rotated right after it).
pub fn reread_decision(seen: u64, current: u64, since_reread: Option<Duration>) -> RereadDecision {
    if current != seen {
        RereadDecision::AlreadyNewer
    } else if since_reread.is_some_and(|d| d < MIN_REREAD_INTERVAL) {
        RereadDecision::ReadRecently
    } else {
        RereadDecision::Read
    }
}

struct State {
    keys: OtherSideCredentials,
    /// Bumped each time new keys replace the old.
    generation: u64,
    /// When the parameter was last read again after a refusal.
    reread_at: Option<Instant>,
}

struct Inner {
    ssm: aws_sdk_ssm::Client,
    parameter: String,
    state: RwLock<State>,
    /// One read of the parameter at a time; the others wait and see its result.
    reading: tokio::sync::Mutex<()>,
}

/// The other side's keys as the SDK's credentials provider. Cloning shares them.
#[derive(Clone)]
pub struct RotatingKeys {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RotatingKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state();
        f.debug_struct("RotatingKeys")
            .field("parameter", &self.inner.parameter)
            .field("access_key_id", &s.keys.access_key_id)
            .field("generation", &s.generation)
            .finish()
    }
}

impl RotatingKeys {
    /// Reads the parameter (see [`read_credentials`]).
    pub async fn read(ssm: &aws_sdk_ssm::Client, parameter: &str) -> Result<Self, ClientError> {
        let keys = read_credentials(ssm, parameter).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                ssm: ssm.clone(),
                parameter: parameter.to_owned(),
                state: RwLock::new(State { keys, generation: 0, reread_at: None }),
                reading: tokio::sync::Mutex::new(()),
            }),
        })
    }

    fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The parameter's name.
    pub fn parameter(&self) -> &str {
        &self.inner.parameter
    }

    /// The region the parameter names (read once: clients are built for it).
    pub fn region(&self) -> String {
        self.state().keys.region.clone()
    }

    /// The other side's store (read once, like the region).
    pub fn store(&self) -> crate::store::Store {
        self.state().keys.store.clone()
    }

    /// Which keys are in use; a copy notes it before it starts.
    pub fn generation(&self) -> u64 {
        self.state().generation
    }

    /// After a refusal of keys of generation `seen`: reads the parameter again (unless
    /// another copy did, or it was read within [`MIN_REREAD_INTERVAL`]) and says whether
    /// newer keys are now in use.
    pub async fn reread_after(&self, seen: u64) -> Result<Reread, ClientError> {
        let _one = self.inner.reading.lock().await;
        let decision = {
            let s = self.state();
            reread_decision(seen, s.generation, s.reread_at.map(|t| t.elapsed()))
        };
        match decision {
            RereadDecision::AlreadyNewer => return Ok(Reread::Changed),
            RereadDecision::ReadRecently => return Ok(Reread::Unchanged),
            RereadDecision::Read => {}
        }
        self.read_again().await
    }

    /// Reads the parameter again now, whatever was read before (the scheduled jobsender, at
    /// each invocation), and says whether newer keys are now in use.
    pub async fn reread(&self) -> Result<Reread, ClientError> {
        let _one = self.inner.reading.lock().await;
        self.read_again().await
    }

    /// Reads the parameter; the caller holds `reading`.
    async fn read_again(&self) -> Result<Reread, ClientError> {
        let fresh = read_credentials(&self.inner.ssm, &self.inner.parameter).await?;
        let mut s = self.inner.state.write().unwrap_or_else(|e| e.into_inner());
        s.reread_at = Some(Instant::now());
        // The region and store are fixed for the process: clients were built for the first.
        let fresh = fresh.keys_only(&s.keys);
        if fresh == s.keys {
            return Ok(Reread::Unchanged);
        }
        tracing::info!(
            parameter = %self.inner.parameter,
            old_key_id = %s.keys.access_key_id,
            new_key_id = %fresh.access_key_id,
            "the other side's keys changed in ssm; using the new ones"
        );
        s.keys = fresh;
        s.generation += 1;
        Ok(Reread::Changed)
    }
}

impl ProvideCredentials for RotatingKeys {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Ok(self.state().keys.credentials()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reread_only_when_no_one_did_and_not_just_now() {
        let long = MIN_REREAD_INTERVAL + Duration::from_secs(1);
        let short = MIN_REREAD_INTERVAL - Duration::from_secs(1);
        for (seen, current, since, want) in [
            (0, 0, None, RereadDecision::Read),
            (0, 0, Some(long), RereadDecision::Read),
            (3, 3, Some(long), RereadDecision::Read),
            (0, 0, Some(short), RereadDecision::ReadRecently),
            (0, 0, Some(Duration::ZERO), RereadDecision::ReadRecently),
            (0, 1, None, RereadDecision::AlreadyNewer),
            (0, 1, Some(short), RereadDecision::AlreadyNewer),
            (2, 5, Some(long), RereadDecision::AlreadyNewer),
        ] {
            assert_eq!(reread_decision(seen, current, since), want, "seen {seen} current {current} since {since:?}");
        }
    }
}
