// What a deployment of s3-migrate is made of: every prop with its documented default, and the
// loading of `config/s3-migrate.json`. The names of the environment variables the Lambdas get
// are the original project's (see the README's configuration reference).
import * as fs from 'fs';
import * as path from 'path';

/** One source/destination pair, the original project's JSON shape. */
export interface BucketPair {
  src_bucket: string;
  src_prefix?: string;
  des_bucket: string;
  des_prefix?: string;
}

/** `JobType`: which side the SecureString credentials reach; unset, one account serves both. */
export type JobType = 'PUT' | 'GET';

export interface S3MigrateSettings {
  /** Bucket pairs, stored in the SSM parameter `bucketParameterName`. Required, at least one. */
  bucketPairs: BucketPair[];
  /** Ignore list text, stored in the SSM parameter `ignoreParameterName`. Default: the repo's `ignore-list.txt`. */
  ignoreList: string;
  /** `PUT`: the destination is in another account or partition; `GET`: the source is. Default unset. */
  jobType?: JobType;
  /** SecureString with the other side's keys, created by hand (any version). Default `s3_migration_credentials`. */
  credentialsParameterName: string;
  /** ARN of a customer managed KMS key encrypting that SecureString; unset means the AWS managed `aws/ssm` key. */
  credentialsKmsKeyArn?: string;
  /**
   * ARNs of customer managed KMS keys that encrypt source objects (SSE-KMS / DSSE-KMS). The
   * worker gets `kms:Decrypt` on them, as S3 needs to read such objects. Default none (objects
   * under the AWS managed `aws/s3` key need no grant).
   */
  sourceKmsKeyArns: string[];
  /**
   * ARN of the customer managed KMS key new destination objects are encrypted with: the worker
   * gets `DestinationSSE=aws:kms` (unless `workerEnvironment` says `aws:kms:dsse`) and
   * `DestinationKMSKeyId`, and `kms:GenerateDataKey` plus `kms:Decrypt` (multipart uploads
   * need both) on the key. Default unset: the destination bucket's default encryption.
   */
  destinationKmsKeyArn?: string;
  /** Default `s3_migration_bucket_para` (the original's name). */
  bucketParameterName: string;
  /** Default `s3_migrate_ignore_list` (the original's name). */
  ignoreParameterName: string;
  /** Alarm e-mail address; unset, the topic has no subscription. */
  alarmEmail?: string;
  /** Source buckets in this account whose ObjectCreated events go to the queue. Default none. */
  eventSourceBuckets: string[];
  /** Destination of S3 events (`Des_bucket_default`), required with `eventSourceBuckets`. */
  eventDestinationBucket?: string;
  /** `Des_prefix_default`. Default empty. */
  eventDestinationPrefix: string;

  /** Worker memory in MiB. Default 1024 (a 10-part, 5 MiB-part copy buffers about 100 MiB). */
  workerMemoryMiB: number;
  /** Worker reserved concurrency, protecting the rest of the account. Default 50. */
  workerReservedConcurrency: number;
  /**
   * Messages per worker invocation. Default 1: a message is one large object or a pack of up
   * to 100 small ones (`JobsenderPackObjects`), which already amortises the invocation; more
   * messages would share one 15-minute budget.
   */
  workerBatchSize: number;
  /** Concurrent worker invocations the SQS event source starts (2..1000). Default 40, below the reserved concurrency so SQS is not throttled. */
  workerMaxConcurrency: number;
  /** Jobsender memory in MiB. Default 512. */
  jobsenderMemoryMiB: number;
  /** Schedule of the jobsender. Default `rate(1 hour)`. */
  jobsenderSchedule: string;
  /** Run the jobsender once right after each deploy. Default true. */
  runJobsenderAfterDeploy: boolean;

