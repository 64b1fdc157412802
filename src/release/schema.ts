/**
 * The release plan: one YAML file per release (e.g. `examples/paket7/release.yml`) that is the
 * runbook as code. The reusable workflow (`.github/workflows/release.yml`) and the
 * `runbook rehearse` command read the same file, so nothing is configured twice.
 *
 * Keys are kebab-case like action inputs. Paths are relative to the repository root (the
 * workflow's working directory; `runbook rehearse --root` locally). Durations are strings such
 * as `30s`, `5m`, `1h30m` (see `parseDuration` in `src/config/load.ts`).
 *
 * The schema is published as JSON Schema (`schemas/release-plan.schema.json`, generated with
 * zod 4's `z.toJSONSchema`) so editors complete and check the file.
 */
import { z } from 'zod';

const duration = z
  .string()
  .regex(/^(\d+(\.\d+)?(ms|s|m|h|d))+$/, 'a duration such as 30s, 5m, 1h30m or 250ms');

const path = z.string().min(1);

/** Migrations: the inputs of the `migrate` action the release uses. */
export const MigrationsSchema = z
  .object({
    dir: path.describe('Directory of versioned SQL migration files.'),
    'history-table': z
      .string()
      .optional()
      .describe('Schema history table (migrate default when absent).'),
    'lock-wait': z
      .number()
      .int()
      .min(0)
      .optional()
      .describe('Seconds to wait for the migration advisory lock (as the migrate action).'),
    'lock-timeout': duration.optional().describe('PostgreSQL lock_timeout per statement.'),
    'statement-timeout': duration
      .optional()
      .describe('PostgreSQL statement_timeout per statement.'),
    retries: z
      .number()
      .int()
      .min(0)
      .max(20)
      .optional()
      .describe('Retries after a lock timeout (SQLSTATE 55P03).'),
    'fail-on': z
      .enum(['error', 'warning', 'never'])
      .default('error')
      .describe('Lowest migration-lint finding level that fails preflight.'),
  })
  .strict();

/** One backfill: analyze, execute and verify with the `backfill` action. */
export const BackfillSchema = z
  .object({
    spec: path.describe('Backfill spec file (YAML).'),
    'batch-size': z.number().int().min(1).optional().describe('Rows per keyset batch.'),
    'max-batches': z
      .number()
      .int()
      .min(1)
      .optional()
      .describe('Stop after this many batches (for rehearsals).'),
    'fail-on-checks': z
      .boolean()
      .default(false)
      .describe(
        'Fail analyze when an anomaly check returns rows (default: report them as warnings).',
      ),
  })
  .strict();

/** The Kubernetes side of the release: the canary deployment and its weighted ingress. */
export const DeploySchema = z
  .object({
    namespace: z.string().min(1),
    deployment: z
      .string()
      .min(1)
      .describe('Deployment that runs the canary (gets the new images first).'),
    'stable-deployment': z
      .string()
      .min(1)
      .optional()
      .describe('Stable Deployment behind the main ingress; promotion moves it to the new images.'),
    images: z
      .record(z.string(), z.string().min(1))
      .refine((r) => Object.keys(r).length > 0, 'at least one container image')
      .describe('Container name → new image (e.g. api: videokit-api:7.19.0).'),
    'rollback-images': z
      .record(z.string(), z.string().min(1))
      .optional()
      .describe(
        'Container name → image of the packaged rollback artifact (documentation; rollback uses rollout undo).',
      ),
    ingress: z
      .string()
      .optional()
      .describe('Canary ingress whose weight annotation steps traffic.'),
    manifests: path
      .optional()
      .describe(
        'Manifest file, or directory of *.yaml, *.yml, *.json files, applied before the canary (server-side apply).',
      ),
    context: z.string().optional().describe('kubeconfig context.'),
    'change-cause': z.string().optional(),
    timeout: duration.default('10m').describe('How long to wait for the rollout to become ready.'),
  })
  .strict()
  .superRefine((d, ctx) => {
    // Promotion turns the canary ingress off; without the stable Deployment on the new images,
    // 100% of traffic would go back to the old version.
    if (d.ingress && !d['stable-deployment']) {
      ctx.addIssue({
        code: 'custom',
        path: ['stable-deployment'],
        message:
          'is required when an ingress is given: promotion moves the stable Deployment to the new images before the canary ingress is turned off',
      });
    }
  });

/** The feature flag and its canary tenants. */
export const FlagsSchema = z
  .object({
    backend: z
      .enum(['postgres', 'http', 'launchdarkly', 'unleash'])
      .describe('Flag backend of flag-toggle.'),
    flag: z.string().min(1).describe('Flag key, e.g. BILLING_ENFORCEMENT.'),
    'canary-tenants': z
      .array(z.string().min(1))
      .min(1)
      .describe('Tenants the flag is turned on for during the canary.'),
    'global-must-be': z
      .enum(['on', 'off'])
      .default('off')
      .describe('Global state the flag must keep throughout the canary.'),
    plan: path
      .optional()
      .describe('Flag plan file of flag-toggle (tenants, per-backend settings).'),
    environment: z.string().optional().describe('Backend environment (LaunchDarkly / Unleash).'),
    project: z.string().optional().describe('Backend project (LaunchDarkly / Unleash).'),
  })
  .strict();

