/**
 * Finds the instant-vector selectors of a PromQL query (`http_requests_total{code=~"5.."}`,
 * `up`, `{__name__="x"}`), so the gate can ask Prometheus whether each matches any series
 * before an aggregation or `or vector(0)` turns "nothing matched" into a zero. Follows the
 * PromQL grammar of prometheus.io/docs/prometheus/latest/querying/basics (selectors, range
 * brackets, `offset`/`@` modifiers, grouping clauses) without evaluating anything; a selector
 * it cannot read is left out rather than guessed.
 */

/** One selector of a query. */
export interface VectorSelector {
  /** The selector as written, without range or modifiers, e.g. `errors_total{code=~"5.."}`. */
  text: string;
  /** The metric name, when the selector has one. */
  metric?: string;
  /** Label names its matchers use (not `__name__`). */
  labels: string[];
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'atan2',
  'inf',
  'nan',
  'start',
  'end',
  // Aggregation operators, which may be followed by a grouping clause before their `(`.
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
  'bottomk',
  'topk',
  'quantile',
  'limitk',
  'limit_ratio',
]);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);

/** Index after the quoted string starting at `i`. */
function skipString(q: string, i: number): number {
  const quote = q[i];
  for (let j = i + 1; j < q.length; j++) {
    if (q[j] === '\\' && quote !== '`') j++;
    else if (q[j] === quote) return j + 1;
  }
  return q.length;
}

/** Index after the bracketed group opening at `i` (`(`, `[` or `{`), quotes respected. */
function skipGroup(q: string, i: number): number {
  const open = q[i];
  const close = open === '(' ? ')' : open === '[' ? ']' : '}';
  let depth = 0;
  for (let j = i; j < q.length;) {
    const c = q[j];
    if (c === '"' || c === "'" || c === '`') {
      j = skipString(q, j);
      continue;
    }
    if (c === open) depth++;
    else if (c === close && --depth === 0) return j + 1;
    j++;
  }
  return q.length;
}

function labelsOf(matchers: string): string[] {
  const names: string[] = [];
  const re =
    /([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)/g;
  for (const m of matchers.matchAll(re)) if (m[1] !== '__name__') names.push(m[1]);
  return [...new Set(names)];
}

/** The instant-vector selectors of `query`, in order of appearance. */
export function vectorSelectors(query: string): VectorSelector[] {
  const out: VectorSelector[] = [];
  const q = query;
  let i = 0;
  while (i < q.length) {
    const c = q[i];
    if (c === '"' || c === "'" || c === '`') {
      i = skipString(q, i);
      continue;
    }
    if (c === '#') {
      const nl = q.indexOf('\n', i);
      i = nl < 0 ? q.length : nl + 1;
      continue;
    }
    if (c === '[') {
      i = skipGroup(q, i);
      continue;
    }
    if (c === '{') {
      const end = skipGroup(q, i);
      const body = q.slice(i, end);
      const name = /__name__\s*=\s*"([^"]+)"/.exec(body)?.[1];
      out.push({ text: body, ...(name ? { metric: name } : {}), labels: labelsOf(body) });
      i = end;
      continue;
    }
    if (/[0-9]/.test(c)) {
      // A number or a duration (`5m`, `1e3`): not a name.
      const m = /^[0-9][0-9A-Za-z_.]*/.exec(q.slice(i))!;
      i += m[0].length;
      continue;
    }
    if (/[A-Za-z_:]/.test(c)) {
      const ident = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(q.slice(i))![0];
      let j = i + ident.length;
      while (j < q.length && /\s/.test(q[j])) j++;
      const lower = ident.toLowerCase();
      if (GROUPING.has(lower)) {
        i = q[j] === '(' ? skipGroup(q, j) : j;
        continue;
      }
      if (q[j] === '(' || KEYWORDS.has(lower)) {
        i = j;
        continue;
      }
      if (q[j] === '{') {
        const end = skipGroup(q, j);
        out.push({
          text: ident + q.slice(j, end),
          metric: ident,
          labels: labelsOf(q.slice(j, end)),
        });
        i = end;
        continue;
      }
      out.push({ text: ident, metric: ident, labels: [] });
      i = j;
      continue;
    }
    i++;
  }
  return out;
}
