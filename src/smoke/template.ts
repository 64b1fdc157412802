/**
 * `{{name}}` templating for smoke checks, `name=value` assignment lists, secret redaction and
 * `/regex/` literals.
 */
import { ConfigError, type SourceLocation } from '../errors.js';
import { redactor as sharedRedactor } from '../redact.js';

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}/g;

/** Where a template is used, which decides whether `{{secrets.X}}` is allowed there. */
export interface TemplateContext {
  variables: Record<string, string>;
  secrets: Record<string, string>;
  /** `false` in URLs and SQL parameters: secrets may only go into headers and bodies. */
  allowSecrets: boolean;
  /** What is being filled, for the error message (e.g. `url`, `headers.Authorization`). */
  what: string;
  location: SourceLocation;
}

/**
 * Replaces every `{{name}}` with `variables[name]` and every `{{secrets.NAME}}` with the secret.
 * @throws ConfigError at `ctx.location` for an unknown variable or secret, or a secret used
 *   where secrets are not allowed (the message never contains a secret's value)
 */
export function fill(text: string, ctx: TemplateContext): string {
  return text.replace(PLACEHOLDER, (_m, name: string) => {
    if (name.startsWith('secrets.')) {
      const key = name.slice('secrets.'.length);
      if (!ctx.allowSecrets) {
        throw new ConfigError(
          `${ctx.what}: {{${name}}} is not allowed here; secrets may only be used in headers and body`,
          ctx.location,
        );
      }
      if (!(key in ctx.secrets)) {
        throw new ConfigError(
          `${ctx.what}: unknown secret '${key}' (known: ${Object.keys(ctx.secrets).join(', ') || 'none'})`,
          ctx.location,
        );
      }
      return ctx.secrets[key];
    }
    if (!(name in ctx.variables)) {
      throw new ConfigError(
        `${ctx.what}: unknown variable '{{${name}}}' (known: ${Object.keys(ctx.variables).sort().join(', ') || 'none'})`,
        ctx.location,
      );
    }
    return ctx.variables[name];
  });
}

/** As {@link fill}, for every string inside a JSON-like value (keys and values). */
export function fillDeep(value: unknown, ctx: TemplateContext): unknown {
  if (typeof value === 'string') return fill(value, ctx);
  if (Array.isArray(value)) return value.map((v) => fillDeep(v, ctx));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [fill(k, ctx), fillDeep(v, ctx)]),
    );
  }
  return value;
}

/**
 * Parses `name=value` lines (blank lines and `#` comments skipped; the value may contain `=`).
 * @param secret - when true, error messages never echo a line (it may hold a secret value)
 * @throws ConfigError naming `input` and the line number for a malformed line
 */
export function parseAssignments(
  text: string,
  input: string,
  secret = false,
): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const name = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
      const shown = secret ? '' : `: '${line}'`;
      throw new ConfigError(`line ${i + 1} is not name=value${shown}`, undefined, input);
    }
    out[name] = line.slice(eq + 1).trim();
  });
  return out;
}

/**
 * A function that replaces every secret value in `text` with `***`, in every form a server may
 * echo it (see `secretForms` in src/redact.ts), plus credential-shaped values.
 */
export const redactor: (secretValues: string[]) => (text: string) => string = sharedRedactor;

/** `'/regex/flags'` → RegExp; any other string → undefined. */
export function regexLiteral(text: string): RegExp | undefined {
  const m = /^\/(.*)\/([dgimsuvy]*)$/s.exec(text);
  if (!m) return undefined;
  return new RegExp(m[1], m[2]);
}

/**
 * Validates a `/regex/` literal up front.
 * @throws ConfigError at `location` when the pattern does not compile
 */
export function checkRegex(text: unknown, what: string, location: SourceLocation): void {
  if (typeof text !== 'string') return;
  try {
    regexLiteral(text);
  } catch (e) {
    throw new ConfigError(
      `${what}: invalid regular expression ${text}: ${(e as Error).message}`,
      location,
    );
  }
}
