/**
 * Loading and checking a release plan file.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadYaml, parseYaml, parseDuration, type LoadedYaml } from '../config/load.js';
import { ConfigError } from '../errors.js';
import { ReleasePlanSchema, type ReleasePlan } from './schema.js';

/** A loaded plan with the line lookup of its file. */
export type LoadedPlan = LoadedYaml<ReleasePlan>;

/**
 * Reads and validates a release plan.
 * @param file - path of the plan (YAML)
 * @param input - the action input / CLI argument that named it (appears in errors)
 * @throws ConfigError with file and line for unreadable files, bad YAML or a schema violation
 */
export function loadPlan(file: string, input?: string): LoadedPlan {
  const loaded = loadYaml(file, ReleasePlanSchema, input);
  checkDurations(loaded, input);
  return loaded;
}

/** As {@link loadPlan} for text in memory (`file` names it in errors). */
export function parsePlan(text: string, file: string, input?: string): LoadedPlan {
  const loaded = parseYaml(text, file, ReleasePlanSchema, input);
  checkDurations(loaded, input);
  return loaded;
}

function checkDurations(loaded: LoadedPlan, input?: string): void {
  loaded.value.traffic.steps.forEach((s, i) => {
    if (s.duration !== undefined && parseDuration(s.duration) <= 0) {
      throw new ConfigError(
        `traffic.steps.${i}.duration: must be longer than 0`,
        loaded.locate(['traffic', 'steps', i, 'duration']),
        input,
      );
    }
  });
}

/** Every file or directory a plan refers to, with its value path in the plan. */
export function referencedPaths(
  plan: ReleasePlan,
): { path: (string | number)[]; value: string; kind: 'file' | 'dir' | 'path' }[] {
  const out: { path: (string | number)[]; value: string; kind: 'file' | 'dir' | 'path' }[] = [];
  if (plan.migrations)
    out.push({ path: ['migrations', 'dir'], value: plan.migrations.dir, kind: 'dir' });
  plan.backfills.forEach((b, i) =>
    out.push({ path: ['backfills', i, 'spec'], value: b.spec, kind: 'file' }),
  );
  if (plan.deploy?.manifests)
    // a manifest file or a directory of them, as the rollout action's `apply` takes
    out.push({ path: ['deploy', 'manifests'], value: plan.deploy.manifests, kind: 'path' });
  if (plan.flags.plan) out.push({ path: ['flags', 'plan'], value: plan.flags.plan, kind: 'file' });
  out.push({ path: ['gate', 'criteria'], value: plan.gate.criteria, kind: 'file' });
  if (plan.gate.recordings) {
    out.push({
      path: ['gate', 'recordings', 'healthy'],
      value: plan.gate.recordings.healthy,
      kind: 'file',
    });
    if (plan.gate.recordings.regression)
      out.push({
        path: ['gate', 'recordings', 'regression'],
        value: plan.gate.recordings.regression,
        kind: 'file',
      });
  }
  if (plan.smoke) out.push({ path: ['smoke', 'checks'], value: plan.smoke.checks, kind: 'file' });
  return out;
}

/**
 * Checks that every path the plan refers to exists under `root`.
 * @param root - repository root the plan's paths are relative to
 * @returns one ConfigError (with the plan's file and line) per missing path; empty when all exist
 */
export function missingPaths(loaded: LoadedPlan, root: string): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const ref of referencedPaths(loaded.value)) {
    const full = resolve(root, ref.value);
    const ok =
      existsSync(full) &&
      (ref.kind === 'path' ||
        (ref.kind === 'dir' ? statSync(full).isDirectory() : statSync(full).isFile()));
    if (!ok) {
      const what = { dir: 'directory', file: 'file', path: 'file or directory' }[ref.kind];
      errors.push(
        new ConfigError(
          `${ref.path.join('.')}: ${what} '${ref.value}' does not exist`,
          loaded.locate(ref.path),
        ),
      );
    }
  }
  return errors;
}

/** Where the release report goes: `report.path`, or `reports/deploy/<package>.md`. */
export function reportPath(plan: ReleasePlan): string {
  return plan.report.path ?? `reports/deploy/${plan.package}.md`;
}
