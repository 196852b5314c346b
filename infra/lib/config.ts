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
  /**
   * S3 events reach the queue from outside this stack: notifications of a bucket in another
   * account, forwarded to the queue by hand (docs/deployment.md). Default false: then
   * `PropagateDeletes` needs `eventSourceBuckets`, the only events the stack wires.
   */
  forwardedEvents: boolean;
  /** Keep the ledger table when the stack is destroyed. Default true: it records what was copied. */
  retainTable: boolean;
}

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');

export const DEFAULTS: Omit<S3MigrateSettings, 'bucketPairs' | 'ignoreList'> = {
  credentialsParameterName: 's3_migration_credentials',
  bucketParameterName: 's3_migration_bucket_para',
  ignoreParameterName: 's3_migrate_ignore_list',
  eventSourceBuckets: [],
  forwardedEvents: false,
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
  for (const mistake of configurationMistakes(s)) fail(mistake);
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

/** A key area: a bucket and a key prefix ('' for the whole bucket). */
interface Area {
  bucket: string;
  prefix: string;
}

/** A prefix as the worker joins it to a key: `p/`, or '' (`core/src/keys.rs`). */
const joined = (prefix: string | undefined) => (prefix ? `${prefix.replace(/\/+$/, '')}/` : '');

/** True when some key lies in both areas. */
const overlap = (a: Area, b: Area) => a.bucket === b.bucket && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix));

/** Where a pair writes the objects of its source area: `des_bucket/des_prefix/` + the source key. */
const written = (p: BucketPair): Area => ({ bucket: p.des_bucket, prefix: joined(p.des_prefix) + (p.src_prefix ?? '') });

/**
 * Combinations that synthesize but cannot work in production, each naming the settings:
 * copies that land where they are listed or notified again (a pair or a chain of pairs whose
 * copies are a source again; an event destination inside its own event source), one source
 * object sent to two places (the ledger keeps one record per source object), delete events
 * asked for but never delivered, and events from a bucket of the other account.
 */
export function configurationMistakes(s: S3MigrateSettings): string[] {
  const out: string[] = [];
  const pairs = s.bucketPairs;
  const name = (i: number) => `bucketPairs[${i}] (${pairs[i].src_bucket}/${pairs[i].src_prefix ?? ''} -> ${pairs[i].des_bucket}/${joined(pairs[i].des_prefix)})`;
  const source = (p: BucketPair): Area => ({ bucket: p.src_bucket, prefix: p.src_prefix ?? '' });
  // A pair whose copies land in a source area of a pair that leads back to it copies forever.
  const next = pairs.map((p) => pairs.flatMap((q, j) => (overlap(written(p), source(q)) ? [j] : [])));
  const reaches = (from: number, to: number): boolean => {
    const seen = new Set<number>();
    const walk = (i: number): boolean => next[i].some((j) => j === to || (!seen.has(j) && (seen.add(j), walk(j))));
    return walk(from);
  };
  pairs.forEach((p, i) => {
    if (next[i].includes(i)) {
      out.push(`${name(i)} writes its copies inside its own source (${written(p).bucket}/${written(p).prefix}): each run would copy the copies again`);
    } else if (reaches(i, i)) {
      out.push(`${name(i)} is part of a loop of pairs: its copies become the source of a pair whose copies come back to its source`);
    }
  });
  // One record per source object: overlapping sources must send each object to one place.
  pairs.forEach((p, i) =>
    pairs.forEach((q, j) => {
      if (j > i && overlap(source(p), source(q))) {
        const same = p.des_bucket === q.des_bucket && joined(p.des_prefix) === joined(q.des_prefix);
        if (!same) out.push(`${name(i)} and ${name(j)} share source objects but send them to different places; the ledger keeps one record per source object`);
      }
    }),
  );
  // Event copies that are notified again: the event destination inside a notified prefix.
  if (s.eventDestinationBucket !== undefined && s.eventSourceBuckets.includes(s.eventDestinationBucket)) {
    const bucket = s.eventDestinationBucket;
    const notified = notificationPrefixes(s, bucket);
    for (const n of notified) {
      const copies: Area = { bucket, prefix: joined(s.eventDestinationPrefix) + n };
      if (notified.some((m) => overlap(copies, { bucket, prefix: m }))) {
        out.push(`eventDestinationBucket ${bucket} is also in eventSourceBuckets: events of ${bucket}/${n} are copied to ${bucket}/${copies.prefix}, which fires ObjectCreated events again, without end`);
        break;
      }
    }
  }
  const flag = (v: string | undefined) => /^(true|1|yes)$/i.test(v ?? '');
  if (flag(s.workerEnvironment.PropagateDeletes) && s.eventSourceBuckets.length === 0 && !s.forwardedEvents) {
    out.push('workerEnvironment.PropagateDeletes acts on ObjectRemoved events, but no eventSourceBuckets send any: set eventSourceBuckets, set forwardedEvents when another account forwards its events, or leave PropagateDeletes unset');
  }
  if (s.jobType === 'PUT') {
    for (const b of s.eventSourceBuckets.filter((b) => pairs.some((p) => p.des_bucket === b))) {
      out.push(`eventSourceBuckets names ${b}, a destination bucket; with jobType PUT destinations are in the other account, and this stack can only wire events of its own account's buckets`);
    }
  }
  return out;
}

/** The prefixes of `bucket` whose ObjectCreated (and, with PropagateDeletes, ObjectRemoved) events the stack wires: its pairs' source prefixes, or the whole bucket. */
export function notificationPrefixes(s: S3MigrateSettings, bucket: string): string[] {
  const prefixes = [...new Set(s.bucketPairs.filter((p) => p.src_bucket === bucket).map((p) => p.src_prefix ?? ''))];
  return prefixes.length > 0 && !prefixes.includes('') ? prefixes : [''];
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
