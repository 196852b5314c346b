//! The DynamoDB ledger: per source object, what is being copied, how far, and what was copied.
//!
//! Table `table_queue_name`, partition key `Key` = `src_bucket/src_key`, global secondary
//! index `desBucket-index` on `desBucket` projecting `desKey` and `versionId`. Jobsender
//! checkpoints live in the same table under keys starting with `#checkpoint#`, which no
//! `bucket/key` can (bucket names have no `#`).

mod record;

pub use record::{attr, nv, sv, Item, ObjectRecord, Status, DES_BUCKET_INDEX};

use crate::retry::{classify, ErrorClass};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Most keys one BatchGetItem may ask for (DynamoDB limit).
const BATCH_GET_MAX_KEYS: usize = 100;
/// Prefix of checkpoint rows.
const CHECKPOINT_PREFIX: &str = "#checkpoint#";

/// Seconds since the Unix epoch.
pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A ledger request that failed.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("DynamoDB table {table} (table_queue_name) does not exist")]
    NoTable { table: String },
    #[error("DynamoDB {op} on table {table} failed: {message}")]
    Request { op: &'static str, table: String, message: String, class: ErrorClass },
    #[error("the upload of {key} is now recorded by another worker")]
    ClaimLost { key: String },
    #[error("{key} is being copied by another worker (lease until {until}); it will be retried")]
    Busy { key: String, until: u64 },
}

impl LedgerError {
    /// Whether trying again may help.
    pub fn class(&self) -> ErrorClass {
        match self {
            LedgerError::Request { class, .. } => *class,
            LedgerError::ClaimLost { .. } | LedgerError::Busy { .. } => ErrorClass::Retryable,
            LedgerError::NoTable { .. } => ErrorClass::Permanent,
        }
    }
}

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

/// The ledger table.
#[derive(Debug, Clone)]
pub struct Ledger {
    client: Client,
    table: String,
}

