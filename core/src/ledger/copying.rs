//! An object being copied: the worker claims it (its upload and a lease against duplicates),
//! keeps and releases the lease, records an upload about to complete or aborted, and records
//! a copy that ended without an object. Finished copies are in `done`.

use super::update::{Cond, Update};
use super::{attr, now_secs, nv, sv, Ledger, LedgerError, Status};

/// What a worker records when it starts (or resumes) copying an object.
#[derive(Debug, Clone)]
pub struct Begin<'a> {
    pub key: &'a str,
    pub des_bucket: &'a str,
    pub des_key: &'a str,
    pub size: u64,
    pub version_id: Option<&'a str>,
    pub etag: Option<&'a str>,
    /// The multipart upload and its part size; `None` for a single-request copy.
    pub upload: Option<(&'a str, u64)>,
    /// The upload the ledger held when we read it; the write succeeds only if it still does.
    pub expected_upload: Option<&'a str>,
    /// Token of this copy; it holds the object's lease for `lease_secs`.
    pub owner: &'a str,
    pub lease_secs: u64,
}

impl Ledger {
    /// Records that a copy starts or resumes. With `upload`, succeeds only while the ledger
    /// still holds `expected_upload` (none, or the one we read), so two workers never both
    /// own different uploads of one object: the loser gets [`LedgerError::ClaimLost`].
    pub async fn begin(&self, b: &Begin<'_>) -> Result<(), LedgerError> {
        let now = now_secs();
        let res = begin_update(b, now).apply(self.update(b.key)).send().await;
        if self.updated(res)? {
            return Ok(());
        }
        // Tell a running copy elsewhere (come back later) from a changed upload (look again).
        match self.get(b.key).await? {
            Some(r) if r.leased_by_other(b.owner, now) => {
                Err(LedgerError::Busy { key: b.key.to_owned(), until: r.lease_until.unwrap_or(now) })
            }
            _ => Err(LedgerError::ClaimLost { key: b.key.to_owned() }),
        }
    }

    /// Extends this copy's lease; `false` when it no longer holds it.
    pub async fn renew(&self, key: &str, owner: &str, lease_secs: u64) -> Result<bool, LedgerError> {
        let update =
            Update::new().set(attr::LEASE_UNTIL, nv(now_secs() + lease_secs)).when(Cond::Eq(attr::OWNER, sv(owner)));
        let res = update.apply(self.update(key)).send().await;
        self.updated(res)
    }

    /// Gives up this copy's lease, if it still holds it.
    pub async fn release(&self, key: &str, owner: &str) -> Result<(), LedgerError> {
        let update = Update::new().remove(attr::LEASE_UNTIL).remove(attr::OWNER).when(Cond::Eq(attr::OWNER, sv(owner)));
        let res = update.apply(self.update(key)).send().await;
        self.updated(res).map(|_| ())
    }

    /// Records that the upload `upload_id` is about to be completed, with the ETag S3 should
    /// give the object (`None` when its encryption makes it unprovable). A run killed inside
    /// CompleteMultipartUpload, or before its DONE write, leaves this behind: the next run
    /// then recognises the completed object instead of uploading it again.
    pub async fn completing(&self, key: &str, upload_id: &str, expected_etag: Option<&str>) -> Result<(), LedgerError> {
        let update = Update::new()
            .set(attr::COMPLETING_AT, nv(now_secs()))
            .set(attr::COMPLETING_ETAG, sv(expected_etag.unwrap_or("")))
            .when(Cond::Eq(attr::UPLOAD_ID, sv(upload_id)));
        let res = update.apply(self.update(key)).send().await;
        self.updated(res).map(|_| ())
    }

    /// Forgets a multipart upload (after it was aborted), if it is still the recorded one.
    pub async fn clear_upload(&self, key: &str, upload_id: &str) -> Result<(), LedgerError> {
        let update = Update::new()
            .remove(attr::UPLOAD_ID)
            .remove(attr::PART_SIZE)
            .remove(attr::COMPLETING_AT)
            .remove(attr::COMPLETING_ETAG)
            .when(Cond::Eq(attr::UPLOAD_ID, sv(upload_id)));
        let res = update.apply(self.update(key)).send().await;
        self.updated(res).map(|_| ())
    }

    /// Records a copy that ended without an object (SKIPPED: the source is gone), with the reason.
    pub async fn finish_without_copy(&self, key: &str, status: Status, reason: &str) -> Result<(), LedgerError> {
        self.finish_uncopied(key, status, reason, None).await
    }

    /// Records a permanent failure with the source it was about (size, version, ETag as the
    /// job gave them): the jobsender enqueues the object again only once one of them changed
    /// (see [`crate::ledger::ObjectRecord::failed_for`]) or when asked to retry failures.
    pub async fn failed(
        &self,
        key: &str,
        size: u64,
        version_id: Option<&str>,
        etag: Option<&str>,
        reason: &str,
    ) -> Result<(), LedgerError> {
        self.finish_uncopied(key, Status::Failed, reason, Some((size, version_id, etag))).await
    }

    async fn finish_uncopied(
        &self,
        key: &str,
        status: Status,
        reason: &str,
        source: Option<(u64, Option<&str>, Option<&str>)>,
    ) -> Result<(), LedgerError> {
        let mut update = Update::new()
            .set(attr::STATUS, sv(status.as_str()))
            .set(attr::REASON, sv(truncate(reason, 1000)))
            .set(attr::END_TIME, nv(now_secs()));
        if let Some((size, version_id, etag)) = source {
            update = update
                .set(attr::SIZE, nv(size))
                .set(attr::VERSION_ID, sv(version_id.unwrap_or(crate::job::NULL_VERSION)))
                .set(attr::ETAG, sv(etag.unwrap_or("")));
        }
        let update = update.remove(attr::LEASE_UNTIL).remove(attr::OWNER).remove(attr::EXPIRE_AT);
        update.apply(self.update(key)).send().await.map_err(|e| self.err("UpdateItem", e))?;
        Ok(())
    }
}

