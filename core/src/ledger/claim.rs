//! The worker's writes: claiming an object (upload and lease), keeping and releasing the
//! lease, and recording how the copy ended.

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
        let mut update = String::from(
            "SET #db = :db, #dk = :dk, #size = :size, #st = :st, #start = :start, #vid = :vid, #etag = :etag, \
             #lease = :lease, #owner = :owner ADD #try :one",
        );
        // Nobody else may hold an unexpired lease.
        let mut condition = String::from("(attribute_not_exists(#lease) OR #lease <= :now OR #owner = :owner)");
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(b.key))
            .expression_attribute_names("#db", attr::DES_BUCKET)
            .expression_attribute_names("#dk", attr::DES_KEY)
            .expression_attribute_names("#size", attr::SIZE)
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_names("#start", attr::START_TIME)
            .expression_attribute_names("#vid", attr::VERSION_ID)
            .expression_attribute_names("#etag", attr::ETAG)
            .expression_attribute_names("#try", attr::TRY_TIMES)
            .expression_attribute_names("#up", attr::UPLOAD_ID)
            .expression_attribute_names("#ps", attr::PART_SIZE)
            .expression_attribute_values(":db", sv(b.des_bucket))
            .expression_attribute_values(":dk", sv(b.des_key))
            .expression_attribute_values(":size", nv(b.size))
            .expression_attribute_values(":st", sv(Status::InProgress.as_str()))
            .expression_attribute_values(":start", nv(now))
            .expression_attribute_values(":vid", sv(b.version_id.unwrap_or(crate::job::NULL_VERSION)))
            .expression_attribute_values(":etag", sv(b.etag.unwrap_or("")))
            .expression_attribute_values(":one", nv(1))
            .expression_attribute_names("#lease", attr::LEASE_UNTIL)
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_values(":lease", nv(now + b.lease_secs))
            .expression_attribute_values(":owner", sv(b.owner))
            .expression_attribute_values(":now", nv(now));
        match b.upload {
            Some((upload_id, part_size)) => {
                update = update.replacen("SET ", "SET #up = :up, #ps = :ps, ", 1);
                req = req
                    .expression_attribute_values(":up", sv(upload_id))
                    .expression_attribute_values(":ps", nv(part_size));
                match b.expected_upload {
                    Some(old) => {
                        condition.push_str(" AND #up = :old");
                        req = req.expression_attribute_values(":old", sv(old));
                    }
                    None => condition.push_str(" AND attribute_not_exists(#up)"),
                }
                // A record being copied never expires (the TTL is for queue records only).
                update.push_str(" REMOVE #exp");
            }
            None => update.push_str(" REMOVE #up, #ps, #exp"),
        }
        req = req.expression_attribute_names("#exp", attr::EXPIRE_AT);
        if self.updated(req.update_expression(update).condition_expression(condition).send().await)? {
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
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression("SET #lease = :lease")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#lease", attr::LEASE_UNTIL)
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_values(":lease", nv(now_secs() + lease_secs))
            .expression_attribute_values(":owner", sv(owner))
            .send()
            .await;
        self.updated(res)
    }

    /// Gives up this copy's lease, if it still holds it.
    pub async fn release(&self, key: &str, owner: &str) -> Result<(), LedgerError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression("REMOVE #lease, #owner")
            .condition_expression("#owner = :owner")
            .expression_attribute_names("#lease", attr::LEASE_UNTIL)
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_values(":owner", sv(owner))
            .send()
            .await;
        self.updated(res).map(|_| ())
    }

    /// Records that the upload `upload_id` is about to be completed, with the ETag S3 should
    /// give the object (`None` when its encryption makes it unprovable). A run killed inside
    /// CompleteMultipartUpload, or before its DONE write, leaves this behind: the next run
    /// then recognises the completed object instead of uploading it again.
    pub async fn completing(&self, key: &str, upload_id: &str, expected_etag: Option<&str>) -> Result<(), LedgerError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression("SET #at = :at, #ce = :ce")
            .condition_expression("#up = :up")
            .expression_attribute_names("#up", attr::UPLOAD_ID)
            .expression_attribute_names("#at", attr::COMPLETING_AT)
            .expression_attribute_names("#ce", attr::COMPLETING_ETAG)
            .expression_attribute_values(":up", sv(upload_id))
            .expression_attribute_values(":at", nv(now_secs()))
            .expression_attribute_values(":ce", sv(expected_etag.unwrap_or("")))
            .send()
            .await;
        self.updated(res).map(|_| ())
    }

    /// Forgets a multipart upload (after it was aborted), if it is still the recorded one.
    pub async fn clear_upload(&self, key: &str, upload_id: &str) -> Result<(), LedgerError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression("REMOVE #up, #ps, #at, #ce")
            .condition_expression("#up = :up")
            .expression_attribute_names("#up", attr::UPLOAD_ID)
            .expression_attribute_names("#ps", attr::PART_SIZE)
            .expression_attribute_names("#at", attr::COMPLETING_AT)
            .expression_attribute_names("#ce", attr::COMPLETING_ETAG)
            .expression_attribute_values(":up", sv(upload_id))
            .send()
            .await;
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
        let mut set = "SET #st = :st, #reason = :reason, #end = :end".to_owned();
        let mut req = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .expression_attribute_names("#exp", attr::EXPIRE_AT)
            .expression_attribute_names("#lease", attr::LEASE_UNTIL)
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_names("#reason", attr::REASON)
            .expression_attribute_names("#end", attr::END_TIME)
            .expression_attribute_values(":st", sv(status.as_str()))
            .expression_attribute_values(":reason", sv(truncate(reason, 1000)))
            .expression_attribute_values(":end", nv(now_secs()));
        if let Some((size, version_id, etag)) = source {
            set.push_str(", #size = :size, #vid = :vid, #etag = :etag");
            req = req
                .expression_attribute_names("#size", attr::SIZE)
                .expression_attribute_names("#vid", attr::VERSION_ID)
                .expression_attribute_names("#etag", attr::ETAG)
                .expression_attribute_values(":size", nv(size))
                .expression_attribute_values(":vid", sv(version_id.unwrap_or(crate::job::NULL_VERSION)))
                .expression_attribute_values(":etag", sv(etag.unwrap_or("")));
        }
        req.update_expression(format!("{set} REMOVE #lease, #owner, #exp"))
            .send()
            .await
            .map_err(|e| self.err("UpdateItem", e))?;
        Ok(())
    }
}

/// At most `max_chars` characters of `s`.
fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
