/**
 * `runbook flag`: the flag-toggle engine on the command line, like the seed's
 * `flag-toggle.sh enable|disable|status FLAG --tenant ID`.
 *
 *   runbook flag enable BILLING_ENFORCEMENT --tenant tn-4582 --tenant tn-9014 --global-must-be off
 *   runbook flag enable --plan examples/paket7/flags.yml
 *   runbook flag status BILLING_ENFORCEMENT
 *   runbook flag restore BILLING_ENFORCEMENT --restore-state '{"flag":...}'
 *
 * Secrets come from the environment: DATABASE_URL (postgres), FLAG_TOKEN (http, launchdarkly,
 * unleash; VIDEO_KIT_ADMIN_TOKEN also works for http), TARGET_ENV as the default environment.
 * Exit codes: 0 done, 1 guard or verify failure or a server error, 2 usage error.
 */
import { databaseUrlFlag, listFlag, oneOfFlag, parseFlags } from '../cli/args.js';
import type { CliCommand } from '../cli/types.js';
import { ConfigError } from '../errors.js';
import { flagSummary } from './summary.js';
import { FlagGuardError, FlagVerifyError, OPERATIONS, toggleFlag } from './engine.js';
import { BACKENDS, BackendError } from './backends/types.js';

const usage = `usage: runbook flag <enable|disable|status|restore> [FLAG] [options]

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
      },
      usage,
      true,
    );
    const [op, flag] = positionals;
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
