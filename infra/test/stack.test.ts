// Synthesizes the stack and asserts every resource and property the deployment promises,
// cdk-nag's AwsSolutions findings, and cfn-lint on the template.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DEFAULTS, REPO_ROOT, S3MigrateSettings, configurationMistakes, loadSettings, validate } from '../lib/config';
import { S3MigrateStack } from '../lib/s3-migrate-stack';

const PAIRS = [
  { src_bucket: 'src-a', src_prefix: 'data/', des_bucket: 'des-a', des_prefix: 'copy' },
  { src_bucket: 'src-b', src_prefix: '', des_bucket: 'des-b', des_prefix: '' },
];
const IGNORE = fs.readFileSync(path.join(REPO_ROOT, 'ignore-list.txt'), 'utf8');

function settings(over: Partial<S3MigrateSettings> = {}): S3MigrateSettings {
  return { ...DEFAULTS, bucketPairs: PAIRS, ignoreList: IGNORE, jobType: 'PUT', ...over };
}

const fakePackage = (() => {
  let dir: string | undefined;
  return () => {
    dir ??= fs.mkdtempSync(path.join(os.tmpdir(), 's3m-pkg-'));
    fs.writeFileSync(path.join(dir, 'bootstrap'), '#!/bin/sh\n');
    return lambda.Code.fromAsset(dir);
  };
})();

function synth(over: Partial<S3MigrateSettings> = {}, code?: { worker: lambda.Code; jobsender: lambda.Code }) {
  const app = new App();
  const stack = new S3MigrateStack(app, 'S3MigrateTest', {
    settings: settings(over),
    workerCode: code?.worker ?? fakePackage(),
    jobsenderCode: code?.jobsender ?? fakePackage(),
    deployStamp: '2026-01-01T00:00:00Z',
    env: { account: '111122223333', region: 'eu-west-1' },
  });
  return { app, stack, template: Template.fromStack(stack) };
}

type Resource = { Type: string; Properties: Record<string, any> };

function resources(t: Template, type: string): [string, Resource][] {
  return Object.entries(t.findResources(type)) as [string, Resource][];
}

function onlyResource(t: Template, type: string, props: Record<string, unknown> = {}): [string, Resource] {
  const found = Object.entries(t.findResources(type, { Properties: Match.objectLike(props) })) as [string, Resource][];
  assert.equal(found.length, 1, `exactly one ${type} like ${JSON.stringify(props)}`);
  return found[0];
}

/** Every policy statement attached to the role whose logical id starts with `rolePrefix`. */
function statementsOf(t: Template, rolePrefix: string): any[] {
  return resources(t, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: any) => String(r.Ref).startsWith(rolePrefix)))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (st: any): string[] => [st.Action].flat();
const allActions = (sts: any[]) => new Set(sts.flatMap(actionsOf));

