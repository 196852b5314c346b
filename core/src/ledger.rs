//! The DynamoDB ledger: per source object, what is being copied, how far, and what was copied.
//!
//! Table `table_queue_name`, partition key `Key` = `src_bucket/src_key`, no secondary index.
//! The original's `desBucket-index` (on `desBucket`) is not made: nothing queries it and it
//! doubled the write units of every ledger write. A table that has it works as it is; deleting
//! the index (`aws dynamodb update-table --table-name T --global-secondary-index-updates
//! '[{"Delete":{"IndexName":"desBucket-index"}}]'`) halves the cost of its writes. Jobsender
//! checkpoints, pair figures and progress counters live in the same table under keys starting
//! with `#`, which no `bucket/key` can (bucket names have no `#`).

mod chain;
mod copying;
mod done;
mod pair;
mod progress;
mod queued;
mod record;
mod update;

pub use copying::Begin;
pub use done::{done_item, Done, DoneWrite};
pub use pair::{PairCounts, SavedRun};
pub use progress::Progress;
pub use queued::QUEUE_RECORD_TTL_SECS;

pub use record::{attr, nv, sv, Item, ObjectRecord, Status};

use crate::retry::{classify, ErrorClass};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, KeysAndAttributes, ScalarAttributeType, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// Most keys one BatchGetItem may ask for (DynamoDB limit).
const BATCH_GET_MAX_KEYS: usize = 100;
/// Most items one BatchWriteItem takes (DynamoDB limit).
const BATCH_WRITE_MAX_ITEMS: usize = 25;
/// Rounds of retries for keys or items a batch call left unprocessed (throttling).
const BATCH_RETRY_ROUNDS: u32 = 8;
/// Prefix of checkpoint rows.
const CHECKPOINT_PREFIX: &str = "#checkpoint#";
/// Key prefix of a pair's figures from its last complete jobsender run.
const PAIR_COUNTS_PREFIX: &str = "#pair#";

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

    /// A request that could not be built (a required field missing): a bug, never retried.
    fn request_error(&self, op: &'static str, e: impl std::fmt::Display) -> LedgerError {
        LedgerError::Request { op, table: self.table.clone(), message: e.to_string(), class: ErrorClass::Permanent }
    }

    /// An UpdateItem of the item under `key`, for an [`Update`] to fill in.
    fn update(&self, key: &str) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client.update_item().table_name(&self.table).key(attr::KEY, sv(key))
    }

    /// Ok(true) when a conditional UpdateItem was applied, Ok(false) when its condition failed.
    fn updated(&self, res: Result<UpdateItemOutput, SdkError<UpdateItemError>>) -> Result<bool, LedgerError> {
        match res {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => Ok(false),
            Err(e) => Err(self.err("UpdateItem", e)),
        }
    }

    /// Checks that the table exists (DescribeTable); a clear error naming it otherwise.
    pub async fn check(&self) -> Result<(), LedgerError> {
        self.client.describe_table().table_name(&self.table).send().await.map_err(|e| self.err("DescribeTable", e))?;
        Ok(())
    }

    /// The item stored under `key` (strongly consistent read).
    async fn item(&self, key: &str) -> Result<Option<Item>, LedgerError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(attr::KEY, sv(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.err("GetItem", e))?;
        Ok(out.item)
    }

    /// The record of `key` (strongly consistent).
    pub async fn get(&self, key: &str) -> Result<Option<ObjectRecord>, LedgerError> {
        Ok(self.item(key).await?.as_ref().and_then(ObjectRecord::from_item))
    }

    /// Records of many keys, 100 per request, unprocessed keys asked again.
    pub async fn batch_get(&self, keys: &[String]) -> Result<HashMap<String, ObjectRecord>, LedgerError> {
        let items = self.batch_get_items(keys, false).await?;
        Ok(items.values().filter_map(ObjectRecord::from_item).map(|r| (r.key.clone(), r)).collect())
    }

    /// Items of many keys, by key, 100 per request, unprocessed keys asked again. `consistent`
    /// asks for strongly consistent reads (twice the read units of eventually consistent ones).
    pub async fn batch_get_items(
        &self,
        keys: &[String],
        consistent: bool,
    ) -> Result<HashMap<String, Item>, LedgerError> {
        let mut found = HashMap::new();
        for chunk in keys.chunks(BATCH_GET_MAX_KEYS) {
            let mut request = KeysAndAttributes::builder().consistent_read(consistent);
            for k in chunk {
                request = request.keys(HashMap::from([(attr::KEY.to_owned(), sv(k.clone()))]));
            }
            let first = Some(request.build().map_err(|e| self.request_error("BatchGetItem", e))?);
            let left = |k: &Option<KeysAndAttributes>| k.as_ref().map_or(0, |k| k.keys().len());
            let items = self
                .until_processed("BatchGetItem", "keys", first, left, |req| async move {
                    let Some(req) = req else { return Ok((Vec::new(), None)) };
                    let out = self
                        .client
                        .batch_get_item()
                        .request_items(&self.table, req)
                        .send()
                        .await
                        .map_err(|e| self.err("BatchGetItem", e))?;
                    let items = out.responses().and_then(|r| r.get(&self.table)).cloned().unwrap_or_default();
                    Ok((items, out.unprocessed_keys().and_then(|u| u.get(&self.table)).cloned()))
                })
                .await?;
            for item in items {
                if let Some(AttributeValue::S(key)) = item.get(attr::KEY) {
                    found.insert(key.clone(), item);
                }
            }
        }
        Ok(found)
    }

    /// Writes the requests 25 to a BatchWriteItem (DynamoDB's limit), one batch after another;
    /// `what` names the items in the error.
    async fn batch_write(&self, requests: Vec<WriteRequest>, what: &str) -> Result<(), LedgerError> {
        let mut requests = requests.into_iter().peekable();
        while requests.peek().is_some() {
            self.batch_write_once(requests.by_ref().take(BATCH_WRITE_MAX_ITEMS).collect(), what).await?;
        }
        Ok(())
    }

    /// One BatchWriteItem of up to 25 requests, sending again what DynamoDB left unprocessed
    /// (throttling).
    async fn batch_write_once(&self, requests: Vec<WriteRequest>, what: &str) -> Result<(), LedgerError> {
        self.until_processed("BatchWriteItem", what, requests, Vec::len, |pending| async move {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, pending)
                .send()
                .await
                .map_err(|e| self.err("BatchWriteItem", e))?;
            Ok((Vec::new(), out.unprocessed_items.and_then(|mut u| u.remove(&self.table)).unwrap_or_default()))
        })
        .await
        .map(|_| ())
    }

    /// Sends a batch request, then what DynamoDB left unprocessed (throttling) again after a
    /// full-jitter backoff, at most [`BATCH_RETRY_ROUNDS`] times; `left` counts what is still to
    /// send, `what` names it in the error. The items the requests returned.
    async fn until_processed<T, Fut>(
        &self,
        op: &'static str,
        what: &str,
        mut pending: T,
        left: impl Fn(&T) -> usize,
        mut send: impl FnMut(T) -> Fut,
    ) -> Result<Vec<Item>, LedgerError>
    where
        Fut: std::future::Future<Output = Result<(Vec<Item>, T), LedgerError>>,
    {
        let mut items = Vec::new();
        let mut round = 0u32;
        while left(&pending) > 0 {
            if round > BATCH_RETRY_ROUNDS {
                return Err(LedgerError::Request {
                    op,
                    table: self.table.clone(),
                    message: format!("{} {what} still unprocessed after {round} rounds", left(&pending)),
                    class: ErrorClass::Retryable,
                });
            }
            if round > 0 {
                tokio::time::sleep(batch_backoff(round)).await;
            }
            let (got, rest) = send(pending).await?;
            items.extend(got);
            pending = rest;
            round += 1;
        }
        Ok(items)
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
        let res = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(s(attr::KEY).map_err(build_err)?)
            .key_schema(hash(attr::KEY).map_err(build_err)?)
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
        self.scan_each(|r| out.push(r)).await?;
        Ok(out)
    }

    /// Calls `each` with every object record of the table, page by page, holding one page at
    /// a time; bookkeeping items (checkpoints, pair figures, counters) are left out.
    pub async fn scan_each(&self, mut each: impl FnMut(ObjectRecord)) -> Result<(), LedgerError> {
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
            // Bookkeeping items start with `#`, which no bucket name can.
            page.items()
                .iter()
                .filter_map(ObjectRecord::from_item)
                .filter(|r| !r.key.starts_with('#'))
                .for_each(&mut each);
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(()),
            }
        }
    }
}