impl Ledger {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn err<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        op: &'static str,
        e: SdkError<E>,
    ) -> LedgerError {
        if e.code() == Some("ResourceNotFoundException") {
            return LedgerError::NoTable { table: self.table.clone() };
        }
        let message = e.message().map(str::to_owned).unwrap_or_else(|| crate::clients::error_chain(&e));
        LedgerError::Request { op, table: self.table.clone(), message, class: classify(&e) }
    }

    /// Checks that the table exists (DescribeTable); a clear error naming it otherwise.
    pub async fn check(&self) -> Result<(), LedgerError> {
        self.client.describe_table().table_name(&self.table).send().await.map_err(|e| self.err("DescribeTable", e))?;
        Ok(())
    }

    /// The record of `key` (strongly consistent).
    pub async fn get(&self, key: &str) -> Result<Option<ObjectRecord>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err("GetItem", e))?;
        Ok(out.item().and_then(ObjectRecord::from_item))
    }

    /// Records of many keys, 100 per request, unprocessed keys asked again.
    pub async fn batch_get(&self, keys: &[String]) -> Result<HashMap<String, ObjectRecord>, LedgerError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(BATCH_GET_MAX_KEYS) {
            let mut request = KeysAndAttributes::builder();
            for k in chunk {
                request = request.keys(HashMap::from([(attr::KEY.to_owned(), sv(k.clone()))]));
            }
            let mut pending = Some(request.build().map_err(|e| LedgerError::Request {
                op: "BatchGetItem",
                table: self.table.clone(),
                message: e.to_string(),
                class: ErrorClass::Permanent,
            })?);
            let mut round = 0u32;
            while let Some(req) = pending.take() {
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, req)
                    .send()
                    .await
                    .map_err(|e| self.err("BatchGetItem", e))?;
                for item in out.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
                    if let Some(r) = ObjectRecord::from_item(item) {
                        found.insert(r.key.clone(), r);
                    }
                }
                pending =
                    out.unprocessed_keys().and_then(|u| u.get(&self.table)).cloned().filter(|k| !k.keys().is_empty());
                if pending.is_some() {
                    round += 1;
                    tokio_sleep_backoff(round).await;
                }
            }
        }
        Ok(found)
    }

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
            }
            None => update.push_str(" REMOVE #up, #ps"),
        }
        let res = req.update_expression(update).condition_expression(condition).send().await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => {
                // Tell a running copy elsewhere (come back later) from a changed upload (look again).
                match self.get(b.key).await? {
                    Some(r) if r.leased_by_other(b.owner, now) => {
                        Err(LedgerError::Busy { key: b.key.to_owned(), until: r.lease_until.unwrap_or(now) })
                    }
                    _ => Err(LedgerError::ClaimLost { key: b.key.to_owned() }),
                }
            }
            Err(e) => Err(self.err("UpdateItem", e)),
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
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(self.err("UpdateItem", e)),
        }
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
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(self.err("UpdateItem", e)),
        }
    }

    /// Forgets a multipart upload (after it was aborted), if it is still the recorded one.
    pub async fn clear_upload(&self, key: &str, upload_id: &str) -> Result<(), LedgerError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression("REMOVE #up, #ps")
            .condition_expression("#up = :up")
            .expression_attribute_names("#up", attr::UPLOAD_ID)
            .expression_attribute_names("#ps", attr::PART_SIZE)
            .expression_attribute_values(":up", sv(upload_id))
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(()),
            Err(e) => Err(self.err("UpdateItem", e)),
        }
    }

    /// Records a finished copy: the version and ETag actually copied, bytes and seconds spent.
    pub async fn done(
        &self,
        key: &str,
        size: u64,
        version_id: Option<&str>,
        etag: Option<&str>,
        spent_secs: u64,
    ) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression(
                "SET #st = :st, #end = :end, #spent = :spent, #bytes = :size, #size = :size, #vid = :vid, #etag = :etag \
                 REMOVE #up, #ps, #reason, #lease, #owner",
            )
            .expression_attribute_names("#lease", attr::LEASE_UNTIL)
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_names("#end", attr::END_TIME)
            .expression_attribute_names("#spent", attr::SPENT_TIME)
            .expression_attribute_names("#bytes", attr::BYTES)
            .expression_attribute_names("#size", attr::SIZE)
            .expression_attribute_names("#vid", attr::VERSION_ID)
            .expression_attribute_names("#etag", attr::ETAG)
            .expression_attribute_names("#up", attr::UPLOAD_ID)
            .expression_attribute_names("#ps", attr::PART_SIZE)
            .expression_attribute_names("#reason", attr::REASON)
            .expression_attribute_values(":st", sv(Status::Done.as_str()))
            .expression_attribute_values(":end", nv(now_secs()))
            .expression_attribute_values(":spent", nv(spent_secs))
            .expression_attribute_values(":size", nv(size))
            .expression_attribute_values(":vid", sv(version_id.unwrap_or(crate::job::NULL_VERSION)))
            .expression_attribute_values(":etag", sv(etag.unwrap_or("")))
            .send()
            .await
            .map_err(|e| self.err("UpdateItem", e))?;
        Ok(())
    }

    /// Records a copy that ended without an object: FAILED or SKIPPED, with the reason.
    pub async fn finish_without_copy(&self, key: &str, status: Status, reason: &str) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression("SET #st = :st, #reason = :reason, #end = :end REMOVE #lease, #owner")
            .expression_attribute_names("#lease", attr::LEASE_UNTIL)
            .expression_attribute_names("#owner", attr::OWNER)
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_names("#reason", attr::REASON)
            .expression_attribute_names("#end", attr::END_TIME)
            .expression_attribute_values(":st", sv(status.as_str()))
            .expression_attribute_values(":reason", sv(truncate(reason, 1000)))
            .expression_attribute_values(":end", nv(now_secs()))
            .send()
            .await
            .map_err(|e| self.err("UpdateItem", e))?;
        Ok(())
    }

    /// Records that the jobsender enqueued an object now. A new record becomes QUEUED; an
    /// existing one keeps its status (a running copy stays IN_PROGRESS).
    pub async fn mark_queued(&self, key: &str, des_bucket: &str, des_key: &str, size: u64) -> Result<(), LedgerError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .update_expression("SET #q = :q, #db = :db, #dk = :dk, #st = if_not_exists(#st, :queued), #size = if_not_exists(#size, :size)")
            .expression_attribute_names("#q", attr::QUEUED_TIME)
            .expression_attribute_names("#db", attr::DES_BUCKET)
            .expression_attribute_names("#dk", attr::DES_KEY)
            .expression_attribute_names("#st", attr::STATUS)
            .expression_attribute_names("#size", attr::SIZE)
            .expression_attribute_values(":q", nv(now_secs()))
            .expression_attribute_values(":db", sv(des_bucket))
            .expression_attribute_values(":dk", sv(des_key))
            .expression_attribute_values(":queued", sv(Status::Queued.as_str()))
            .expression_attribute_values(":size", nv(size))
            .send()
            .await
            .map_err(|e| self.err("UpdateItem", e))?;
        Ok(())
    }

    /// The last source key a jobsender run compared for `pair`, if a run stopped early.
    pub async fn checkpoint(&self, pair: &str) -> Result<Option<String>, LedgerError> {
        let key = format!("{CHECKPOINT_PREFIX}{pair}");
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err("GetItem", e))?;
        Ok(out.item().and_then(|i| match i.get(attr::CHECKPOINT) {
            Some(AttributeValue::S(v)) => Some(v.clone()),
            _ => None,
        }))
    }

    /// Saves (`Some`) or clears (`None`) the checkpoint of `pair`.
    pub async fn set_checkpoint(&self, pair: &str, last_key: Option<&str>) -> Result<(), LedgerError> {
        let key = format!("{CHECKPOINT_PREFIX}{pair}");
        let res = match last_key {
            Some(last) => self
                .client
                .put_item()
                .table_name(&self.table)
                .item(attr::KEY, sv(key))
                .item(attr::CHECKPOINT, sv(last))
                .item(attr::START_TIME, nv(now_secs()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("PutItem", e)),
            None => self
                .client
                .delete_item()
                .table_name(&self.table)
                .key(attr::KEY, sv(key))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.err("DeleteItem", e)),
        };
        res
    }

    /// Creates the ledger table (tests, demo and `worker`/`jobsender` set-up off Lambda; the
    /// CDK app creates it in AWS). An existing table is left as it is.
    pub async fn create_table(&self) -> Result<(), LedgerError> {
        let s = |name: &str| {
            AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
        };
        let hash = |name: &str| KeySchemaElement::builder().attribute_name(name).key_type(KeyType::Hash).build();
        let build_err = |e: aws_sdk_dynamodb::error::BuildError| LedgerError::Request {
            op: "CreateTable",
            table: self.table.clone(),
            message: e.to_string(),
            class: ErrorClass::Permanent,
        };
        let index = GlobalSecondaryIndex::builder()
            .index_name(DES_BUCKET_INDEX)
            .key_schema(hash(attr::DES_BUCKET).map_err(build_err)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::Include)
                    .non_key_attributes(attr::DES_KEY)
                    .non_key_attributes(attr::VERSION_ID)
                    .build(),
            )
            .build()
            .map_err(build_err)?;
        let res = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(s(attr::KEY).map_err(build_err)?)
            .attribute_definitions(s(attr::DES_BUCKET).map_err(build_err)?)
            .key_schema(hash(attr::KEY).map_err(build_err)?)
            .global_secondary_indexes(index)
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_in_use_exception()) => Ok(()),
            Err(e) => Err(self.err("CreateTable", e)),
        }
    }

    /// Every object record of the table (status reports); checkpoints are left out.
    pub async fn scan(&self) -> Result<Vec<ObjectRecord>, LedgerError> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| self.err("Scan", e))?;
            out.extend(
                page.items()
                    .iter()
                    .filter_map(ObjectRecord::from_item)
                    .filter(|r| !r.key.starts_with(CHECKPOINT_PREFIX)),
            );
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }
}

async fn tokio_sleep_backoff(round: u32) {
    let d = crate::retry::backoff(round, std::time::Duration::from_millis(50), std::time::Duration::from_secs(2), 1.0);
    tokio::time::sleep(d).await;
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}
