//! The project's own client construction against the emulator: a bucket, a queue, a table and
//! a SecureString parameter are created and read back, and `JobType=PUT` reaches a second
//! account with the keys from the SecureString.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use aws_sdk_ssm::types::ParameterType;
use s3_migrate_core::clients::{read_credentials, AwsClients, ClientError};
use s3_migrate_core::config::JobType;
use s3_migrate_tests::{other_account_credentials_json, require_emulator, unique, OTHER_ACCOUNT};

#[tokio::test]
async fn builds_clients_that_reach_every_service() -> anyhow::Result<()> {
    require_emulator();
    let clients = AwsClients::build(None, "unused").await?;
    assert!(clients.same_credentials);

    // S3: a bucket and an object, read back byte for byte.
    let bucket = unique("clients-bucket");
    clients.src_s3.create_bucket().bucket(&bucket).send().await?;
    clients
        .des_s3
        .put_object()
        .bucket(&bucket)
        .key("dir/hello world+.txt")
        .body(b"hello".to_vec().into())
        .send()
        .await?;
    let got = clients.src_s3.get_object().bucket(&bucket).key("dir/hello world+.txt").send().await?;
    assert_eq!(got.body.collect().await?.into_bytes().as_ref(), b"hello");

    // SQS: a queue and a message.
    let queue = unique("clients-queue");
    let url = clients.sqs.create_queue().queue_name(&queue).send().await?.queue_url.expect("queue url");
    assert!(url.contains("127.0.0.1") || url.contains("localhost"), "queue URL resolves locally: {url}");
    clients.sqs.send_message().queue_url(&url).message_body("ping").send().await?;
    let msgs = clients.sqs.receive_message().queue_url(&url).wait_time_seconds(2).send().await?;
    assert_eq!(msgs.messages().first().and_then(|m| m.body()), Some("ping"));

    // DynamoDB: a table keyed on `Key` and an item.
    let table = unique("clients-table");
    clients
        .dynamodb
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder().attribute_name("Key").attribute_type(ScalarAttributeType::S).build()?,
        )
        .key_schema(KeySchemaElement::builder().attribute_name("Key").key_type(KeyType::Hash).build()?)
        .send()
        .await?;
    clients
        .dynamodb
        .put_item()
        .table_name(&table)
        .item("Key", AttributeValue::S("src/a".into()))
        .item("Size", AttributeValue::N("5".into()))
        .send()
        .await?;
    let item =
        clients.dynamodb.get_item().table_name(&table).key("Key", AttributeValue::S("src/a".into())).send().await?;
    assert_eq!(item.item().and_then(|i| i.get("Size")), Some(&AttributeValue::N("5".into())));

    // SSM: a SecureString read back decrypted through the project's parser.
    let param = unique("clients-credentials");
    clients
        .ssm
        .put_parameter()
        .name(&param)
        .r#type(ParameterType::SecureString)
        .value(other_account_credentials_json())
        .send()
        .await?;
    let creds = read_credentials(&clients.ssm, &param).await?;
    assert_eq!(creds.access_key_id, OTHER_ACCOUNT);
    Ok(())
}

#[tokio::test]
async fn job_type_put_uses_the_secure_string_for_the_destination() -> anyhow::Result<()> {
    require_emulator();
    let own = AwsClients::build(None, "unused").await?;
    let param = unique("put-credentials");
    own.ssm
        .put_parameter()
        .name(&param)
        .r#type(ParameterType::SecureString)
        .value(other_account_credentials_json())
        .send()
        .await?;

    let put = AwsClients::build(Some(JobType::Put), &param).await?;
    assert!(!put.same_credentials);
    let des_bucket = unique("other-account-bucket");
    put.des_s3.create_bucket().bucket(&des_bucket).send().await?;

    // The bucket belongs to the other account: its listing has it, our own does not.
    let names = |out: aws_sdk_s3::operation::list_buckets::ListBucketsOutput| -> Vec<String> {
        out.buckets().iter().filter_map(|b| b.name().map(str::to_owned)).collect()
    };
    let other_list = names(put.des_s3.list_buckets().send().await?);
    let own_list = names(put.src_s3.list_buckets().send().await?);
    assert!(other_list.contains(&des_bucket), "{other_list:?}");
    assert!(!own_list.contains(&des_bucket), "{own_list:?}");

    // JobType=GET swaps the sides.
    let get = AwsClients::build(Some(JobType::Get), &param).await?;
    assert!(names(get.src_s3.list_buckets().send().await?).contains(&des_bucket));
    Ok(())
}

#[tokio::test]
async fn missing_credentials_parameter_is_named() {
    require_emulator();
    let name = unique("no-such-parameter");
    let err = AwsClients::build(Some(JobType::Put), &name).await.unwrap_err();
    assert!(matches!(err, ClientError::ParameterNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains(&name), "{err}");
}
