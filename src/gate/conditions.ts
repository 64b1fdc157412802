/**
 * The condition grammar of a metric: `< 1%`, `<= 500ms`, `== 0`, `<= baseline * 1.5 + 0.1%`,
 * with `%`, `ms` and `s` converted to the metric's unit.
 */
import type { Unit } from './schema.js';

/** Comparison operators a condition may use. */
export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

/**
 * A parsed condition. The measured value passes when `value <op> threshold`, where
 * `threshold = baseline × factor + offset` for a baseline-relative condition and the constant
 * `threshold` otherwise (already converted to the metric's unit).
 */
export interface Condition {
  op: Operator;
  /** Constant threshold in the metric's unit (absent when relative to the baseline). */
  threshold?: number;
  /** Baseline-relative: `baseline × factor + offset`. */
  relative?: { factor: number; offset: number };
  /** The condition as written, for reports. */
  text: string;
}

const CONDITION_RE =
  /^\s*(<=|>=|==|!=|<|>)\s*(?:(baseline)\s*(?:\*\s*([0-9.eE+-]+))?\s*(?:([+-])\s*([0-9.eE+-]+)\s*(%|ms|s)?)?|([+-]?[0-9.]+(?:[eE][+-]?\d+)?)\s*(%|ms|s)?)\s*$/;

function convert(n: number, suffix: string | undefined, unit: Unit, text: string): number {
  if (!suffix) return n;
  if (suffix === '%') {
    if (unit === 'ratio') return n / 100;
    if (unit === 'percent') return n;
    throw new Error(
      `'${text}' uses % but the metric's unit is '${unit}' (state unit: ratio or percent)`,
    );
  }
  const ms = suffix === 'ms' ? n : n * 1000;
  if (unit === 'seconds') return ms / 1000;
  if (unit === 'milliseconds') return ms;
  throw new Error(
    `'${text}' uses ${suffix} but the metric's unit is '${unit}' (state unit: seconds or milliseconds)`,
  );
}

/**
 * Parses a condition such as `< 0.01`, `< 1%`, `<= 500ms`, `== 0` or `<= baseline * 1.5 + 0.001`.
 * Suffixes `%`, `ms`, `s` are converted to the metric's `unit`.
 * @throws Error with a message naming the condition (the loader adds file and line)
 */
export function parseCondition(text: string, unit: Unit = 'none'): Condition {
  const m = CONDITION_RE.exec(text);
  if (!m) {
    throw new Error(
      `condition '${text}' is not understood (write e.g. "< 0.01", "< 1%", "<= 500ms", "== 0", "<= baseline * 1.5 + 0.001")`,
    );
  }
  const op = m[1] as Operator;
  if (m[2]) {
    const factor = m[3] !== undefined ? Number(m[3]) : 1;
    let offset = m[5] !== undefined ? convert(Number(m[5]), m[6], unit, text) : 0;
    if (m[4] === '-') offset = -offset;
    if (!Number.isFinite(factor) || !Number.isFinite(offset)) {
      throw new Error(`condition '${text}' has a number that is not finite`);
    }
    return { op, relative: { factor, offset }, text: text.trim() };
  }
  const n = Number(m[7]);
  if (!Number.isFinite(n)) throw new Error(`condition '${text}' has a number that is not finite`);
  return { op, threshold: convert(n, m[8], unit, text), text: text.trim() };
}

/** True when `value <op> threshold` holds. */
export function holds(op: Operator, value: number, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
