/**
 * The release plan's JSON Schema (draft 2020-12), generated from the zod schema with zod 4's
 * `z.toJSONSchema`. The committed copy is `schemas/release-plan.schema.json`; a test fails when
 * it is stale. Regenerate with `npx tsx src/release/json-schema.ts`.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ReleasePlanSchema } from './schema.js';

/** Repository-relative path of the committed schema. */
export const SCHEMA_FILE = 'schemas/release-plan.schema.json';

/** The JSON Schema text (2-space indented, trailing newline) for the plan as users write it. */
export function releasePlanJsonSchema(): string {
  const schema = z.toJSONSchema(ReleasePlanSchema, { io: 'input', target: 'draft-2020-12' });
  const withId = {
    ...schema,
    $id: 'https://github.com/runbook-actions/runbook-actions/raw/v1/schemas/release-plan.schema.json',
  };
  return JSON.stringify(withId, null, 2) + '\n';
}

if (process.argv[1] && /src\/release\/json-schema\.ts$/.test(process.argv[1])) {
  const out = resolve(import.meta.dirname, '../..', SCHEMA_FILE);
  writeFileSync(out, releasePlanJsonSchema());
  console.log(`wrote ${out}`);
}