test('queue and DLQ: 14-day retention, redrive, visibility longer than the worker timeout, TLS only', () => {
  const { template } = synth();
  const [dlqId] = onlyResource(template, 'AWS::SQS::Queue', { MessageRetentionPeriod: 1209600, RedrivePolicy: Match.absent() });
  onlyResource(template, 'AWS::SQS::Queue', {
    VisibilityTimeout: 1200,
    MessageRetentionPeriod: 1209600,
    SqsManagedSseEnabled: true,
    RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
  });
  const policies = resources(template, 'AWS::SQS::QueuePolicy');
  assert.equal(policies.length, 2, 'both queues deny non-TLS access');
  for (const [, p] of policies) {
    assert.ok(p.Properties.PolicyDocument.Statement.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'));
  }
  const custom = synth({ queueVisibilityTimeoutSeconds: 3600, maxReceiveCount: 9 }).template;
  onlyResource(custom, 'AWS::SQS::Queue', { VisibilityTimeout: 3600, RedrivePolicy: Match.objectLike({ maxReceiveCount: 9 }) });
});

test('worker: arm64 provided.al2023, 15 minutes, memory and reserved concurrency, every setting in its environment', () => {
  const { template } = synth({ workerMemoryMiB: 2048, workerReservedConcurrency: 30, workerMaxConcurrency: 20, workerBatchSize: 2, workerEnvironment: { MaxThread: '8', TransferMode: 'stream' } });
  const [workerId, worker] = onlyResource(template, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('worker') });
  assert.equal(worker.Properties.Runtime, 'provided.al2023');
  assert.deepEqual(worker.Properties.Architectures, ['arm64']);
  assert.equal(worker.Properties.Handler, 'bootstrap');
  assert.equal(worker.Properties.Timeout, 900);
  assert.equal(worker.Properties.MemorySize, 2048);
  assert.equal(worker.Properties.ReservedConcurrentExecutions, 30);
  const env = worker.Properties.Environment.Variables;
  for (const v of ['table_queue_name', 'sqs_queue', 'JobType', 'ssm_parameter_credentials', 'DeadLetterQueueUrl', 'ssm_parameter_bucket']) {
    assert.ok(v in env, `worker env has ${v}`);
  }
  assert.equal(env.ssm_parameter_bucket, 's3_migration_bucket_para', 'the worker checks each job against the pairs');
  assert.equal(env.ssm_parameter_ignore_list, 's3_migrate_ignore_list', 'S3 events honour the ignore list');
  assert.ok(!('EventSourceBuckets' in env), 'none without event sources');
  const workerRoleId = worker.Properties.Role['Fn::GetAtt'][0];
  const reads = resources(template, 'AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref === workerRoleId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
    .filter((st) => [st.Action].flat().includes('ssm:GetParameter'));
  assert.ok(reads.length > 0, 'the worker may read the bucket pairs parameter');
  assert.equal(env.JobType, 'PUT');
  assert.equal(env.ssm_parameter_credentials, 's3_migration_credentials');
  assert.equal(env.MaxThread, '8');
  assert.equal(env.TransferMode, 'stream');
  assert.equal(env.MaxReceiveCount, '5', 'a packed object gets the tries of a single message');
  assert.equal(env.MaxParallelFile, '16', 'objects of a pack copied at once, by default');
  const own = synth({ workerEnvironment: { MaxParallelFile: '4', ResumableThreshold: '1048576' } }).template;
  const [, w2] = onlyResource(own, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('worker') });
  assert.equal(w2.Properties.Environment.Variables.MaxParallelFile, '4', 'the user setting wins');
  const [, js2] = onlyResource(own, 'AWS::Lambda::Function', { FunctionName: 'S3MigrateTest-jobsender' });
  assert.equal(js2.Properties.Environment.Variables.ResumableThreshold, '1048576', 'the jobsender packs by the worker threshold');
  onlyResource(template, 'AWS::Lambda::EventSourceMapping', {
    FunctionName: { Ref: workerId },
    BatchSize: 2,
    ScalingConfig: { MaximumConcurrency: 20 },
    FunctionResponseTypes: ['ReportBatchItemFailures'],
  });
});

test('jobsender: hourly rule, run after each deploy, may re-invoke only itself', () => {
  const { template } = synth({ jobsenderSchedule: 'rate(2 hours)' });
  const [jsId, js] = onlyResource(template, 'AWS::Lambda::Function', { FunctionName: 'S3MigrateTest-jobsender' });
  assert.equal(js.Properties.Runtime, 'provided.al2023');
  assert.deepEqual(js.Properties.Architectures, ['arm64']);
  assert.equal(js.Properties.Timeout, 900);
  assert.equal(js.Properties.ReservedConcurrentExecutions, 1);
  const env = js.Properties.Environment.Variables;
  assert.equal(env.ssm_parameter_bucket, 's3_migration_bucket_para');
  assert.equal(env.ssm_parameter_ignore_list, 's3_migrate_ignore_list');
  onlyResource(template, 'AWS::Events::Rule', {
    ScheduleExpression: 'rate(2 hours)',
    Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [jsId, 'Arn'] } })],
  });
  assert.equal(synth().template.findResources('AWS::Events::Rule', { Properties: { ScheduleExpression: 'rate(1 hour)' } }) !== undefined, true);
  // Run after deploy: a custom resource invoking the jobsender asynchronously, with a stamp that changes per deploy.
  const [, run] = onlyResource(template, 'Custom::AWS');
  const create = JSON.stringify(run.Properties.Create).replace(/\\/g, '');
  assert.match(create, /"action":"invoke"/);
  assert.match(create, /"InvocationType":"Event"/);
  assert.match(create, /2026-01-01T00:00:00Z/);
  assert.ok(run.Properties.Update, 'runs on every update too');
  const self = statementsOf(template, 'JobsenderRole').find((s) => s.Sid === 'ContinueItself');
  assert.ok(self, 'jobsender may invoke itself');
  assert.match(JSON.stringify(self.Resource), /function:S3MigrateTest-jobsender"/);
  const off = synth({ runJobsenderAfterDeploy: false }).template;
  assert.equal(resources(off, 'Custom::AWS').length, 0);
});