/// The wait before round `round` of a batch's unprocessed items: full jitter up to 50 ms
/// doubling to 2 s (`crate::retry::backoff`).
fn batch_backoff(round: u32) -> std::time::Duration {
    crate::retry::backoff(round, std::time::Duration::from_millis(50), std::time::Duration::from_secs(2), unit_random())
}

/// A number in `0.0..1.0`, different at each call (jitter needs no better randomness than
/// std's per-instance hash keys and the clock give).
fn unit_random() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod backoff_tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn batch_retries_wait_a_jittered_time_under_the_ceiling() {
        let draws: Vec<Duration> = (0..200).map(|_| batch_backoff(3)).collect();
        assert!(draws.iter().all(|d| *d < Duration::from_millis(400)), "50 ms * 2^3 is the ceiling");
        let distinct: std::collections::BTreeSet<Duration> = draws.iter().copied().collect();
        assert!(distinct.len() > 100, "jittered, not one fixed delay: {} distinct", distinct.len());
        assert!(
            draws.iter().any(|d| *d < Duration::from_millis(200))
                && draws.iter().any(|d| *d >= Duration::from_millis(200))
        );
        assert!((0..50).map(|_| batch_backoff(30)).all(|d| d <= Duration::from_secs(2)), "capped at 2 s");
    }
}
