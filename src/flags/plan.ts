/**
 * Flag plans: a YAML file naming the flag, the canary tenants and the guard, e.g.
 * `examples/paket7/flags.yml`:
 *
 * ```yaml
 * flag: BILLING_ENFORCEMENT
 * tenants:
 *   - id: tn-4582
 *     name: Acme Studio EU Sandbox
 *   - tn-9014
 * guard:
 *   global-must-be: off
 * ```
 */
import { z } from 'zod';
import { loadYaml } from '../config/load.js';

const globalMustBe = z
  .union([z.enum(['on', 'off', 'any']), z.boolean()])
  .transform((v) => (v === true ? 'on' : v === false ? 'off' : v));

const tenant = z.union([
  z.string().min(1),
  z.object({ id: z.string().min(1), name: z.string().optional(), notes: z.string().optional() }),
]);

/** The schema of a flag plan file. */
export const planSchema = z.strictObject({
  flag: z.string().min(1),
  description: z.string().optional(),
  environment: z.string().optional(),
  tenants: z.array(tenant).default([]),
  guard: z.strictObject({ 'global-must-be': globalMustBe.optional() }).optional(),
});

/** A loaded flag plan. */
export interface FlagPlan {
  file: string;
  flag: string;
  tenants: string[];
  /** Display names by tenant id, when the plan gives them. */
  tenantNames: Record<string, string>;
  globalMustBe?: 'on' | 'off' | 'any';
  environment?: string;
  /** 1-based line of the `flag` key, for annotations. */
  flagLine?: number;
  lineOfTenant(index: number): number | undefined;
}

/**
 * Reads a flag plan.
 * @throws ConfigError (input `plan`) with the file and line of a bad value
 */
export function loadPlan(file: string): FlagPlan {
  const doc = loadYaml(file, planSchema, 'plan');
  const v = doc.value;
  const tenantNames: Record<string, string> = {};
  const tenants = v.tenants.map((t) => {
    if (typeof t === 'string') return t;
    if (t.name) tenantNames[t.id] = t.name;
    return t.id;
  });
  return {
    file,
    flag: v.flag,
    tenants,
    tenantNames,
    globalMustBe: v.guard?.['global-must-be'] as FlagPlan['globalMustBe'],
    environment: v.environment,
    flagLine: doc.lineOf(['flag']),
    lineOfTenant: (i) => doc.lineOf(['tenants', i]),
  };
}
