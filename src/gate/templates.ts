/**
 * Template variables in queries: `{{tenants}}`, `{{service}}`, `{{env}}`, `{{interval}}`,
 * `{{interval_seconds}}`. Values come from action inputs, so they are escaped for where they
 * land, never pasted raw:
 *
 * - PromQL (Prometheus, Grafana): inside a quoted label matcher value the value is escaped as a
 *   PromQL string literal (`\` and the quote; prometheus.io/docs/prometheus/latest/querying/basics
 *   "String literals"), and inside a regex matcher (`=~`, `!~`) each value's RE2 metacharacters are
 *   escaped first, so `tn.1` matches only `tn.1`. A value outside quotes must be a plain name.
 * - Datadog: tag values may hold only letters, digits, `_ - : . /`
 *   (docs.datadoghq.com/getting_started/tagging "Define tags"); anything else is refused.
 */

/** Values for the `{{tenants}}`, `{{service}}` and `{{env}}` template variables. */
export interface TemplateVariables {
  tenants?: string[];
  service?: string;
  env?: string;
}

/** Query language a template renders into. */
export type QueryDialect = 'promql' | 'datadog';

const VAR_RE = /\{\{\s*([a-z_]+)(?::([a-z]+))?\s*\}\}/g;
const RE2_META = /[\\.+*?()|[\]{}^$]/g;
const DATADOG_TAG_VALUE = /^[A-Za-z0-9_.:/-]+$/;
const PLAIN_NAME = /^[A-Za-z0-9_:.-]+$/;

/** Where a placeholder sits in a PromQL query: outside quotes, or in a quoted (regex) matcher value. */
function promqlContext(prefix: string): { quote?: string; regex: boolean } {
  let quote: string | undefined;
  let opened = -1;
  for (let i = 0; i < prefix.length; i++) {
    const c = prefix[i];
    if (quote) {
      if (c === '\\' && quote !== '`') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'" || c === '`') {
      quote = c;
      opened = i;
    }
  }
  if (!quote) return { regex: false };
  return { quote, regex: /[=!]~\s*$/.test(prefix.slice(0, opened)) };
}

function escapeValue(
  values: string[],
  join: string,
  name: string,
  dialect: QueryDialect,
  prefix: string,
): string {
  for (const v of values) {
    // Control characters (a newline above all) have no place in a label value or tag.
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(v)) {
      throw new Error(`{{${name}}} value ${JSON.stringify(v)} holds a control character`);
    }
  }
  if (dialect === 'datadog') {
    const bad = values.find((v) => !DATADOG_TAG_VALUE.test(v));
    if (bad !== undefined) {
      throw new Error(
        `{{${name}}} value ${JSON.stringify(bad)} is not a Datadog tag value (letters, digits, _ - : . / only)`,
      );
    }
    return values.join(join);
  }
  const ctx = promqlContext(prefix);
  if (!ctx.quote) {
    const bad = values.find((v) => !PLAIN_NAME.test(v));
    if (bad !== undefined) {
      throw new Error(
        `{{${name}}} value ${JSON.stringify(bad)} is used outside a quoted label matcher; put the placeholder in quotes (e.g. service="{{${name}}}")`,
      );
    }
    return values.join(join);
  }
  const regexed = ctx.regex ? values.map((v) => v.replace(RE2_META, '\\$&')) : values;
  const text = regexed.join(join);
  if (ctx.quote === '`') {
    if (text.includes('`'))
      throw new Error(`{{${name}}} value holds a backtick, which a raw string cannot quote`);
    return text;
  }
  return text.replace(/\\/g, '\\\\').replace(ctx.quote === '"' ? /"/g : /'/g, `\\${ctx.quote}`);
}

/**
 * Fills template variables in a query. `{{tenants}}` renders as a regex alternation
 * (`tn-4582|tn-9014`, for PromQL `=~`), `{{tenants:csv}}` as `tn-4582,tn-9014` (Datadog
 * `tenant IN (...)`), `{{tenants:or}}` as `tn-4582 OR tn-9014`; `{{service}}`, `{{env}}`;
 * `{{interval}}` as a PromQL duration (`60s`) and `{{interval_seconds}}` as a number. Values
 * are escaped for `dialect` (see the module comment).
 * @param intervalMs - the measurement interval in milliseconds
 * @throws Error naming an unknown or unset variable, or a value that cannot be written safely
 */
export function renderTemplate(
  text: string,
  vars: TemplateVariables,
  intervalMs: number,
  dialect: QueryDialect = 'promql',
): string {
  return text.replace(VAR_RE, (_all, name: string, format: string | undefined, offset: number) => {
    const prefix = text.slice(0, offset);
    switch (name) {
      case 'tenants': {
        if (!vars.tenants || vars.tenants.length === 0) {
          throw new Error(`{{tenants}} is used but no tenants were given (input 'tenants')`);
        }
        const join =
          !format || format === 'regex'
            ? '|'
            : format === 'csv'
              ? ','
              : format === 'or'
                ? ' OR '
                : undefined;
        if (join === undefined)
          throw new Error(`unknown format '{{tenants:${format}}}' (use regex, csv or or)`);
        return escapeValue(vars.tenants, join, 'tenants', dialect, prefix);
      }
      case 'service':
      case 'env': {
        const v = vars[name];
        if (!v) throw new Error(`{{${name}}} is used but no ${name} was given (input '${name}')`);
        return escapeValue([v], '', name, dialect, prefix);
      }
      case 'interval':
        return `${Math.round(intervalMs / 1000)}s`;
      case 'interval_seconds':
        return String(Math.round(intervalMs / 1000));
      default:
        throw new Error(
          `unknown template variable {{${name}}} (known: tenants, service, env, interval, interval_seconds)`,
        );
    }
  });
}
