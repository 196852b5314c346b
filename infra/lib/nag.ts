// cdk-nag AwsSolutions findings that are accepted, each named exactly and with its reason.
// Anything else cdk-nag finds stops `cdk synth` and fails the infra tests.
import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { S3MigrateSettings } from './config';
import { destinationPrefix } from './permissions';

/** Logical ids of the singleton Lambdas that CDK adds for AwsCustomResource and S3 notifications of imported buckets. */
const AWS_CUSTOM_RESOURCE_HANDLER = 'AWS679f53fac002430cb0da5b7982bd2287';
const BUCKET_NOTIFICATIONS_HANDLER = 'BucketNotificationsHandler050a0587b7544547bf325f094a3db834';

/** The IAM5 finding id of an S3 objects ARN, as cdk-nag spells it. */
const s3ObjectsFinding = (bucket: string, prefix: string) => `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${bucket}/${prefix}*]`;

export function addNagSuppressions(stack: Stack, s: S3MigrateSettings, roles: iam.Role[]): void {
  const objectArns = new Set<string>();
  for (const p of s.bucketPairs) {
    objectArns.add(s3ObjectsFinding(p.src_bucket, p.src_prefix ?? ''));
    objectArns.add(s3ObjectsFinding(p.des_bucket, destinationPrefix(p)));
  }
  for (const b of s.eventSourceBuckets) objectArns.add(s3ObjectsFinding(b, ''));
  if (s.eventDestinationBucket) {
    const prefix = s.eventDestinationPrefix === '' ? '' : `${s.eventDestinationPrefix.replace(/\/+$/, '')}/`;
    objectArns.add(s3ObjectsFinding(s.eventDestinationBucket, prefix));
  }
  for (const role of roles) {
    for (const id of objectArns) {
      Validations.of(role).acknowledge({
        id,
        reason: 'Object actions are limited to the configured bucket and prefix; S3 object ARNs name a prefix with a trailing wildcard.',
      });
    }
  }

  const handler = stack.node.tryFindChild(AWS_CUSTOM_RESOURCE_HANDLER);
  if (handler) {
    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: "CDK's AwsCustomResource handler (run-jobsender-after-deploy) writes its own logs with the basic execution role; its only other right is invoking the jobsender.",
    });
  }
  const notifications = stack.node.tryFindChild(BUCKET_NOTIFICATIONS_HANDLER);
  if (notifications) {
    Validations.of(notifications).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: "CDK's bucket-notifications handler for imported buckets writes its own logs with the basic execution role.",
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: "CDK's bucket-notifications handler is granted s3:PutBucketNotification on * by the CDK; it only configures the buckets named in eventSourceBuckets.",
      },
    );
  }
}