/** One traffic step: the canary weight and how long the gate watches it. */
export const TrafficStepSchema = z
  .object({
    weight: z.number().int().min(0).max(100).describe('Percent of traffic routed to the canary.'),
    duration: duration
      .optional()
      .describe('Analysis window of the gate at this weight (gate default when absent).'),
    smoke: z.boolean().default(true).describe('Run the smoke checks at this step.'),
  })
  .strict();

/** The canary gate: criteria, metrics provider and recorded measurements for rehearsals. */
export const GateSchema = z
  .object({
    criteria: path.describe('Gate criteria file (metrics, thresholds, failure limits).'),
    provider: z
      .enum(['prometheus', 'datadog', 'grafana'])
      .describe('Metrics provider in live mode.'),
    interval: duration.optional().describe('Time between measurements.'),
    'on-inconclusive': z
      .enum(['fail', 'pass', 'neutral'])
      .optional()
      .describe(
        'What an inconclusive verdict does (canary-gate input): fail (default) stops the release; pass or neutral go on to the next step (promotion still needs the approval).',
      ),
    recordings: z
      .object({
        healthy: path.describe('Recorded measurements of a healthy canary (replay file).'),
        regression: path
          .optional()
          .describe('Recorded measurements of a regression (replay file).'),
      })
      .strict()
      .optional()
      .describe('Replay files used by `runbook rehearse` instead of a live provider.'),
  })
  .strict();

/** Smoke checks run at every traffic step. */
export const SmokeSchema = z
  .object({
    checks: path.describe('Smoke checks file.'),
    'base-url': z
      .url()
      .optional()
      .describe('Base URL the checks call (a secret or variable may override it).'),
    env: z.string().optional().describe('Environment name inside the checks file.'),
    timeout: duration.optional(),
  })
  .strict();

/** The manual approval and what promotion does. */
export const PromotionSchema = z
  .object({
    environment: z
      .string()
      .min(1)
      .describe(
        'GitHub environment with required reviewers; the promotion job waits for their approval.',
      ),
    reviewers: z
      .array(z.string())
      .default([])
      .describe('Who is expected to approve (documentation; the environment enforces it).'),
    action: z
      .enum(['global-flag', 'full-weight', 'both'])
      .default('both')
      .describe(
        'global-flag: flag on for everyone; full-weight: canary weight 100 and promote; both.',
      ),
  })
  .strict();

/** What the rollback job does when any earlier job fails. */
export const RollbackSchema = z
  .object({
    flags: z
      .enum(['restore', 'disable', 'keep'])
      .default('restore')
      .describe('restore: back to the state before the release.'),
    traffic: z.enum(['zero', 'keep']).default('zero').describe('zero: canary weight 0.'),
    rollout: z
      .enum(['undo', 'keep'])
      .default('undo')
      .describe('undo: kubectl rollout undo of the deployment.'),
  })
  .strict();

/** The release plan (the whole file). */
export const ReleasePlanSchema = z
  .object({
    $schema: z.string().optional().describe('JSON Schema of this file, for editors.'),
    package: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, dot, dash or underscore')
      .describe('Release package id, e.g. P7; names the report reports/deploy/<package>.md.'),
    title: z.string().optional(),
    tasks: z.array(z.string()).default([]).describe('Tasks shipped by the package, e.g. T18b.'),
    environment: z
      .string()
      .min(1)
      .describe('GitHub environment released to; gets a deployment record.'),
    service: z.string().min(1).describe('Service name used by gate queries and smoke checks.'),
    secrets: z
      .array(z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'a secret name such as DATABASE_URL'))
      .default([])
      .describe(
        'Secrets the release needs; preflight checks they are present without printing them.',
      ),
    migrations: MigrationsSchema.optional(),
    backfills: z.array(BackfillSchema).default([]),
    deploy: DeploySchema.optional(),
    flags: FlagsSchema,
    traffic: z
      .object({ steps: z.array(TrafficStepSchema).min(1).max(20) })
      .strict()
      .superRefine((t, ctx) => {
        for (let i = 1; i < t.steps.length; i++) {
          if (t.steps[i].weight <= t.steps[i - 1].weight) {
            ctx.addIssue({
              code: 'custom',
              message: `weight ${t.steps[i].weight} must be above the previous step's ${t.steps[i - 1].weight}`,
              path: ['steps', i, 'weight'],
            });
          }
        }
      }),
    gate: GateSchema,
    smoke: SmokeSchema.optional(),
    promotion: PromotionSchema,
    rollback: RollbackSchema.default({ flags: 'restore', traffic: 'zero', rollout: 'undo' }),
    report: z
      .object({
        path: path
          .optional()
          .describe('Markdown report path (default reports/deploy/<package>.md).'),
      })
      .strict()
      .default({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    // The approval is a deployment to the approval environment that its required reviewers
    // approve; the release environment is used by every other job, so the two must differ.
    if (p.promotion.environment === p.environment) {
      ctx.addIssue({
        code: 'custom',
        message: `must differ from the release environment '${p.environment}': use an environment whose required reviewers approve promotion, e.g. '${p.environment}-promotion'`,
        path: ['promotion', 'environment'],
      });
    }
  })
  .meta({
    title: 'runbook-actions release plan',
    description:
      'One release as code: migrations, backfills, canary, flags, traffic steps, gate, promotion, rollback.',
  });

/** A validated release plan (defaults applied). */
export type ReleasePlan = z.infer<typeof ReleasePlanSchema>;
/** One traffic step of a {@link ReleasePlan}. */
export type TrafficStep = z.infer<typeof TrafficStepSchema>;
