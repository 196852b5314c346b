#!/usr/bin/env node
// The CDK app: settings from config/s3-migrate.json (or -c settings=FILE), the Lambda packages
// built by `cargo lambda build --release --arm64 --output-format zip` in the repo root.
import * as fs from 'fs';
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadSettings, REPO_ROOT } from '../lib/config';
import { S3MigrateStack } from '../lib/s3-migrate-stack';

const app = new App();
const settingsFile = app.node.tryGetContext('settings') ?? path.join(__dirname, '..', '..', 'config', 's3-migrate.json');
const settings = loadSettings(settingsFile);

function lambdaPackage(name: string): lambda.Code {
  const zip = app.node.tryGetContext(`${name}Zip`) ?? path.join(REPO_ROOT, 'target', 'lambda', name, 'bootstrap.zip');
  if (!fs.existsSync(zip)) {
    throw new Error(
      `the ${name} Lambda package ${zip} is missing: build it first in the repo root with\n` +
        `  cargo lambda build --release --arm64 --output-format zip`,
    );
  }
  return lambda.Code.fromAsset(zip);
}

new S3MigrateStack(app, app.node.tryGetContext('stackName') ?? 'S3Migrate', {
  settings,
  workerCode: lambdaPackage('worker'),
  jobsenderCode: lambdaPackage('jobsender'),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 's3-migrate: serverless S3 bucket-to-bucket migration',
});
// Synthesis stops on any AwsSolutions finding that is not acknowledged (lib/nag.ts).
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
