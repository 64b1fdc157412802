/**
 * The `release` action: the release engine's commands for the reusable release workflow.
 * `plan` compiles and checks the plan in preflight (environments' protection rules included),
 * `start` creates the deployment record, `guard` starts every later job, `record` ends it,
 * `records` gives the rollback what the release changed, `approval` names the approver, and
 * `report` renders the release report and sets the deployment's final status.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import {
  actionsLogger,
  annotate,
  inputs,
  output,
  runAction,
  summary,
} from '../../../src/github/action.js';
import {
  createDeployment,
  setDeploymentStatus,
  targetFromEnv,
} from '../../../src/github/deployments.js';
import { environmentProtection, runApprovals } from '../../../src/github/environments.js';
import { ConfigError } from '../../../src/errors.js';
import { runInfo } from '../../../src/runinfo.js';
import {
  approvalCommand,
  guardCommand,
  planCommand,
  WORKFLOW_SECRETS,
} from '../../../src/release/command.js';
import { checkProtection } from '../../../src/release/protection.js';
import {
  readRecords,
  readRelease,
  RECORDS_DIR,
  rollbackInputs,
  writeRecord,
} from '../../../src/release/records.js';
import { renderReport } from '../../../src/release/report.js';
import { workflowReport, type NeedsJob } from '../../../src/release/workflow-report.js';

const COMMANDS = ['plan', 'start', 'guard', 'record', 'records', 'approval', 'report'] as const;
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const attempt = () => Number(process.env.GITHUB_RUN_ATTEMPT || 0);
const workspace = () => process.env.GITHUB_WORKSPACE || process.cwd();

await runAction(async () => {
  const command = inputs.choice('command', COMMANDS);
  const token = () => inputs.secret('token', { required: true });
  const release = () => readRelease(inputs.string('release', { required: true }));
  switch (command) {
    case 'plan': {
      const secrets = Object.fromEntries(WORKFLOW_SECRETS.map((n) => [n, process.env[n]]));
      const { release: r, outputs } = planCommand({
        plan: inputs.string('plan', { required: true }),
        environment: inputs.string('environment', { required: true }),
        root: workspace(),
        secrets,
        attempt: attempt(),
      });
      if (inputs.string('token')) {
        const target = targetFromEnv(token());
        const check = checkProtection(
          await environmentProtection(target, r.environment),
          await environmentProtection(target, r.promotionEnvironment),
        );
        annotate(check.warnings.map((message) => ({ level: 'warning' as const, message })));
        if (check.errors.length) throw new ConfigError(check.errors.join('\n'));
      }
      output('started-at', now());
      output('release', r);
      for (const [k, v] of Object.entries(outputs)) output(k, v);
      actionsLogger.info(`compiled release ${r.package}: ${r.jobs.map((j) => j.id).join(' → ')}`);
      return;
    }
    case 'start': {
      const r = release();
      const info = runInfo();
      const id = await createDeployment(targetFromEnv(token()), {
        ref: inputs.string('ref') || process.env.GITHUB_SHA || '',
        environment: r.environment,
        description: `release ${r.package}`,
        payload: { package: r.package },
      });
      await setDeploymentStatus(targetFromEnv(token()), id, {
        state: 'in_progress',
        logUrl: info.runUrl,
        description: 'preflight passed',
      });
      output('deployment-id', String(id));
      return;
    }
    case 'guard': {
      const leg = inputs.number('leg', 0, { min: 0 });
      guardCommand({
        release: inputs.string('release', { required: true }),
        job: inputs.string('job', { required: true }),
        attempt: attempt(),
        leg,
      });
      output('started-at', now());
      return;
    }
    case 'record': {
      const steps = inputs.string('steps', { default: '{}' });
      const started = /"started-at":\s*"([^"]+)"/.exec(steps)?.[1];
      writeRecord(RECORDS_DIR, {
        job: inputs.string('job', { required: true }),
        leg: inputs.number('leg', 0, { min: 0 }) || undefined,
        attempt: attempt(),
        startedAt: started,
        finishedAt: now(),
        steps,
      });
      return;
    }
    case 'records': {
      for (const [k, v] of Object.entries(rollbackInputs(readRecords(RECORDS_DIR)))) output(k, v);
      return;
    }
    case 'approval': {
      const r = release();
      const runId = Number(process.env.GITHUB_RUN_ID || 0);
      const a = approvalCommand(r, await runApprovals(targetFromEnv(token()), runId));
      output('approved-by', a.by);
      output('approved-at', now());
      return;
    }
    case 'report': {
      const r = release();
      let needs: Record<string, NeedsJob>;
      try {
        needs = JSON.parse(inputs.string('needs', { default: '{}' }));
      } catch {
        throw new ConfigError('not JSON (pass toJSON(needs))', undefined, 'needs');
      }
      const info = runInfo();
      const data = workflowReport({
        release: r,
        needs,
        records: readRecords(RECORDS_DIR),
        dir: RECORDS_DIR,
        actor: info.actor,
        runUrl: info.runUrl,
      });
      const md = renderReport(data, {
        package: r.package,
        title: r.title,
        environment: r.environment,
        service: r.service,
        tasks: [],
        promotion: { environment: r.promotionEnvironment, reviewers: [] },
      });
      await summary(md);
      output('outcome', data.outcome);
      output('promoted', String(data.outcome === 'promoted'));
      const rb = needs.rollback?.result;
      const rollbackFailed = data.timeline.some(
        (t) => t.job === 'rollback' && t.status === 'failure',
      );
      output(
        'rolled-back',
        rb && rb !== 'skipped' ? String(rb === 'success' && !rollbackFailed) : '',
      );
      output('verdict', data.gates.at(-1)?.verdict ?? '');
      output('approved-by', data.approval?.by ?? '');
      const id = Number(inputs.string('deployment-id') || 0);
      if (id && inputs.string('token')) {
        await setDeploymentStatus(targetFromEnv(token()), id, {
          state: data.outcome === 'promoted' ? 'success' : 'failure',
          logUrl: info.runUrl,
          description: `release ${data.outcome}`,
        });
      }
      // The same report as a file, where `runbook rehearse` writes it (the workflow uploads it).
      const file = resolve(workspace(), r.reportPath);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, md);
      output('report-file', r.reportPath);
      return;
    }
  }
});
