/**
 * `runbook flag`: the flag-toggle engine on the command line, like the seed's
 * `flag-toggle.sh enable|disable|status FLAG --tenant ID`.
 *
 *   runbook flag enable BILLING_ENFORCEMENT --tenant tn-4582 --tenant tn-9014 --global-must-be off
 *   runbook flag enable --plan examples/paket7/flags.yml
 *   runbook flag status BILLING_ENFORCEMENT
 *   runbook flag restore BILLING_ENFORCEMENT --restore-state '{"flag":...}'
 *   runbook flag rollout BILLING_ENFORCEMENT --steps 1:30m,5:30m,25:1h,100 \
 *     --gate-command 'runbook gate --criteria criteria.yml --duration "$RUNBOOK_FLAG_STEP_DURATION"'
 *
 * Secrets come from the environment: DATABASE_URL (postgres), FLAG_TOKEN (http, launchdarkly,
 * unleash; VIDEO_KIT_ADMIN_TOKEN also works for http), TARGET_ENV as the default environment.
 * Exit codes: 0 done, 1 guard or verify failure or a server error, 2 usage error.
 */
import { databaseUrlFlag, listFlag, oneOfFlag, parseFlags } from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { spawn } from 'node:child_process';
import { parseDuration } from '../config/load.js';
import { ConfigError, type Logger } from '../errors.js';
import { flagRolloutSummary, flagSummary } from './summary.js';
import {
  checkRolloutSteps,
  runFlagRollout,
  type FlagRolloutGate,
  type FlagRolloutStep,
} from './rollout.js';
import { FlagGuardError, FlagVerifyError, OPERATIONS, toggleFlag } from './engine.js';
import { BACKENDS, BackendError } from './backends/types.js';

const usage = `usage: runbook flag <enable|disable|status|restore> [FLAG] [options]
       runbook flag rollout FLAG --steps 1:30m,5:30m,25,100 --gate-command CMD [options]

  --tenant ID            a tenant (repeatable; comma-separated also works); none = global
  --scope S              tenants | global
  --percentage P         with enable: percentage rollout 0-100 of all contexts (100 = global on)
  --plan FILE            flag plan YAML (flag, tenants, guard), e.g. examples/paket7/flags.yml
  --global-must-be X     on | off | any (guard, checked before and after the write)
  --restore-state JSON   for restore: a previous-state printed by an earlier run
  --reason TEXT          recorded in the audit comment
  --dry-run              print what would change, write nothing
  --backend B            postgres (default) | http | launchdarkly | unleash
  --database-url URL     postgres (default: $DATABASE_URL)
  --schema NAME          postgres flag-table schema (default runbook)
  --base-url URL         http / launchdarkly / unleash API base URL
  --environment ENV      LaunchDarkly environment / Unleash environment / TARGET_ENV (default: $TARGET_ENV)
  --project P            LaunchDarkly project / Unleash project
  --context-kind K       LaunchDarkly context kind (default tenant)
  --json                 print the result as JSON instead of Markdown
rollout (a guarded flag rollout: set the percentage, run the gate, next step):
  --steps LIST           percent[:duration] per step, e.g. 1:30m,5:30m,25:1h,100
  --gate-command CMD     judges each step (sh -c): exit 0 pass, 1 fail, other inconclusive;
                         gets RUNBOOK_FLAG, RUNBOOK_FLAG_PERCENT, RUNBOOK_FLAG_STEP (1-based),
                         RUNBOOK_FLAG_STEP_DURATION (e.g. 30m) and _MS; any verdict but pass
                         restores the exact state before the rollout and exits 1
  --inconclusive X       rollback (default) | continue
Token: $FLAG_TOKEN (or $VIDEO_KIT_ADMIN_TOKEN for the http backend).`;