/// The write [`Ledger::begin`] makes: the copy's fields and lease, one more try, under the
/// conditions that no other copy holds an unexpired lease and, with an upload, that the ledger
/// still holds the upload we read (or none). A record being copied never expires (the TTL is
/// for queue records only).
pub(crate) fn begin_update(b: &Begin<'_>, now: u64) -> Update {
    let mut update = Update::new();
    if let Some((upload_id, part_size)) = b.upload {
        update = update.set(attr::UPLOAD_ID, sv(upload_id)).set(attr::PART_SIZE, nv(part_size));
    }
    update = update
        .set(attr::DES_BUCKET, sv(b.des_bucket))
        .set(attr::DES_KEY, sv(b.des_key))
        .set(attr::SIZE, nv(b.size))
        .set(attr::STATUS, sv(Status::InProgress.as_str()))
        .set(attr::START_TIME, nv(now))
        .set(attr::VERSION_ID, sv(b.version_id.unwrap_or(crate::job::NULL_VERSION)))
        .set(attr::ETAG, sv(b.etag.unwrap_or("")))
        .set(attr::LEASE_UNTIL, nv(now + b.lease_secs))
        .set(attr::OWNER, sv(b.owner))
        .add(attr::TRY_TIMES, nv(1))
        .when(Cond::Any(vec![
            Cond::Absent(attr::LEASE_UNTIL),
            Cond::AtMost(attr::LEASE_UNTIL, nv(now)),
            Cond::Eq(attr::OWNER, sv(b.owner)),
        ]));
    match b.upload {
        Some(_) => {
            update = match b.expected_upload {
                Some(old) => update.when(Cond::Eq(attr::UPLOAD_ID, sv(old))),
                None => update.when(Cond::Absent(attr::UPLOAD_ID)),
            };
            update.remove(attr::EXPIRE_AT)
        }
        None => update.remove(attr::UPLOAD_ID).remove(attr::PART_SIZE).remove(attr::EXPIRE_AT),
    }
}

/// At most `max_chars` characters of `s`.
fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn begin(upload: Option<(&'static str, u64)>, expected_upload: Option<&'static str>) -> Begin<'static> {
        Begin {
            key: "b/k",
            des_bucket: "d",
            des_key: "k",
            size: 7,
            version_id: None,
            etag: Some("\"e\""),
            upload,
            expected_upload,
            owner: "me",
            lease_secs: 60,
        }
    }

    #[test]
    fn a_single_request_copy_claims_the_lease_and_clears_any_upload() {
        let u = begin_update(&begin(None, None), 1_000);
        let names = u.names();
        let expr = u.update_expression();
        let cond = u.condition_expression().unwrap_or_default();
        let name =
            |attr: &str| names.iter().find(|(_, n)| n.as_str() == attr).map(|(p, _)| p.clone()).unwrap_or_default();
        assert!(
            expr.contains(&format!(
                "REMOVE {}, {}, {}",
                name(attr::UPLOAD_ID),
                name(attr::PART_SIZE),
                name(attr::EXPIRE_AT)
            )),
            "{expr}"
        );
        assert!(expr.contains(&format!("ADD {} ", name(attr::TRY_TIMES))), "{expr}");
        let lease = name(attr::LEASE_UNTIL);
        assert!(cond.starts_with(&format!("(attribute_not_exists({lease}) OR {lease} <= ")), "{cond}");
        assert!(!cond.contains(" AND "), "no upload condition: {cond}");
        let values = u.values();
        assert!(values.values().any(|v| *v == nv(1_060)), "lease until now + 60");
        assert!(values.values().any(|v| *v == sv(crate::job::NULL_VERSION)), "no version: the null version");
    }

    #[test]
    fn a_new_upload_is_claimed_only_where_none_is_recorded() {
        let u = begin_update(&begin(Some(("up-1", 5)), None), 1_000);
        let cond = u.condition_expression().unwrap_or_default();
        assert!(cond.ends_with(&format!("AND attribute_not_exists({})", placeholder(&u, attr::UPLOAD_ID))), "{cond}");
        assert!(u.update_expression().ends_with(&format!("REMOVE {}", placeholder(&u, attr::EXPIRE_AT))));
    }

    #[test]
    fn a_resumed_upload_is_claimed_only_while_it_is_still_the_recorded_one() {
        let u = begin_update(&begin(Some(("up-1", 5)), Some("up-1")), 1_000);
        let cond = u.condition_expression().unwrap_or_default();
        let up = placeholder(&u, attr::UPLOAD_ID);
        let (head, value) = cond.rsplit_once(" = ").unwrap_or_default();
        assert!(head.ends_with(&format!("AND {up}")), "{cond}");
        assert_eq!(u.values().get(value), Some(&sv("up-1")), "{cond}");
        assert!(u.update_expression().starts_with(&format!("SET {up} = ")), "the upload is recorded");
    }

    fn placeholder(u: &Update, attr: &str) -> String {
        u.names().into_iter().find(|(_, n)| n == attr).map(|(p, _)| p).unwrap_or_default()
    }
}
