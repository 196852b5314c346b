// Least-privilege S3 statements: only the actions each function calls, only on the buckets and
// prefixes of the configured pairs, and only on the side this account reaches with its own role
// (the other side is reached with the SecureString's keys when `JobType` is set).
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BucketPair, JobType } from './config';

export const bucketArn = (bucket: string) => `arn:${Aws.PARTITION}:s3:::${bucket}`;

/** Objects under `prefix` (the whole bucket when empty). */
export const objectsArn = (bucket: string, prefix: string) => `arn:${Aws.PARTITION}:s3:::${bucket}/${prefix}*`;

/** The destination prefix of a pair's objects: `des_prefix/src_prefix` (the jobsender's key rule). */
export function destinationPrefix(p: BucketPair): string {
  const des = (p.des_prefix ?? '').replace(/\/+$/, '');
  return des === '' ? p.src_prefix ?? '' : `${des}/${p.src_prefix ?? ''}`;
}

/** Which sides this account's role reaches. */
export function localSides(jobType?: JobType): { source: boolean; destination: boolean } {
  return { source: jobType !== 'GET', destination: jobType !== 'PUT' };
}

const uniq = (xs: string[]) => [...new Set(xs)].sort();

/** Source-side reads of the worker (GET, HEAD, tags, versions) and the jobsender (listing);
 * with `objectLock`, the retention and legal hold HEAD shows only with their own permissions. */
export function sourceStatements(pairs: BucketPair[], extraObjects: string[], versions: boolean, objectLock = false): iam.PolicyStatement[] {
  const buckets = uniq(pairs.map((p) => p.src_bucket));
  const reads = ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'];
  if (objectLock) reads.push('s3:GetObjectRetention', 's3:GetObjectLegalHold');
  return [
    new iam.PolicyStatement({
      sid: 'ListSourceBuckets',
      // ListBucket also makes HeadObject of a missing key a 404 (skipped), not a 403.
      actions: versions ? ['s3:ListBucket', 's3:ListBucketVersions'] : ['s3:ListBucket'],
      resources: buckets.map(bucketArn),
    }),
    new iam.PolicyStatement({
      sid: 'ReadSourceObjects',
      actions: reads,
      resources: uniq(pairs.map((p) => objectsArn(p.src_bucket, p.src_prefix ?? '')).concat(extraObjects)),
    }),
  ];
}

/** What the worker's writes carry besides the object (from its environment). */
export interface WriteOptions {
  propagateDeletes: boolean;
  /** `DestinationACL` is set: `x-amz-acl` needs `s3:PutObjectAcl`. */
  acl: boolean;
  /** `CopyObjectLock=true`: retention and legal hold need their own permissions. */
  objectLock: boolean;
}

/** Destination-side writes of the worker: single PUT, multipart upload and its clean-up, tags, deletes when propagated,
 * and the ACL and Object Lock headers only when the worker sends them. */
export function destinationWriteStatements(pairs: BucketPair[], extraObjects: string[], o: WriteOptions): iam.PolicyStatement[] {
  const actions = ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObject'];
  if (o.propagateDeletes) actions.push('s3:DeleteObject');
  if (o.acl) actions.push('s3:PutObjectAcl');
  if (o.objectLock) actions.push('s3:PutObjectRetention', 's3:PutObjectLegalHold');
  return [
    new iam.PolicyStatement({
      sid: 'ListDestinationBuckets',
      // ListBucketMultipartUploads: orphaned uploads of a key are aborted once its copy completes.
      actions: ['s3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: uniq(pairs.map((p) => p.des_bucket)).map(bucketArn),
    }),
    new iam.PolicyStatement({
      sid: 'WriteDestinationObjects',
      actions,
      resources: uniq(pairs.map((p) => objectsArn(p.des_bucket, destinationPrefix(p))).concat(extraObjects)),
    }),
  ];
}

/** The jobsender lists both sides' buckets (where this account reaches them). */
export function listStatements(pairs: BucketPair[], jobType: JobType | undefined, versions: boolean): iam.PolicyStatement[] {
  const sides = localSides(jobType);
  const buckets = uniq([
    ...(sides.source ? pairs.map((p) => p.src_bucket) : []),
    ...(sides.destination ? pairs.map((p) => p.des_bucket) : []),
  ]);
  const actions = versions && sides.source ? ['s3:ListBucket', 's3:ListBucketVersions'] : ['s3:ListBucket'];
  return [new iam.PolicyStatement({ sid: 'ListPairBuckets', actions, resources: buckets.map(bucketArn) })];
}

/** The jobsender asks S3 to restore archived source objects (`ArchivedObjects=restore`). */
export function restoreStatements(pairs: BucketPair[]): iam.PolicyStatement[] {
  return [
    new iam.PolicyStatement({
      sid: 'RestoreArchivedSourceObjects',
      actions: ['s3:RestoreObject'],
      resources: uniq(pairs.map((p) => objectsArn(p.src_bucket, p.src_prefix ?? ''))),
    }),
  ];
}

/** KMS actions S3 needs on customer managed keys (S3 User Guide, "Using server-side encryption with AWS KMS keys"):
 * reading an SSE-KMS object needs `kms:Decrypt`; writing one needs `kms:GenerateDataKey`, and a multipart upload
 * `kms:Decrypt` too. Only keys named in the settings, only on the sides this account's role reaches. */
export function kmsStatements(sourceKeys: string[], destinationKey: string | undefined): iam.PolicyStatement[] {
  const out: iam.PolicyStatement[] = [];
  if (sourceKeys.length > 0) {
    out.push(new iam.PolicyStatement({ sid: 'DecryptSourceObjects', actions: ['kms:Decrypt'], resources: uniq(sourceKeys) }));
  }
  if (destinationKey) {
    out.push(new iam.PolicyStatement({ sid: 'EncryptDestinationObjects', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [destinationKey] }));
  }
  return out;
}

/** ARN of an SSM parameter by name (with or without a leading `/`). */
export const parameterArn = (name: string) =>
  `arn:${Aws.PARTITION}:ssm:${Aws.REGION}:${Aws.ACCOUNT_ID}:parameter/${name.replace(/^\//, '')}`;