  /**
   * Visibility timeout of the job queue in seconds. Default 1200 (20 min): longer than the
   * worker's 15-minute timeout, and since the worker hands a long copy on as a fresh message
   * before its budget ends, a message comes back only after a real failure or a crash.
   */
  queueVisibilityTimeoutSeconds: number;
  /** Receives before a message goes to the DLQ. Default 5: hand-ons are fresh messages, so only real failures count. */
  maxReceiveCount: number;
  /** Age of the oldest queued job that raises an alarm, in seconds. Default 21600 (6 hours). */
  oldestMessageAlarmSeconds: number;
  /** Log retention in days. Default 30. */
  logRetentionDays: number;
  /** Extra worker environment variables (MaxThread, StorageClass, TransferMode, ...), passed as they are. */
  workerEnvironment: Record<string, string>;
  /** Extra jobsender environment variables (JobsenderCompareVersionId, ...), passed as they are. */
  jobsenderEnvironment: Record<string, string>;
  /** Keep the ledger table when the stack is destroyed. Default true: it records what was copied. */
  retainTable: boolean;
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export const DEFAULTS: Omit<S3MigrateSettings, 'bucketPairs' | 'ignoreList'> = {
  credentialsParameterName: 's3_migration_credentials',
  bucketParameterName: 's3_migration_bucket_para',
  ignoreParameterName: 's3_migrate_ignore_list',
  eventSourceBuckets: [],
  eventDestinationPrefix: '',
  sourceKmsKeyArns: [],
  workerMemoryMiB: 1024,
  workerReservedConcurrency: 50,
  workerBatchSize: 1,
  workerMaxConcurrency: 40,
  jobsenderMemoryMiB: 512,
  jobsenderSchedule: 'rate(1 hour)',
  runJobsenderAfterDeploy: true,
  queueVisibilityTimeoutSeconds: 1200,
  maxReceiveCount: 5,
  oldestMessageAlarmSeconds: 21600,
  logRetentionDays: 30,
  workerEnvironment: {},
  jobsenderEnvironment: {},
  retainTable: true,
};

/** Worker settings the stack sets itself; `workerEnvironment` may not override them. */
const RESERVED_ENV = [
  'table_queue_name',
  'sqs_queue',
  'JobType',
  'ssm_parameter_credentials',
  'ssm_parameter_bucket',
  'ssm_parameter_ignore_list',
  'DeadLetterQueueUrl',
  'Des_bucket_default',
  'Des_prefix_default',
];

/** Bad settings, each message naming the setting. */
export function validate(s: S3MigrateSettings): S3MigrateSettings {
  const fail = (msg: string): never => {
    throw new Error(`s3-migrate settings: ${msg}`);
  };
  if (!Array.isArray(s.bucketPairs) || s.bucketPairs.length === 0) fail('bucketPairs needs at least one pair');
  s.bucketPairs.forEach((p, i) => {
    for (const f of ['src_bucket', 'des_bucket'] as const) {
      if (typeof p[f] !== 'string' || p[f].trim() === '') fail(`bucketPairs[${i}].${f} is empty`);
    }
  });
  if (s.jobType !== undefined && s.jobType !== 'PUT' && s.jobType !== 'GET') fail(`jobType must be PUT or GET, not ${s.jobType}`);
  if (s.eventSourceBuckets.length > 0 && !s.eventDestinationBucket) {
    fail('eventDestinationBucket (Des_bucket_default) is required when eventSourceBuckets is set');
  }
  // One destination per source object (the ledger keeps one record per source object): events
  // of a pair's source bucket must go where the pair sends its objects. The worker refuses to
  // start otherwise; this says so at synth.
  const root = (bucket: string, prefix: string) => `${bucket}/${prefix.replace(/\/+$/, '')}${prefix === '' ? '' : '/'}`;
  for (const p of s.bucketPairs) {
    if (s.eventDestinationBucket && s.eventSourceBuckets.includes(p.src_bucket)) {
      const pairRoot = root(p.des_bucket, p.des_prefix ?? '');
      const eventRoot = root(s.eventDestinationBucket, s.eventDestinationPrefix);
      if (pairRoot !== eventRoot) {
        fail(`events of ${p.src_bucket} go to ${eventRoot} (eventDestinationBucket, eventDestinationPrefix) but its bucket pair sends them to ${pairRoot}; give them one destination`);
      }
    }
  }
  if (s.eventSourceBuckets.length > 0 && s.jobType === 'GET') {
    fail('eventSourceBuckets are buckets of this account, but jobType GET puts the source in another account');
  }
  if (s.workerMaxConcurrency < 2 || s.workerMaxConcurrency > 1000) fail('workerMaxConcurrency must be 2..1000 (SQS event source limit)');
  if (s.workerReservedConcurrency < s.workerMaxConcurrency) {
    fail('workerReservedConcurrency must be at least workerMaxConcurrency, or SQS invocations are throttled');
  }
  if (s.workerBatchSize < 1 || s.workerBatchSize > 10) fail('workerBatchSize must be 1..10');
  if (s.queueVisibilityTimeoutSeconds < 900) fail('queueVisibilityTimeoutSeconds must be at least the worker timeout (900)');
  if (s.maxReceiveCount < 1) fail('maxReceiveCount must be at least 1');
  const kmsArn = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-zA-Z-]+$/;
  s.sourceKmsKeyArns.forEach((a, i) => {
    if (!kmsArn.test(a)) fail(`sourceKmsKeyArns[${i}] is not a KMS key ARN: ${a}`);
  });
  if (s.destinationKmsKeyArn !== undefined) {
    if (!kmsArn.test(s.destinationKmsKeyArn)) fail(`destinationKmsKeyArn is not a KMS key ARN: ${s.destinationKmsKeyArn}`);
    if (s.workerEnvironment.DestinationKMSKeyId) fail('DestinationKMSKeyId is set by destinationKmsKeyArn; set only one');
    if (s.workerEnvironment.DestinationSSE && !s.workerEnvironment.DestinationSSE.startsWith('aws:kms')) {
      fail(`destinationKmsKeyArn needs DestinationSSE aws:kms or aws:kms:dsse, not ${s.workerEnvironment.DestinationSSE}`);
    }
  }
  for (const k of Object.keys(s.workerEnvironment).concat(Object.keys(s.jobsenderEnvironment))) {
    if (RESERVED_ENV.includes(k)) fail(`${k} is set by the stack; use the matching setting instead`);
  }
  return s;
}

/** Settings from a JSON file (see `config/s3-migrate.json`), defaults filled in, the ignore list read from the repo. */
export function loadSettings(file: string): S3MigrateSettings {
  let raw: Partial<S3MigrateSettings>;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`s3-migrate settings: cannot read ${file}: ${(e as Error).message}`);
  }
  const ignoreList = raw.ignoreList ?? fs.readFileSync(path.join(REPO_ROOT, 'ignore-list.txt'), 'utf8');
  return validate({ ...DEFAULTS, ...raw, ignoreList, bucketPairs: raw.bucketPairs ?? [] });
}