export const command: CliCommand = {
  name: 'flag',
  summary: 'enable, disable, show or restore a feature flag per tenant or globally (4 backends)',
  usage,
  run: async (argv, logger) => {
    const { values, positionals } = parseFlags(
      argv,
      {
        tenant: { type: 'string', multiple: true },
        scope: { type: 'string' },
        percentage: { type: 'string' },
        plan: { type: 'string' },
        'global-must-be': { type: 'string' },
        'restore-state': { type: 'string' },
        reason: { type: 'string' },
        'dry-run': { type: 'boolean' },
        backend: { type: 'string' },
        'database-url': { type: 'string' },
        schema: { type: 'string' },
        'base-url': { type: 'string' },
        environment: { type: 'string' },
        project: { type: 'string' },
        'context-kind': { type: 'string' },
        json: { type: 'boolean' },
        steps: { type: 'string' },
        'gate-command': { type: 'string' },
        inconclusive: { type: 'string' },
      },
      usage,
      true,
    );
    const [op, flag] = positionals;
    if (op === 'rollout') return rollout(flag, values, logger);
    const operation = oneOfFlag(op, OPERATIONS, 'operation', usage);
    const backend = oneOfFlag(values.backend ?? 'postgres', BACKENDS, 'backend');
    const scope = values.scope as 'tenants' | 'global' | undefined;
    if (scope && scope !== 'tenants' && scope !== 'global')
      throw new ConfigError('expected tenants or global', undefined, 'scope');
    const guard = values['global-must-be'] as 'on' | 'off' | 'any' | undefined;
    if (guard && !['on', 'off', 'any'].includes(guard))
      throw new ConfigError('expected on, off or any', undefined, 'global-must-be');
    const pctRaw = values.percentage?.replace(/%$/, '').trim();
    const percentage = pctRaw ? Number(pctRaw) : undefined;
    if (percentage !== undefined && Number.isNaN(percentage))
      throw new ConfigError(
        `expected a number from 0 to 100, got '${pctRaw}'`,
        undefined,
        'percentage',
      );
    try {
      const result = await toggleFlag(
        {
          backend,
          operation,
          flag,
          tenants: listFlag(values.tenant),
          scope,
          percentage,
          plan: values.plan,
          guard: { globalMustBe: guard },
          restoreState: values['restore-state'],
          reason: values.reason,
          dryRun: values['dry-run'],
          databaseUrl: databaseUrlFlag(values['database-url']),
          flagTableSchema: values.schema,
          baseUrl: values['base-url'],
          token:
            process.env.FLAG_TOKEN ||
            (backend === 'http' ? process.env.VIDEO_KIT_ADMIN_TOKEN : undefined),
          environment: values.environment ?? process.env.TARGET_ENV,
          project: values.project,
          contextKind: values['context-kind'],
        },
        logger,
      );
      // A status of a flag the backend does not know is a mistake in the name, not "off".
      if (operation === 'status' && result.state.exists === false) {
        throw new ConfigError(
          `flag '${result.state.flag}' does not exist on the ${backend} backend; check its name (flag keys are case-sensitive)`,
          undefined,
          'flag',
        );
      }
      const summary = {
        previousState: result.previousState,
        state: result.state,
        changed: result.changed,
        actions: result.actions,
      };
      // The JSON document alone on stdout; log lines go to stderr (see src/cli.ts).
      if (values.json) console.log(JSON.stringify(summary, null, 2));
      else logger.info(flagSummary(result));
      return 0;
    } catch (e) {
      if (
        e instanceof FlagGuardError ||
        e instanceof FlagVerifyError ||
        e instanceof BackendError
      ) {
        logger.error(e.message);
        return 1;
      }
      throw e;
    }
  },
};

/**
 * Parses `--steps`: `percent[:duration]` comma-separated (`1:30m,5:30m,25,100`).
 * @throws ConfigError naming `steps`
 */
export function parseStepsFlag(raw: string | undefined): FlagRolloutStep[] {
  if (!raw?.trim())
    throw new ConfigError(
      'is required: percent[:duration] per step, e.g. 1:30m,5:30m,25,100',
      undefined,
      'steps',
    );
  return checkRolloutSteps(
    raw.split(',').map((part, i) => {
      const [p, d] = part.trim().replace(/%/, '').split(':');
      const percent = Number(p);
      if (!p || Number.isNaN(percent))
        throw new ConfigError(
          `step ${i + 1}: '${part.trim()}' is not percent[:duration]`,
          undefined,
          'steps',
        );
      return { percent, durationMs: d ? parseDuration(d, `steps[${i}].duration`) : 0 };
    }),
  );
}

function fmtDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** Runs the gate command for one step: exit 0 pass, 1 fail, anything else inconclusive. */
function commandGate(cmd: string, flag: string, logger: Logger): FlagRolloutGate {
  return (step) =>
    new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', cmd], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          RUNBOOK_FLAG: flag,
          RUNBOOK_FLAG_PERCENT: String(step.percent),
          RUNBOOK_FLAG_STEP: String(step.index + 1),
          RUNBOOK_FLAG_STEP_DURATION: fmtDuration(step.durationMs),
          RUNBOOK_FLAG_STEP_DURATION_MS: String(step.durationMs),
        },
      });
      let tail = '';
      const keep = (d: Buffer) => {
        const text = String(d);
        for (const line of text.split('\n')) if (line.trim()) logger.info(`  gate: ${line}`);
        tail = (tail + text).slice(-400);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        const last = tail.trim().split('\n').at(-1) ?? '';
        const reason = `gate command exited ${signal ? `on ${signal}` : code}${last ? `: ${last}` : ''}`;
        resolve({
          verdict: code === 0 ? 'pass' : code === 1 ? 'fail' : 'inconclusive',
          reason,
        });
      });
    });
}

async function rollout(
  flag: string | undefined,
  values: Record<string, unknown>,
  logger: Logger,
): Promise<number> {
  const v = values as Record<string, string | boolean | undefined>;
  if (!flag) throw new ConfigError('rollout needs the flag key', undefined, 'flag');
  const steps = parseStepsFlag(v.steps as string | undefined);
  const cmd = v['gate-command'] as string | undefined;
  if (!cmd?.trim())
    throw new ConfigError(
      'is required: the command that judges each step',
      undefined,
      'gate-command',
    );
  const onInconclusive = (v.inconclusive as string | undefined) ?? 'rollback';
  if (onInconclusive !== 'rollback' && onInconclusive !== 'continue')
    throw new ConfigError('expected rollback or continue', undefined, 'inconclusive');
  const backend = oneOfFlag((v.backend as string | undefined) ?? 'postgres', BACKENDS, 'backend');
  const guard = v['global-must-be'] as 'on' | 'off' | 'any' | undefined;
  const result = await runFlagRollout(
    {
      backend,
      flag,
      steps,
      gate: commandGate(cmd, flag, logger),
      onInconclusive,
      guard: { globalMustBe: guard },
      reason: v.reason as string | undefined,
      databaseUrl: databaseUrlFlag(v['database-url'] as string | undefined),
      flagTableSchema: v.schema as string | undefined,
      baseUrl: v['base-url'] as string | undefined,
      token:
        process.env.FLAG_TOKEN ||
        (backend === 'http' ? process.env.VIDEO_KIT_ADMIN_TOKEN : undefined),
      environment: (v.environment as string | undefined) ?? process.env.TARGET_ENV,
      project: v.project as string | undefined,
      contextKind: v['context-kind'] as string | undefined,
    },
    logger,
  );
  // The JSON document alone on stdout; log lines (gate output included) go to stderr.
  const print = (text: string) => (v.json ? console.log(text) : logger.info(text));
  print(
    v.json
      ? JSON.stringify(
          {
            outcome: result.outcome,
            failedStep: result.failedStep,
            reason: result.reason,
            previousState: result.previousState,
            finalState: result.finalState,
            steps: result.steps.map((s) => ({
              percent: s.percent,
              durationMs: s.durationMs,
              verdict: s.verdict,
              reason: s.reason,
              error: s.error,
            })),
          },
          null,
          2,
        )
      : flagRolloutSummary(result),
  );
  if (result.outcome !== 'completed') {
    logger.error(
      result.outcome === 'rolled-back'
        ? `flag rollout ${flag} rolled back: ${result.reason}`
        : `flag rollout ${flag}: ${result.reason}; the restore failed: ${result.rollbackError}`,
    );
    return 1;
  }
  return 0;
}
