//! A provisioned migration: source and destination buckets, the ledger table, and the job
//! queue with its dead-letter queue, all on the emulator under unique names.

use crate::{other_account_credentials_json, require_emulator, unique};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketVersioningStatus, Event, NotificationConfiguration, QueueConfiguration, VersioningConfiguration,
};
use aws_sdk_sqs::types::QueueAttributeName;
use aws_sdk_ssm::types::ParameterType;
use s3_migrate_core::clients::AwsClients;
use s3_migrate_core::config::{Env, JobType, JobsenderConfig, WorkerConfig};
use s3_migrate_core::ignore::IgnoreList;
use s3_migrate_core::ledger::Ledger;
use s3_migrate_core::Job;
use worker::message::Processor;

/// How the destination is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Same account, server-side copy (`JobType` unset).
    Server,
    /// Destination in another account through the SecureString (`JobType=PUT`), bytes streamed.
    Stream,
    /// Source in another account through the SecureString (`JobType=GET`), bytes streamed.
    Pull,
}

/// Receives after which a message goes to the dead-letter queue in tests.
pub const MAX_RECEIVE_COUNT: u32 = 3;

mod bulk;

/// A job as the queue holds it: source bucket and key, destination bucket and key, size.
pub type JobKey = (String, String, String, String, u64);

pub struct World {
    pub mode: Mode,
    /// Our own account (the source, but in `Pull` mode the destination).
    pub own: AwsClients,
    /// Source side client (the other account's store in `Pull` mode).
    pub src_s3: aws_sdk_s3::Client,
    /// Destination side client (the other account's store in `Stream` mode).
    pub des_s3: aws_sdk_s3::Client,
    pub src_bucket: String,
    pub des_bucket: String,
    pub table: String,
    pub ledger: Ledger,
    pub queue_url: String,
    pub dlq_url: String,
    pub credentials_parameter: String,
    /// The bucket pairs (`ssm_parameter_bucket`): the whole source bucket to the whole
    /// destination bucket, which every job a test makes with [`World::job`] falls in.
    pub pairs_parameter: String,
}

impl World {
    pub async fn new(mode: Mode, versioned: bool) -> anyhow::Result<Self> {
        Self::with_other_store(mode, versioned, &other_account_credentials_json()).await
    }

