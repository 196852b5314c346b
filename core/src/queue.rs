//! How many messages a job queue holds: one GetQueueAttributes, summed over the visible,
//! in-flight and delayed counts (each approximate: SQS Developer Guide, "Available CloudWatch
//! metrics for Amazon SQS"). The worker's `poll --until-empty` and the jobsender's backlog rule
//! (`crate::backlog`) read it.

use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesError;
use aws_sdk_sqs::types::QueueAttributeName;

/// Visible + in flight + delayed messages of the queue at `url`.
pub async fn messages_in(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<u64, SdkError<GetQueueAttributesError>> {
    let out = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
        .send()
        .await?;
    Ok(out.attributes().map(|a| a.values().filter_map(|v| v.parse::<u64>().ok()).sum()).unwrap_or(0))
}