test('ledger table: Key, no index, on demand, point-in-time recovery, TTL, retained', () => {
  const { template } = synth();
  const [, table] = onlyResource(template, 'AWS::DynamoDB::Table', {
    KeySchema: [{ AttributeName: 'Key', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
    PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    TimeToLiveSpecification: { AttributeName: 'expireAt', Enabled: true },
  });
  assert.ok(table);
  assert.equal(table.Properties.GlobalSecondaryIndexes, undefined, 'no index doubling every write');
  template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  synth({ retainTable: false }).template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
});

test('SSM: bucket pairs and the ignore list as parameters; the SecureString only by name, any version', () => {
  const { template } = synth();
  onlyResource(template, 'AWS::SSM::Parameter', { Name: 's3_migration_bucket_para', Value: JSON.stringify(PAIRS), Type: 'String' });
  onlyResource(template, 'AWS::SSM::Parameter', { Name: 's3_migrate_ignore_list', Value: IGNORE, Tier: 'Standard' });
  const credentialReaders = resources(template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties).includes('s3_migration_credentials'));
  const roles = credentialReaders.flatMap(([, p]) => p.Properties.Roles.map((r: any) => r.Ref)).sort();
  assert.equal(roles.length, 2);
  assert.ok(roles[0].startsWith('JobsenderRole') && roles[1].startsWith('WorkerRole'), JSON.stringify(roles));
  for (const [, p] of credentialReaders) {
    const text = JSON.stringify(p.Properties);
    assert.match(text, /:parameter\/s3_migration_credentials"/, 'no version pinned');
  }
  // Without JobType nobody reads the SecureString.
  const oneAccount = synth({ jobType: undefined }).template;
  assert.ok(!JSON.stringify(oneAccount.toJSON()).includes(':parameter/s3_migration_credentials'));
  // A long ignore list moves to the advanced tier.
  const big = synth({ ignoreList: '*.tmp\n'.repeat(1000) }).template;
  onlyResource(big, 'AWS::SSM::Parameter', { Name: 's3_migrate_ignore_list', Tier: 'Advanced' });
});

test('S3 event notifications for same-account buckets, the queue policy limited by source ARN and account', () => {
  // Events of src-a go where its pair sends its objects (des-a under copy/).
  const { template } = synth({ eventSourceBuckets: ['src-a'], eventDestinationBucket: 'des-a', eventDestinationPrefix: 'copy' });
  const [, n] = onlyResource(template, 'Custom::S3BucketNotifications');
  const queueConfigs = n.Properties.NotificationConfiguration.QueueConfigurations;
  assert.equal(queueConfigs.length, 1);
  assert.deepEqual(queueConfigs[0].Events, ['s3:ObjectCreated:*']);
  assert.deepEqual(queueConfigs[0].Filter, { Key: { FilterRules: [{ Name: 'prefix', Value: 'data/' }] } });
  const statements = resources(template, 'AWS::SQS::QueuePolicy').flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
  const s3Statement = statements.find((s) => s.Principal?.Service === 's3.amazonaws.com');
  assert.ok(s3Statement, 'S3 may send to the queue');
  assert.ok(s3Statement.Condition.ArnLike['aws:SourceArn'], 'limited by bucket');
  assert.equal(s3Statement.Condition.StringEquals['aws:SourceAccount'], '111122223333');
  const [, worker] = onlyResource(template, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('worker') });
  assert.equal(worker.Properties.Environment.Variables.Des_bucket_default, 'des-a');
  assert.equal(worker.Properties.Environment.Variables.Des_prefix_default, 'copy');
  assert.ok(worker.Properties.Environment.Variables.EventSourceBuckets.split(',').length >= 1, 'event sources named');
  assert.equal(resources(synth().template, 'Custom::S3BucketNotifications').length, 0, 'none unless asked');
});

test('alarms to an SNS topic with an e-mail subscription, and a dashboard', () => {
  const { template } = synth({ alarmEmail: 'ops@example.com', oldestMessageAlarmSeconds: 7200 });
  const [topicId] = onlyResource(template, 'AWS::SNS::Topic');
  onlyResource(template, 'AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: { Ref: topicId } });
  const alarms = resources(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const byMetric = (ns: string, name: string) => alarms.find((a) => a.Namespace === ns && a.MetricName === name);
  assert.equal(byMetric('AWS/SQS', 'ApproximateNumberOfMessagesVisible')?.Threshold, 0, 'DLQ not empty');
  assert.equal(byMetric('AWS/SQS', 'ApproximateAgeOfOldestMessage')?.Threshold, 7200);
  assert.equal(alarms.filter((a) => a.Namespace === 'AWS/Lambda' && a.MetricName === 'Errors').length, 2, 'worker and jobsender errors');
  for (const a of alarms) assert.deepEqual(a.AlarmActions, [{ Ref: topicId }]);
  const [, dash] = onlyResource(template, 'AWS::CloudWatch::Dashboard');
  const body = JSON.stringify(dash.Properties.DashboardBody);
  for (const m of ['BytesTransferred', 'ObjectsCompleted', 'ObjectsFailed', 'PartsUploaded', 'ObjectSeconds', 'JobsEnqueued', 'ApproximateNumberOfMessagesNotVisible', 'Throttles', 'ConcurrentExecutions', 'Duration']) {
    assert.ok(body.includes(m), `dashboard shows ${m}`);
  }
  assert.equal(resources(synth().template, 'AWS::SNS::Subscription').length, 0, 'no e-mail, no subscription');
});

test('IAM: only the S3 actions each function uses, on named buckets and prefixes; no * resource', () => {
  const { template } = synth();
  const worker = statementsOf(template, 'WorkerRole');
  const jobsender = statementsOf(template, 'JobsenderRole');
  for (const st of [...worker, ...jobsender]) {
    assert.notEqual(st.Resource, '*', `statement ${JSON.stringify(st)} names its resources`);
    assert.ok(![st.Resource].flat().includes('*'), JSON.stringify(st));
    assert.ok(!actionsOf(st).some((a) => a.endsWith(':*')), `no service wildcard: ${JSON.stringify(st)}`);
  }
  // PUT: this account reads the sources; the destinations are reached with the SecureString's keys.
  const read = worker.find((s) => s.Sid === 'ReadSourceObjects');
  assert.deepEqual(new Set(actionsOf(read)), new Set(['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging']));
  assert.match(JSON.stringify(read.Resource), /s3:::src-a\/data\/\*/);
  assert.match(JSON.stringify(read.Resource), /s3:::src-b\/\*/);
  assert.ok(!worker.some((s) => s.Sid === 'WriteDestinationObjects'), 'PUT: no destination writes from this role');
  assert.ok(!allActions(jobsender).has('s3:GetObject'), 'the jobsender reads no objects');
  assert.ok(allActions(jobsender).has('s3:ListBucket'));
  assert.ok(!allActions(worker).has('s3:DeleteObject'), 'no deletes unless PropagateDeletes');
  // GET: this account writes the destinations.
  const get = synth({ jobType: 'GET', forwardedEvents: true, workerEnvironment: { PropagateDeletes: 'true' } }).template;
  const getWorker = statementsOf(get, 'WorkerRole');
  const write = getWorker.find((s) => s.Sid === 'WriteDestinationObjects');
  assert.ok(actionsOf(write).includes('s3:PutObject') && actionsOf(write).includes('s3:AbortMultipartUpload') && actionsOf(write).includes('s3:DeleteObject'));
  assert.match(JSON.stringify(write.Resource), /s3:::des-a\/copy\/data\/\*/, 'destination prefix is des_prefix/src_prefix');
  assert.ok(!getWorker.some((s) => s.Sid === 'ReadSourceObjects'), 'GET: no source reads from this role');
  // No JobType: one account, both sides.
  const both = statementsOf(synth({ jobType: undefined }).template, 'WorkerRole').map((s) => s.Sid);
  assert.ok(both.includes('ReadSourceObjects') && both.includes('WriteDestinationObjects'));
  // Our roles carry no managed policies.
  for (const [id, r] of resources(template, 'AWS::IAM::Role')) {
    if (id.startsWith('WorkerRole') || id.startsWith('JobsenderRole')) assert.equal(r.Properties.ManagedPolicyArns, undefined);
  }
});

test('KMS, ACL, Object Lock and restore grants exist exactly when their settings ask for them', () => {
  const SRC_KEY = 'arn:aws:kms:us-east-1:111122223333:key/1111aaaa-2222-bbbb-3333-cccc4444dddd';
  const DES_KEY = 'arn:aws:kms:us-east-1:111122223333:key/5555eeee-6666-ffff-7777-000088889999';
  // None by default.
  const plain = statementsOf(synth({ jobType: undefined }).template, 'WorkerRole');
  for (const a of ['kms:Decrypt', 'kms:GenerateDataKey', 's3:PutObjectAcl', 's3:PutObjectRetention', 's3:GetObjectRetention']) {
    assert.ok(!allActions(plain).has(a), `no ${a} unless asked`);
  }
  assert.ok(!allActions(statementsOf(synth().template, 'JobsenderRole')).has('s3:RestoreObject'));
  // Both sides in this account: decrypt the source key, encrypt with the destination key.
  const { template } = synth({
    jobType: undefined,
    sourceKmsKeyArns: [SRC_KEY],
    destinationKmsKeyArn: DES_KEY,
    workerEnvironment: { DestinationACL: 'bucket-owner-full-control', CopyObjectLock: 'true' },
    jobsenderEnvironment: { ArchivedObjects: 'restore' },
  });
  const worker = statementsOf(template, 'WorkerRole');
  const decrypt = worker.find((s) => s.Sid === 'DecryptSourceObjects');
  assert.deepEqual(actionsOf(decrypt), ['kms:Decrypt']);
  assert.deepEqual([decrypt.Resource].flat(), [SRC_KEY]);
  const encrypt = worker.find((s) => s.Sid === 'EncryptDestinationObjects');
  assert.deepEqual(new Set(actionsOf(encrypt)), new Set(['kms:GenerateDataKey', 'kms:Decrypt']));
  assert.deepEqual([encrypt.Resource].flat(), [DES_KEY]);
  const write = worker.find((s) => s.Sid === 'WriteDestinationObjects');
  for (const a of ['s3:PutObjectAcl', 's3:PutObjectRetention', 's3:PutObjectLegalHold']) assert.ok(actionsOf(write).includes(a), a);
  const read = worker.find((s) => s.Sid === 'ReadSourceObjects');
  for (const a of ['s3:GetObjectRetention', 's3:GetObjectLegalHold']) assert.ok(actionsOf(read).includes(a), a);
  const [, fn] = onlyResource(template, 'AWS::Lambda::Function', { Description: Match.stringLikeRegexp('worker') });
  assert.equal(fn.Properties.Environment.Variables.DestinationSSE, 'aws:kms');
  assert.equal(fn.Properties.Environment.Variables.DestinationKMSKeyId, DES_KEY);
  const restore = statementsOf(template, 'JobsenderRole').find((s) => s.Sid === 'RestoreArchivedSourceObjects');
  assert.deepEqual(actionsOf(restore), ['s3:RestoreObject']);
  // PUT: the destination is reached with the SecureString's keys, so no destination key grant here.
  const put = statementsOf(synth({ jobType: 'PUT', sourceKmsKeyArns: [SRC_KEY], destinationKmsKeyArn: DES_KEY }).template, 'WorkerRole');
  assert.ok(put.some((s) => s.Sid === 'DecryptSourceObjects'));
  assert.ok(!put.some((s) => s.Sid === 'EncryptDestinationObjects'), 'the other account grants its own key');
});

test('outputs: queue URL, DLQ URL, table name, dashboard link', () => {
  const outputs = synth().template.toJSON().Outputs;
  for (const o of ['QueueUrl', 'DeadLetterQueueUrl', 'TableName', 'DashboardUrl']) assert.ok(outputs[o], `output ${o}`);
  assert.match(JSON.stringify(outputs.DashboardUrl.Value), /dashboards:name=S3MigrateTest-dashboard/);
});

test('cdk-nag AwsSolutions: no finding that is not acknowledged with its reason', () => {
  for (const over of [{}, { eventSourceBuckets: ['src-a'], eventDestinationBucket: 'des-a', eventDestinationPrefix: 'copy', alarmEmail: 'a@example.com' }, { jobType: undefined }]) {
    const { app, stack } = synth(over as Partial<S3MigrateSettings>);
    const report = new AwsSolutionsChecks(app).validateScope(stack);
    const show = report.violations
      .map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath ?? r.resourceLogicalId).join(', ')}`)
      .join('\n');
    assert.equal(report.violations.length, 0, show);
    assert.ok(report.success);
  }
});

/** The template with every optional part (event sources, alarms by e-mail), written to a file for the linters. */
function fullTemplateFile(): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 's3m-template-')), 'template.json');
  const { template } = synth({ eventSourceBuckets: ['src-a'], eventDestinationBucket: 'des-a', eventDestinationPrefix: 'copy', alarmEmail: 'a@example.com' });
  fs.writeFileSync(file, JSON.stringify(template.toJSON(), null, 1));
  return file;
}

test('cfn-lint: no error on the synthesized template', () => {
  const cfnLint = process.env.CFN_LINT ?? [path.join(__dirname, '..', '..', '.venv', 'bin', 'cfn-lint')].find(fs.existsSync) ?? 'cfn-lint';
  const file = fullTemplateFile();
  const r = spawnSync(cfnLint, ['--format', 'parseable', file], { encoding: 'utf8' });
  assert.ok(!r.error, `cfn-lint could not run (${r.error?.message}); scripts/test.sh installs it into infra/.venv`);
  // cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
  assert.equal((r.status ?? 2) & 2, 0, `cfn-lint errors:\n${r.stdout}${r.stderr}`);
});

test('settings: bad values are named; the sample config loads', () => {
  const bad: [Partial<S3MigrateSettings>, RegExp][] = [
    [{ bucketPairs: [] }, /bucketPairs/],
    [{ bucketPairs: [{ src_bucket: 'a', des_bucket: ' ' }] }, /bucketPairs\[0\]\.des_bucket/],
    [{ jobType: 'POST' as any }, /jobType/],
    [{ eventSourceBuckets: ['a'] }, /eventDestinationBucket/],
    [{ workerMaxConcurrency: 1 }, /workerMaxConcurrency/],
    [{ workerReservedConcurrency: 10, workerMaxConcurrency: 20 }, /workerReservedConcurrency/],
    [{ queueVisibilityTimeoutSeconds: 600 }, /queueVisibilityTimeoutSeconds/],
    [{ workerEnvironment: { sqs_queue: 'x' } }, /sqs_queue is set by the stack/],
    [{ sourceKmsKeyArns: ['alias/mine'] }, /sourceKmsKeyArns\[0\]/],
    [{ eventSourceBuckets: ['src-a'], eventDestinationBucket: 'des-a', eventDestinationPrefix: 'events' }, /events of src-a go to des-a\/events\/ .* des-a\/copy\//],
    [{ destinationKmsKeyArn: 'key-1' }, /destinationKmsKeyArn/],
    [{ destinationKmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/abc', workerEnvironment: { DestinationSSE: 'AES256' } }, /DestinationSSE/],
  ];
  for (const [over, msg] of bad) assert.throws(() => validate(settings(over)), msg);
  const sample = loadSettings(path.join(__dirname, '..', '..', 'config', 's3-migrate.json'));
  assert.ok(sample.bucketPairs.length > 0);
  assert.equal(sample.ignoreList, IGNORE, 'the ignore list defaults to the repo file');
  assert.throws(() => loadSettings('/nonexistent.json'), /cannot read \/nonexistent.json/);
});

test('configuration mistakes are caught at synth, each naming its settings', () => {
  const pair = (src_bucket: string, src_prefix: string, des_bucket: string, des_prefix: string) => ({ src_bucket, src_prefix, des_bucket, des_prefix });
  const mistakes: [string, Partial<S3MigrateSettings>, RegExp][] = [
    ['copies written into their own source, whole bucket', { bucketPairs: [pair('b', '', 'b', 'backup')] }, /bucketPairs\[0\] \(b\/ -> b\/backup\/\) writes its copies inside its own source \(b\/backup\/\)/],
    ['copies written under their own source prefix', { bucketPairs: [pair('b', 'data/', 'b', 'data/copy')] }, /bucketPairs\[0\].*inside its own source \(b\/data\/copy\/data\/\)/],
    ['a pair onto itself', { bucketPairs: [pair('b', 'x/', 'b', '')] }, /bucketPairs\[0\].*inside its own source/],
    ['two pairs copying into each other', { bucketPairs: [pair('x', '', 'y', ''), pair('y', '', 'x', '')] }, /bucketPairs\[0\].*loop of pairs/],
    ['one source object sent to two places', { bucketPairs: [pair('a', 'logs/', 'd1', ''), pair('a', 'logs/2024/', 'd2', '')] }, /bucketPairs\[0\].*and bucketPairs\[1\].*share source objects/],
    [
      'event copies notified again',
      { eventSourceBuckets: ['drop'], eventDestinationBucket: 'drop', eventDestinationPrefix: 'copied' },
      /eventDestinationBucket drop is also in eventSourceBuckets: events of drop\/ are copied to drop\/copied\//,
    ],
    ['deletes asked for, none delivered', { workerEnvironment: { PropagateDeletes: 'true' } }, /workerEnvironment.PropagateDeletes .* no eventSourceBuckets/],
    ['events from the other account', { eventSourceBuckets: ['des-b'], eventDestinationBucket: 'elsewhere' }, /eventSourceBuckets names des-b, a destination bucket; with jobType PUT/],
  ];
  for (const [what, over, msg] of mistakes) {
    assert.throws(() => synth(over), msg, what);
  }
  // What is close to those mistakes but works: a copy beside its source in one bucket, a chain
  // of pairs (staging), overlapping sources with one destination, events copied elsewhere.
  const fine: Partial<S3MigrateSettings>[] = [
    { bucketPairs: [pair('b', 'data/', 'b', 'archive')] },
    { bucketPairs: [pair('x', 'in/', 'y', 'stage'), pair('y', 'stage/', 'z', '')] },
    { bucketPairs: [pair('a', 'logs/', 'd', 'c'), pair('a', 'logs/2024/', 'd', 'c/')] },
    { eventSourceBuckets: ['drop'], eventDestinationBucket: 'kept', workerEnvironment: { PropagateDeletes: 'true' } },
    { jobType: 'GET', forwardedEvents: true, workerEnvironment: { PropagateDeletes: 'true' } },
  ];
  for (const over of fine) assert.deepEqual(configurationMistakes(settings(over)), [], JSON.stringify(over));
});

test('PropagateDeletes wires ObjectRemoved events beside ObjectCreated', () => {
  const { template } = synth({
    eventSourceBuckets: ['src-a'],
    eventDestinationBucket: 'des-a',
    eventDestinationPrefix: 'copy',
    workerEnvironment: { PropagateDeletes: 'true' },
  });
  const [, n] = onlyResource(template, 'Custom::S3BucketNotifications');
  const events = n.Properties.NotificationConfiguration.QueueConfigurations.map((c: any) => c.Events).flat().sort();
  assert.deepEqual(events, ['s3:ObjectCreated:*', 's3:ObjectRemoved:*']);
});

// The packages scripts/package.sh builds (S3M_LAMBDA_DIR, else target/lambda). scripts/test.sh
// builds them first and sets S3M_REQUIRE_PACKAGES=1, so there they cannot be missing.
const LAMBDA_DIR = process.env.S3M_LAMBDA_DIR ?? path.join(REPO_ROOT, 'target', 'lambda');
const packageZip = (name: string) => path.join(LAMBDA_DIR, name, 'bootstrap.zip');
const packagesBuilt = ['worker', 'jobsender'].every((n) => fs.existsSync(packageZip(n)));

test('the real Lambda packages: each function deploys the bytes of its own zip, arm64 provided.al2023', (t) => {
  if (!packagesBuilt) {
    assert.ok(!process.env.S3M_REQUIRE_PACKAGES, `the Lambda packages are missing under ${LAMBDA_DIR}: run scripts/package.sh`);
    t.skip(`no packages under ${LAMBDA_DIR} (scripts/package.sh builds them)`);
    return;
  }
  const { app, template } = synth({}, { worker: lambda.Code.fromAsset(packageZip('worker')), jobsender: lambda.Code.fromAsset(packageZip('jobsender')) });
  const assembly = app.synth();
  const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'S3MigrateTest.assets.json'), 'utf8'));
  const keys = new Set<string>();
  const functions: [string, Record<string, unknown>][] = [
    ['worker', { Description: Match.stringLikeRegexp('worker') }],
    ['jobsender', { FunctionName: 'S3MigrateTest-jobsender' }],
  ];
  for (const [name, props] of functions) {
    const [, fn] = onlyResource(template, 'AWS::Lambda::Function', props);
    assert.equal(fn.Properties.Runtime, 'provided.al2023', name);
    assert.deepEqual(fn.Properties.Architectures, ['arm64'], name);
    assert.equal(fn.Properties.Handler, 'bootstrap', name);
    const key: string = fn.Properties.Code.S3Key;
    const hash = key.replace(/\.zip$/, '');
    keys.add(key);
    const asset = manifest.files[hash];
    assert.ok(asset, `${name}: asset ${hash} in the assembly`);
    assert.equal(asset.source.packaging, 'file', `${name}: the zip is deployed as it is, not zipped again`);
    assert.equal(sha(path.join(assembly.directory, asset.source.path)), sha(packageZip(name)), `${name}: the deployed bytes are its zip's`);
  }
  assert.equal(keys.size, 2, 'two packages, not one deployed twice');
});

test('sam validate --lint: SAM CLI accepts the synthesized template', () => {
  const sam = process.env.SAM_CLI ?? [path.join(__dirname, '..', '..', '.sam-venv', 'bin', 'sam')].find(fs.existsSync) ?? 'sam';
  const file = fullTemplateFile();
  const env = { ...process.env, AWS_DEFAULT_REGION: 'eu-west-1', SAM_CLI_TELEMETRY: '0' };
  // From infra/, whose .cfnlintrc says which cfn-lint warning the CDK's own output may raise.
  const r = spawnSync(sam, ['validate', '--lint', '--template-file', file], { encoding: 'utf8', env, cwd: path.join(__dirname, '..', '..') });
  assert.ok(!r.error, `sam could not run (${r.error?.message}); scripts/test.sh installs aws-sam-cli into infra/.sam-venv`);
  assert.equal(r.status, 0, `sam validate --lint:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout + r.stderr, /is a valid SAM Template/);
});