    /// A world whose other side is the store `credentials_json` describes (its SecureString:
    /// keys, endpoint and store fields).
    pub async fn with_other_store(mode: Mode, versioned: bool, credentials_json: &str) -> anyhow::Result<Self> {
        require_emulator();
        let own = AwsClients::build(None, "unused").await?;
        let credentials_parameter = unique("creds");
        own.ssm
            .put_parameter()
            .name(&credentials_parameter)
            .r#type(ParameterType::SecureString)
            .value(credentials_json)
            .send()
            .await?;
        let other = || async { AwsClients::build(Some(JobType::Put), &credentials_parameter).await.map(|c| c.des_s3) };
        let (src_s3, des_s3) = match mode {
            Mode::Server => (own.src_s3.clone(), own.src_s3.clone()),
            Mode::Stream => (own.src_s3.clone(), other().await?),
            Mode::Pull => (other().await?, own.src_s3.clone()),
        };
        let src_bucket = unique("src");
        let des_bucket = unique("des");
        src_s3.create_bucket().bucket(&src_bucket).send().await?;
        if versioned {
            src_s3
                .put_bucket_versioning()
                .bucket(&src_bucket)
                .versioning_configuration(
                    VersioningConfiguration::builder().status(BucketVersioningStatus::Enabled).build(),
                )
                .send()
                .await?;
        }
        des_s3.create_bucket().bucket(&des_bucket).send().await?;
        let table = unique("ledger");
        let ledger = Ledger::new(own.dynamodb.clone(), table.clone());
        ledger.create_table().await?;
        let queue = unique("jobs");
        let dlq_url =
            own.sqs.create_queue().queue_name(format!("{queue}-dlq")).send().await?.queue_url.unwrap_or_default();
        let dlq_arn = own
            .sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .unwrap_or_default();
        let redrive =
            serde_json::json!({ "deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT.to_string() });
        let queue_url = own
            .sqs
            .create_queue()
            .queue_name(&queue)
            .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
            .attributes(QueueAttributeName::VisibilityTimeout, "30")
            .send()
            .await?
            .queue_url
            .unwrap_or_default();
        let pairs_parameter = unique("pairs");
        let pairs = serde_json::json!([{ "src_bucket": src_bucket, "des_bucket": des_bucket }]).to_string();
        own.ssm.put_parameter().name(&pairs_parameter).r#type(ParameterType::String).value(pairs).send().await?;
        Ok(Self {
            mode,
            own,
            src_s3,
            des_s3,
            src_bucket,
            des_bucket,
            table,
            ledger,
            queue_url,
            dlq_url,
            credentials_parameter,
            pairs_parameter,
        })
    }

    /// The worker's environment for this world, plus `extra`.
    pub fn env_vars(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut vars: Vec<(String, String)> = vec![
            ("table_queue_name".into(), self.table.clone()),
            ("sqs_queue".into(), self.queue_url.clone()),
            ("ssm_parameter_credentials".into(), self.credentials_parameter.clone()),
            ("ssm_parameter_bucket".into(), self.pairs_parameter.clone()),
            ("Des_bucket_default".into(), self.des_bucket.clone()),
        ];
        match self.mode {
            Mode::Stream => vars.push(("JobType".into(), "PUT".into())),
            Mode::Pull => vars.push(("JobType".into(), "GET".into())),
            Mode::Server => {}
        }
        for (k, v) in extra {
            vars.retain(|(name, _)| name != k);
            vars.push(((*k).into(), (*v).into()));
        }
        vars
    }

    /// A worker processor for this world, built the way the binary builds it.
    pub async fn processor(&self, extra: &[(&str, &str)]) -> anyhow::Result<Processor> {
        let cfg = WorkerConfig::from_env(&Env::from_pairs(self.env_vars(extra)))?;
        let clients = AwsClients::build(cfg.common.job_type, &cfg.common.credentials_parameter).await?;
        worker::setup::processor(cfg, &clients, Some(self.queue_url.clone())).await
    }

    /// A worker processor whose S3 requests, both sides, pass through `proxy`.
    pub async fn processor_via(
        &self,
        extra: &[(&str, &str)],
        proxy: &crate::fault_proxy::FaultProxy,
    ) -> anyhow::Result<Processor> {
        let mut p = self.processor(extra).await?;
        p.copier.src = proxy.client(&p.copier.src);
        p.copier.des = proxy.client(&p.copier.des);
        let (src, des) = &*p.copier.regions;
        p.copier.regions = std::sync::Arc::new((src.map(|c| proxy.client(c)), des.map(|c| proxy.client(c))));
        Ok(p)
    }

    /// A jobsender for this world, built the way the binary builds it, with `ignore` as its
    /// ignore list.
    pub async fn sender(&self, ignore: &str, extra: &[(&str, &str)]) -> anyhow::Result<jobsender::run::Sender> {
        let cfg = JobsenderConfig::from_env(&Env::from_pairs(self.env_vars(extra)))?;
        let clients = AwsClients::build(cfg.common.job_type, &cfg.common.credentials_parameter).await?;
        jobsender::setup::sender(&cfg, &clients, IgnoreList::parse(ignore)?, self.queue_url.clone()).await
    }

    /// A jobsender whose S3 requests, both sides, pass through `proxy`.
    pub async fn sender_via(
        &self,
        extra: &[(&str, &str)],
        proxy: &crate::fault_proxy::FaultProxy,
    ) -> anyhow::Result<jobsender::run::Sender> {
        let mut s = self.sender("", extra).await?;
        s.src_s3 = proxy.client(&s.src_s3);
        s.des_s3 = proxy.client(&s.des_s3);
        Ok(s)
    }

    /// The pair of this world's two buckets, whole.
    pub fn pair(&self) -> s3_migrate_core::pairs::BucketPair {
        s3_migrate_core::pairs::BucketPair {
            src_bucket: self.src_bucket.clone(),
            src_prefix: String::new(),
            des_bucket: self.des_bucket.clone(),
            des_prefix: String::new(),
            ..Default::default()
        }
    }

    /// Sets the bucket pairs to these (source prefix, destination bucket) pairs, each to the
    /// same keys (for a job to a destination that is in scope but, say, does not exist). One
    /// source key may have one destination only: give the pairs disjoint prefixes.
    pub async fn set_pairs(&self, pairs: &[(&str, &str)]) -> anyhow::Result<()> {
        let pairs: Vec<serde_json::Value> = pairs
            .iter()
            .map(|(prefix, des)| serde_json::json!({ "src_bucket": self.src_bucket, "src_prefix": prefix, "des_bucket": des }))
            .collect();
        self.put_param(&self.pairs_parameter, &serde_json::Value::from(pairs).to_string()).await
    }

    /// Puts a source object; returns its version id (when versioned).
    pub async fn put_src(&self, key: &str, body: &[u8]) -> anyhow::Result<Option<String>> {
        let out = self
            .src_s3
            .put_object()
            .bucket(&self.src_bucket)
            .key(key)
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await?;
        Ok(out.version_id)
    }

    /// Puts a destination object (to make it equal or different in a diff).
    pub async fn put_des(&self, key: &str, body: &[u8]) -> anyhow::Result<()> {
        self.des_s3.put_object().bucket(&self.des_bucket).key(key).body(ByteStream::from(body.to_vec())).send().await?;
        Ok(())
    }

    /// Sends the source bucket's ObjectCreated notifications to the job queue.
    pub async fn notify_queue_on_created(&self) -> anyhow::Result<()> {
        let queue_arn = self
            .own
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await?
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
            .ok_or_else(|| anyhow::anyhow!("queue has no ARN"))?;
        self.own
            .src_s3
            .put_bucket_notification_configuration()
            .bucket(&self.src_bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(
                        QueueConfiguration::builder()
                            .queue_arn(queue_arn)
                            .events(Event::from("s3:ObjectCreated:*"))
                            .build()?,
                    )
                    .build(),
            )
            .send()
            .await?;
        Ok(())
    }

    /// Creates or replaces an SSM String parameter.
    pub async fn put_param(&self, name: &str, value: &str) -> anyhow::Result<()> {
        self.own
            .ssm
            .put_parameter()
            .name(name)
            .r#type(ParameterType::String)
            .value(value)
            .overwrite(true)
            .send()
            .await?;
        Ok(())
    }

    /// The destination object's bytes, `None` when absent.
    pub async fn get_des(&self, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self.des_s3.get_object().bucket(&self.des_bucket).key(key).send().await {
            Ok(out) => Ok(Some(out.body.collect().await?.into_bytes().to_vec())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// A job for `key` copied to the same key in the destination.
    pub fn job(&self, key: &str, size: u64) -> Job {
        Job {
            src_bucket: self.src_bucket.clone(),
            src_key: key.into(),
            des_bucket: self.des_bucket.clone(),
            des_key: key.into(),
            size,
            version_id: None,
            attempt: 0,
            etag: None,
            checksum_algorithm: None,
            failures: 0,
        }
    }

    /// Multipart uploads still open on the destination bucket.
    pub async fn open_uploads(&self) -> anyhow::Result<usize> {
        let out = self.des_s3.list_multipart_uploads().bucket(&self.des_bucket).send().await?;
        Ok(out.uploads().len())
    }

    /// Works off every job now in the queue once with `p`, each message consumed (asserted)
    /// and deleted; returns the source keys of the jobs.
    pub async fn work_queue(&self, p: &Processor) -> anyhow::Result<std::collections::BTreeSet<String>> {
        let mut keys = std::collections::BTreeSet::new();
        for m in self.drain(&self.queue_url).await? {
            let body = m.body().unwrap_or_default();
            keys.extend(crate::jobs_in(body)?.into_iter().map(|j| j.src_key));
            let d = p.process(m.message_id().unwrap_or_default(), body, None).await;
            assert_eq!(d, worker::message::Disposition::Consumed, "{body}");
            let receipt = m.receipt_handle().unwrap_or_default();
            self.own.sqs.delete_message().queue_url(&self.queue_url).receipt_handle(receipt).send().await?;
        }
        Ok(keys)
    }

    /// Every message now in a queue (received and left to come back later).
    pub async fn drain(&self, url: &str) -> anyhow::Result<Vec<aws_sdk_sqs::types::Message>> {
        let mut all = Vec::new();
        loop {
            let out = self
                .own
                .sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .visibility_timeout(60)
                .message_attribute_names("All")
                .send()
                .await?;
            let msgs = out.messages.unwrap_or_default();
            if msgs.is_empty() {
                return Ok(all);
            }
            all.extend(msgs);
        }
    }

    /// Moves the last look at `pair` (a pair id) `secs` into the past, as if the pair's backlog
    /// had shown no progress for that long (`s3_migrate_core::backlog`).
    pub async fn age_pair_look(&self, pair: &str, secs: u64) -> anyhow::Result<()> {
        let counts = self.ledger.pair_counts(pair).await?.ok_or_else(|| anyhow::anyhow!("{pair}: no complete run"))?;
        let at = s3_migrate_core::ledger::now_secs() - secs;
        self.ledger.set_pair_look(pair, at, counts.done_at_look).await?;
        Ok(())
    }
}
