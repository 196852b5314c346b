//! A world's helpers over many objects or messages at once.

use super::{JobKey, World};
use futures::StreamExt;
use std::collections::BTreeMap;

impl World {
    /// How many times each job is in the queue. With `keep`, each message is put back as a
    /// fresh one (its receive count starts again, so looking never parks it); else it is
    /// deleted.
    pub async fn jobs_in_queue(&self, keep: bool) -> anyhow::Result<BTreeMap<JobKey, usize>> {
        let mut counts = BTreeMap::new();
        for m in self.drain(&self.queue_url).await? {
            let body = m.body().unwrap_or_default();
            for j in crate::jobs_in(body)? {
                *counts.entry((j.src_bucket, j.src_key, j.des_bucket, j.des_key, j.size)).or_default() += 1;
            }
            let receipt = m.receipt_handle().unwrap_or_default();
            self.own.sqs.delete_message().queue_url(&self.queue_url).receipt_handle(receipt).send().await?;
            if keep {
                self.own.sqs.send_message().queue_url(&self.queue_url).message_body(body).send().await?;
            }
        }
        Ok(counts)
    }

    /// Puts `keys` (key, size; bodies of `x`) on the source, or on the destination, 32 at once.
    pub async fn put_many(&self, keys: &[(String, usize)], destination: bool) -> anyhow::Result<()> {
        let results: Vec<anyhow::Result<()>> = futures::stream::iter(keys)
            .map(|(k, size)| async move {
                let body = vec![b'x'; *size];
                if destination {
                    self.put_des(k, &body).await
                } else {
                    self.put_src(k, &body).await.map(|_| ())
                }
            })
            .buffer_unordered(32)
            .collect()
            .await;
        results.into_iter().collect()
    }
}
