/**
 * The smoke-check file format (`checks:` YAML), validated with zod.
 *
 * ```yaml
 * variables: { tenant: tn-4582 }          # defaults; action/CLI variables override them
 * defaults:
 *   headers: { Authorization: 'Bearer {{secrets.API_TOKEN}}' }
 *   timeout-ms: 5000
 * checks:
 *   - name: health
 *     url: '{{base_url}}/health'
 *     expect: { status: 200, latency-ms: 500 }
 *     retries: { attempts: 5, backoff-ms: 1000 }
 *   - name: purchase is idempotent
 *     method: POST
 *     url: '{{base_url}}/api/purchases'
 *     body: { packageCode: starter }
 *     expect: { status: [200, 201], json: { id: '/^pur_/' } }
 *     idempotency:
 *       expect-replay: { Idempotent-Replayed: 'true' }
 *       sql: { query: 'SELECT 1 FROM purchase WHERE idempotency_key = $1', params: ['{{idempotency_key}}'], expect-rows: 1 }
 * ```
 *
 * Status, header and JSON expectations follow RFC 9110 (HTTP semantics: status codes, field
 * names are case-insensitive). The idempotency check follows the IETF HTTPAPI draft "The
 * Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header): a retried
 * request with the same key must not be processed twice and should return the first response.
 */
import { z } from 'zod';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** A header value: a literal string or number, stringified. */
const headerValue = z.union([z.string(), z.number(), z.boolean()]).transform((v) => String(v));

/**
 * A header expectation: `true` (present), `false` (absent), `'/regex/flags'` (present and
 * matching) or any other string (present and equal).
 */
const headerExpectation = z.union([z.boolean(), z.string(), z.number().transform(String)]);

const statusCode = z.number().int().min(100).max(599);

/** What a check expects of a response. */
export const expectSchema = z.strictObject({
  /** One status code or a list of accepted ones. Default: any 2xx. */
  status: z.union([statusCode, z.array(statusCode).min(1)]).optional(),
  /** Header name → expectation (see {@link headerExpectation}). */
  headers: z.record(z.string(), headerExpectation).optional(),
  /** Dotted JSON path (`data.items.0.id`, `items[0].id`) → expected value or `'/regex/'`. */
  json: z.record(z.string(), z.unknown()).optional(),
  /** The response body contains this text, or matches `'/regex/'`. */
  body: z.string().optional(),
  /** Latency budget in milliseconds (request sent → body read). */
  'latency-ms': z.number().positive().optional(),
});

/**
 * Retries for warm-up: `attempts` in total, waiting `backoff-ms` × 2^(n-1) before retry n. A
 * non-idempotent request (POST, PATCH without an `Idempotency-Key` header) is retried only when
 * the server did not process it (connection refused, 429, 503); see `runHttpCheck`.
 */
export const retriesSchema = z.strictObject({
  attempts: z.number().int().min(1).max(100),
  'backoff-ms': z.number().int().min(0).default(500),
});

/** An SQL assertion: `query` (with `$1`… placeholders) must return exactly `expect-rows` rows. */
export const sqlSchema = z.strictObject({
  query: z.string().min(1),
  /** Values for `$1`, `$2`… (templated; `{{idempotency_key}}` is the key that was sent). */
  params: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])).default([]),
  'expect-rows': z.number().int().min(0),
});

/** The idempotency part of a check: send the request twice with the same key. */
export const idempotencySchema = z.strictObject({
  /** The key to send (templated). Default: a random UUID per run. */
  key: z.string().min(1).optional(),
  /** Header carrying the key; `false` when the key travels in the body (`{{idempotency_key}}`). */
  header: z.union([z.string().min(1), z.literal(false)]).default('Idempotency-Key'),
  /** Header expectations for the second (replayed) response, e.g. `Idempotent-Replayed: 'true'`. */
  'expect-replay': z.record(z.string(), headerExpectation).optional(),
  /** JSON paths left out when comparing the two bodies (e.g. a per-response `requestId`). */
  'ignore-json': z.array(z.string()).default([]),
  /** Proof in the database that exactly N rows were written. Needs `database-url`. */
  sql: sqlSchema.optional(),
});

/** One smoke check. */
export const checkSchema = z.strictObject({
  name: z.string().min(1),
  method: z
    .string()
    .transform((m) => m.toUpperCase())
    .pipe(z.enum(METHODS))
    .default('GET'),
  url: z.string().min(1),
  headers: z.record(z.string(), headerValue).default({}),
  /** A string is sent as text; anything else as JSON (`Content-Type: application/json`). */
  body: z.unknown().optional(),
  'timeout-ms': z.number().int().positive().optional(),
  'follow-redirects': z.boolean().default(true),
  expect: expectSchema.default({}),
  retries: retriesSchema.optional(),
  idempotency: idempotencySchema.optional(),
});

/** A whole checks file. */
export const smokeFileSchema = z
  .strictObject({
    /** Default variable values; action inputs and CLI flags override them. */
    variables: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
    defaults: z
      .strictObject({
        headers: z.record(z.string(), headerValue).default({}),
        'timeout-ms': z.number().int().positive().optional(),
      })
      .default({ headers: {} }),
    checks: z.array(checkSchema).min(1),
  })
  .superRefine((file, ctx) => {
    const seen = new Set<string>();
    file.checks.forEach((c, i) => {
      if (seen.has(c.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['checks', i, 'name'],
          message: `duplicate check name '${c.name}'`,
        });
      }
      seen.add(c.name);
      if (c.idempotency && c.retries) {
        ctx.addIssue({
          code: 'custom',
          path: ['checks', i, 'retries'],
          message:
            'an idempotency check cannot have retries (a retry would send a third request); put a warm-up check before it',
        });
      }
    });
  });

/** A parsed checks file. */
export type SmokeFile = z.infer<typeof smokeFileSchema>;
/** One parsed check. */
export type SmokeCheck = z.infer<typeof checkSchema>;
