// Alarms to an SNS topic and one dashboard, from the worker's and jobsender's EMF metrics
// (namespace `s3_migrate`, no log metric filters needed) and the queue and Lambda metrics.
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subs from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** CloudWatch namespace of the EMF metrics (core/src/emf.rs). */
export const METRIC_NAMESPACE = 's3_migrate';

export interface ObservabilityProps {
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  worker: lambda.IFunction;
  jobsender: lambda.IFunction;
  alarmEmail?: string;
  oldestMessageAlarmSeconds: number;
  dashboardName: string;
}

const FIVE_MINUTES = Duration.minutes(5);

const emf = (name: string, statistic = 'Sum', label?: string) =>
  new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName: name, statistic, period: FIVE_MINUTES, label });

export class Observability extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 's3-migrate alarms', enforceSSL: true });
    if (props.alarmEmail) {
      this.topic.addSubscription(new subs.EmailSubscription(props.alarmEmail));
    }

    const dlqDepth = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1), statistic: 'Maximum' });
    const oldest = props.queue.metricApproximateAgeOfOldestMessage({ period: FIVE_MINUTES, statistic: 'Maximum' });
    this.alarms = [
      new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
        alarmDescription: 'Jobs reached the dead-letter queue: read the worker log for their reasons, then redrive them.',
        metric: dlqDepth,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'WorkerErrors', {
        alarmDescription: 'The worker Lambda failed invocations (crashes or timeouts, not job failures it reported).',
        metric: props.worker.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'JobsenderErrors', {
        alarmDescription: 'A jobsender run failed: a bucket pair, the queue or the ledger could not be reached.',
        metric: props.jobsender.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      new cloudwatch.Alarm(this, 'OldestJobAge', {
        alarmDescription: `The oldest queued job waited more than ${props.oldestMessageAlarmSeconds} s: the workers are not keeping up or not running.`,
        metric: oldest,
        threshold: props.oldestMessageAlarmSeconds,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 3,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    ];
    for (const a of this.alarms) {
      a.addAlarmAction(new actions.SnsAction(this.topic));
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.dashboardName });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Bytes copied (per 5 min)',
        left: [emf('BytesTransferred', 'Sum', 'bytes')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Objects',
        left: [emf('ObjectsCompleted', 'Sum', 'completed'), emf('ObjectsFailed', 'Sum', 'failed'), emf('PartsUploaded', 'Sum', 'parts')],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Seconds per object',
        left: [emf('ObjectSeconds', 'Average', 'average'), emf('ObjectSeconds', 'p99', 'p99')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Queue',
        left: [
          props.queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, label: 'queued' }),
          props.queue.metricApproximateNumberOfMessagesNotVisible({ period: FIVE_MINUTES, label: 'in flight' }),
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, label: 'dead-lettered' }),
        ],
        right: [oldest.with({ label: 'oldest job (s)' })],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Jobsender',
        left: [
          new cloudwatch.MathExpression({
            expression: `SUM(SEARCH('{${METRIC_NAMESPACE},Pair} MetricName="JobsEnqueued"', 'Sum', 3600))`,
            label: 'jobs enqueued',
            period: Duration.hours(1),
          }),
        ],
        right: [props.jobsender.metricErrors({ period: Duration.hours(1), label: 'errors' })],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Worker Lambda',
        left: [
          props.worker.metricInvocations({ period: FIVE_MINUTES }),
          props.worker.metricErrors({ period: FIVE_MINUTES }),
          props.worker.metricThrottles({ period: FIVE_MINUTES }),
        ],
        right: [props.worker.metricDuration({ period: FIVE_MINUTES, statistic: 'p90' })],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Worker concurrency',
        left: [props.worker.metric('ConcurrentExecutions', { period: FIVE_MINUTES, statistic: 'Maximum' })],
        width: 12,
      }),
    );
  }
}
