// The whole of s3-migrate in one stack: job queue and DLQ, the ledger table, SSM parameters,
// the worker (SQS-triggered) and the jobsender (scheduled, run after each deploy, re-invoking
// itself to continue), S3 event notifications, least-privilege roles, alarms and a dashboard.
import { ArnFormat, CfnOutput, Duration, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { S3MigrateSettings, notificationPrefixes, validate } from './config';
import { addNagSuppressions } from './nag';
import { Observability } from './observability';
import * as perms from './permissions';

/** The ledger's attribute names (core/src/ledger/record.rs). */
export const LEDGER = { partitionKey: 'Key', ttl: 'expireAt' } as const;
/** SSM standard parameters hold 4 KB; longer values need the advanced tier. */
const SSM_STANDARD_MAX_BYTES = 4096;
/** Lambda's longest timeout: the worker and jobsender both plan their budgets within it. */
/** Worker `MaxParallelFile` the stack sets unless `workerEnvironment` does: objects of a pack copied at once. */
const PACK_PARALLEL_FILES = 16;
const LAMBDA_MAX_TIMEOUT = Duration.minutes(15);

export interface S3MigrateStackProps extends StackProps {
  settings: S3MigrateSettings;
  /** The worker's Lambda package (`cargo lambda build --release --arm64 --output-format zip`). */
  workerCode: lambda.Code;
  /** The jobsender's Lambda package. */
  jobsenderCode: lambda.Code;
  /** Changes on every deploy so the jobsender runs once after it; defaults to the synth time. */
  deployStamp?: string;
}

export class S3MigrateStack extends Stack {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly table: dynamodb.Table;
  readonly worker: lambda.Function;
  readonly jobsender: lambda.Function;
  readonly observability: Observability;

  constructor(scope: Construct, id: string, props: S3MigrateStackProps) {
    super(scope, id, props);
    const s = validate(props.settings);
    const sides = perms.localSides(s.jobType);

    // Queues. SQS-managed encryption works with S3 event notifications (a KMS key would need a key policy for S3).
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'JobQueue', {
      visibilityTimeout: Duration.seconds(s.queueVisibilityTimeoutSeconds),
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: s.maxReceiveCount },
    });

    // The ledger: one item per object, plus the jobsender's checkpoints.
    this.table = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: LEDGER.partitionKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: LEDGER.ttl,
      removalPolicy: s.retainTable ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // No global secondary index: the original's desBucket-index was never queried and
    // doubled the write units of every ledger write. An update from a stack that had it
    // deletes it (one index deletion is a plain CloudFormation update).

    // Parameters: bucket pairs and the ignore list; the credentials SecureString is made by hand.
    const bucketParameter = this.parameter('BucketPairs', s.bucketParameterName, JSON.stringify(s.bucketPairs), 'Bucket pairs of s3-migrate');
    const ignoreParameter = this.parameter('IgnoreList', s.ignoreParameterName, s.ignoreList.trim() === '' ? '# nothing ignored' : s.ignoreList, 'Ignore list of s3-migrate');

    const common: Record<string, string> = {
      table_queue_name: this.table.tableName,
      sqs_queue: this.queue.queueUrl,
      ssm_parameter_credentials: s.credentialsParameterName,
      ...(s.jobType ? { JobType: s.jobType } : {}),
    };

    // Worker.
    const workerLogs = this.logGroup('WorkerLogs', s.logRetentionDays);
    const workerRole = this.lambdaRole('WorkerRole', workerLogs, 'Worker of s3-migrate: copies objects');
    this.worker = new lambda.Function(this, 'Worker', {
      description: 's3-migrate worker: resumable copy of each queued object',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code: props.workerCode,
      timeout: LAMBDA_MAX_TIMEOUT,
      memorySize: s.workerMemoryMiB,
      reservedConcurrentExecutions: s.workerReservedConcurrency,
      role: workerRole,
      logGroup: workerLogs,
      environment: {
        // A pack of small objects is copied this many at a time (the binary's default is the
        // original's 5, sized for large files; small objects wait on latency, not bandwidth).
        MaxParallelFile: String(PACK_PARALLEL_FILES),
        ...s.workerEnvironment,
        ...common,
        DeadLetterQueueUrl: this.deadLetterQueue.queueUrl,
        // An object of a pack gets as many tries as a single job's message.
        MaxReceiveCount: String(s.maxReceiveCount),
        ...(s.destinationKmsKeyArn
          ? { DestinationSSE: s.workerEnvironment.DestinationSSE ?? 'aws:kms', DestinationKMSKeyId: s.destinationKmsKeyArn }
          : {}),
        // The worker copies only what the pairs and the event routes allow (JobScope).
        ssm_parameter_bucket: s.bucketParameterName,
        // S3 events honour the ignore list, as the jobsender's listings do.
        ssm_parameter_ignore_list: s.ignoreParameterName,
        ...(s.eventSourceBuckets.length > 0 ? { EventSourceBuckets: s.eventSourceBuckets.join(',') } : {}),
        ...(s.eventDestinationBucket ? { Des_bucket_default: s.eventDestinationBucket, Des_prefix_default: s.eventDestinationPrefix } : {}),
      },
    });
    bucketParameter.grantRead(workerRole);
    ignoreParameter.grantRead(workerRole);
    this.worker.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: s.workerBatchSize,
        maxConcurrency: s.workerMaxConcurrency,
        reportBatchItemFailures: true,
      }),
    );
    // Hand-ons of long copies go back to the queue; malformed bodies straight to the DLQ.
    this.queue.grantSendMessages(workerRole);
    this.deadLetterQueue.grantSendMessages(workerRole);
    workerRole.addToPolicy(new iam.PolicyStatement({ sid: 'CheckQueue', actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], resources: [this.queue.queueArn] }));
    this.grantLedger(workerRole);

    const flag = (v: string | undefined) => /^(true|1|yes)$/i.test(v ?? '');
    const propagateDeletes = flag(s.workerEnvironment.PropagateDeletes);
    const objectLock = flag(s.workerEnvironment.CopyObjectLock);
    const acl = (s.workerEnvironment.DestinationACL ?? '') !== '';
    const compareVersions = /^(true|1|yes)$/i.test(s.jobsenderEnvironment.JobsenderCompareVersionId ?? '');
    const eventSourceObjects = s.eventSourceBuckets.map((b) => perms.objectsArn(b, ''));
    const eventDestinationObjects = s.eventDestinationBucket
      ? [perms.objectsArn(s.eventDestinationBucket, s.eventDestinationPrefix === '' ? '' : `${s.eventDestinationPrefix.replace(/\/+$/, '')}/`)]
      : [];
    if (sides.source) {
      for (const st of perms.sourceStatements(s.bucketPairs, eventSourceObjects, true, objectLock)) workerRole.addToPolicy(st);
    }
    if (sides.destination) {
      for (const st of perms.destinationWriteStatements(s.bucketPairs, eventDestinationObjects, { propagateDeletes, acl, objectLock })) {
        workerRole.addToPolicy(st);
      }
    }
    const kms = perms.kmsStatements(sides.source ? s.sourceKmsKeyArns : [], sides.destination ? s.destinationKmsKeyArn : undefined);
    for (const st of kms) workerRole.addToPolicy(st);

    // Jobsender. Its name is fixed so that it can be granted to invoke itself without a
    // circular reference between the function and its role's policy.
    const jobsenderName = `${this.stackName}-jobsender`;
    const jobsenderArn = this.formatArn({ service: 'lambda', resource: 'function', resourceName: jobsenderName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const jobsenderLogs = this.logGroup('JobsenderLogs', s.logRetentionDays);
    const jobsenderRole = this.lambdaRole('JobsenderRole', jobsenderLogs, 'Jobsender of s3-migrate: diffs bucket pairs and enqueues jobs');
    this.jobsender = new lambda.Function(this, 'Jobsender', {
      functionName: jobsenderName,
      description: 's3-migrate jobsender: diffs bucket pairs and enqueues one job per object',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      handler: 'bootstrap',
      code: props.jobsenderCode,
      timeout: LAMBDA_MAX_TIMEOUT,
      memorySize: s.jobsenderMemoryMiB,
      // One run at a time: a continuation and the next scheduled run would diff the same pairs.
      reservedConcurrentExecutions: 1,
      role: jobsenderRole,
      logGroup: jobsenderLogs,
      environment: {
        ...s.jobsenderEnvironment,
        ...common,
        // Objects the worker copies in one request are packed: both must use one threshold.
        ...(s.workerEnvironment.ResumableThreshold ? { ResumableThreshold: s.workerEnvironment.ResumableThreshold } : {}),
        ssm_parameter_bucket: s.bucketParameterName,
        ssm_parameter_ignore_list: s.ignoreParameterName,
      },
    });
    this.queue.grantSendMessages(jobsenderRole);
    jobsenderRole.addToPolicy(new iam.PolicyStatement({ sid: 'CheckQueue', actions: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], resources: [this.queue.queueArn] }));
    this.grantLedger(jobsenderRole);
    bucketParameter.grantRead(jobsenderRole);
    ignoreParameter.grantRead(jobsenderRole);
    for (const st of perms.listStatements(s.bucketPairs, s.jobType, compareVersions)) jobsenderRole.addToPolicy(st);
    if (sides.source && /^restore$/i.test(s.jobsenderEnvironment.ArchivedObjects ?? '')) {
      for (const st of perms.restoreStatements(s.bucketPairs)) jobsenderRole.addToPolicy(st);
    }
    jobsenderRole.addToPolicy(new iam.PolicyStatement({ sid: 'ContinueItself', actions: ['lambda:InvokeFunction'], resources: [jobsenderArn] }));
    // The SecureString (any version) is readable only by the two functions, and only when a JobType needs it.
    if (s.jobType) {
      for (const role of [workerRole, jobsenderRole]) {
        role.addToPolicy(new iam.PolicyStatement({ sid: 'ReadCredentials', actions: ['ssm:GetParameter'], resources: [perms.parameterArn(s.credentialsParameterName)] }));
        if (s.credentialsKmsKeyArn) {
          role.addToPolicy(new iam.PolicyStatement({ sid: 'DecryptCredentials', actions: ['kms:Decrypt'], resources: [s.credentialsKmsKeyArn] }));
        }
      }
    }

    new events.Rule(this, 'JobsenderSchedule', {
      description: 'Runs the s3-migrate jobsender',
      schedule: events.Schedule.expression(s.jobsenderSchedule),
      targets: [new targets.LambdaFunction(this.jobsender, { retryAttempts: 2 })],
    });
    if (s.runJobsenderAfterDeploy) {
      this.runAfterDeploy(props.deployStamp ?? new Date().toISOString(), [bucketParameter, ignoreParameter, this.worker]);
    }

    // ObjectCreated events of same-account source buckets go to the queue, limited by source ARN
    // and account; with PropagateDeletes, ObjectRemoved events too.
    for (const name of s.eventSourceBuckets) {
      const bucket = s3.Bucket.fromBucketName(this, `EventSource-${name}`, name);
      const destination = new AccountScopedQueueDestination(this.queue, this.account);
      for (const prefix of notificationPrefixes(s, name)) {
        const filters = prefix ? [{ prefix }] : [];
        bucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination, ...filters);
        if (propagateDeletes) bucket.addEventNotification(s3.EventType.OBJECT_REMOVED, destination, ...filters);
      }
    }

    this.observability = new Observability(this, 'Observability', {
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      worker: this.worker,
      jobsender: this.jobsender,
      alarmEmail: s.alarmEmail,
      oldestMessageAlarmSeconds: s.oldestMessageAlarmSeconds,
      dashboardName: `${this.stackName}-dashboard`,
    });

    new CfnOutput(this, 'QueueUrl', { value: this.queue.queueUrl, description: 'Job queue (sqs_queue)' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.deadLetterQueue.queueUrl, description: 'Jobs that could not be done' });
    new CfnOutput(this, 'TableName', { value: this.table.tableName, description: 'Ledger table (table_queue_name)' });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards:name=${this.stackName}-dashboard`,
      description: 'CloudWatch dashboard',
    });

    addNagSuppressions(this, s, [workerRole, jobsenderRole]);
  }

  /** The ledger calls both binaries make (core/src/ledger*), on the table and its one index. */
  private grantLedger(role: iam.Role): void {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Ledger',
        actions: [
          'dynamodb:DescribeTable',
          'dynamodb:GetItem',
          'dynamodb:BatchGetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          'dynamodb:DeleteItem',
          'dynamodb:Query',
          'dynamodb:Scan',
        ],
        resources: [this.table.tableArn],
      }),
    );
  }

  private parameter(id: string, name: string, value: string, description: string): ssm.StringParameter {
    return new ssm.StringParameter(this, id, {
      parameterName: name,
      stringValue: value,
      description,
      tier: Buffer.byteLength(value, 'utf8') > SSM_STANDARD_MAX_BYTES ? ssm.ParameterTier.ADVANCED : ssm.ParameterTier.STANDARD,
    });
  }

  private logGroup(id: string, days: number): logs.LogGroup {
    return new logs.LogGroup(this, id, { retention: days as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
  }

  /** A role that may write only to its own log group (no managed policy). */
  private lambdaRole(id: string, logGroup: logs.LogGroup, description: string): iam.Role {
    const role = new iam.Role(this, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
    role.addToPolicy(
      new iam.PolicyStatement({ sid: 'WriteOwnLogs', actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );
    return role;
  }

  /** Invokes the jobsender asynchronously once each deploy has put its parameters and worker in place. */
  private runAfterDeploy(stamp: string, after: Construct[]): void {
    const invoke: cr.AwsSdkCall = {
      service: 'Lambda',
      action: 'invoke',
      parameters: { FunctionName: this.jobsender.functionName, InvocationType: 'Event', Payload: JSON.stringify({ source: 's3-migrate.deploy', deploy: stamp }) },
      physicalResourceId: cr.PhysicalResourceId.of(`jobsender-run-${stamp}`),
    };
    const run = new cr.AwsCustomResource(this, 'RunJobsenderAfterDeploy', {
      onCreate: invoke,
      onUpdate: invoke,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.jobsender.functionArn] }),
      ]),
      installLatestAwsSdk: false,
    });
    for (const c of after) run.node.addDependency(c);
  }
}

/** Sends S3 events to the queue; its policy names the bucket (aws:SourceArn) and this account (aws:SourceAccount). */
class AccountScopedQueueDestination implements s3.IBucketNotificationDestination {
  private bound = false;

  constructor(
    private readonly queue: sqs.Queue,
    private readonly account: string,
  ) {}

  bind(_scope: Construct, bucket: s3.IBucket): s3.BucketNotificationDestinationConfig {
    const config = { arn: this.queue.queueArn, type: s3.BucketNotificationDestinationType.QUEUE };
    // One statement per bucket, however many prefixes it notifies.
    if (this.bound) return config;
    this.bound = true;
    const added = this.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: `S3Events${bucket.node.id.replace(/[^A-Za-z0-9]/g, '')}`,
        principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
        actions: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'],
        resources: [this.queue.queueArn],
        conditions: { ArnLike: { 'aws:SourceArn': bucket.bucketArn }, StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    return { ...config, dependencies: added.policyDependable ? [added.policyDependable] : undefined };
  }
}
