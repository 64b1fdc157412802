/**
 * The terminal rendering of report Markdown (src/report/terminal.ts): what `runbook` prints in
 * place of a job summary.
 */
import { describe, expect, it } from '@jest/globals';
import { colorWanted, renderForTerminal } from '../../src/report/terminal.js';
import { table } from '../../src/report/markdown.js';

/** The escape character that starts an ANSI colour sequence. */
const ESC = String.fromCharCode(27);

const report = [
  '## Canary gate: fail',
  '',
  table(
    ['Metric', 'Last value', 'Status'],
    [
      ['5xx | rate', '6.3%', 'failed'],
      ['p99', '0.341', 'ok'],
    ],
  ),
  '**5xx-rate** `< 1%`; lines in order: value, threshold.',
  '',
  '```mermaid',
  'xychart-beta',
  '  title "5xx-rate < 1%"',
  '  x-axis ["19:06", "19:07", "19:08"]',
  '  line [0, 0.5, 6]',
  '  line [1, 1, 1]',
  '```',
  '',
  '```sql',
  'SELECT 1;',
  '```',
].join('\n');

describe('renderForTerminal', () => {
  const text = renderForTerminal(report, { color: false });

  it('prints no Markdown or Mermaid syntax', () => {
    expect(text).not.toMatch(/```|xychart-beta|\| --- \||\*\*|^## /m);
  });

  it('draws tables as aligned boxes, keeping an escaped pipe inside its cell', () => {
    const rows = text.split('\n').filter((l) => l.startsWith('│'));
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.length)).size).toBe(1);
    expect(rows[1]).toMatch(/│ 5xx \| rate\s+│ 6\.3%\s+│ failed\s+│/);
  });

  it('draws each chart series as a sparkline on one shared scale, named from the report', () => {
    expect(text).toMatch(/5xx-rate < 1% {2}\(19:06 → 19:08, scale 0 … 6\)/);
    expect(text).toMatch(/ value {6}▁▂█ {2}last 6/);
    expect(text).toMatch(/ threshold {2}▂▂▂ {2}last 1/);
    expect(text).toMatch(/^ {4}SELECT 1;$/m);
  });

  it('leaves plain lines as they are, and adds colour only when asked', () => {
    expect(renderForTerminal('#1 canary 0.5% ok', { color: false })).toBe('#1 canary 0.5% ok');
    expect(text.includes(ESC)).toBe(false);
    expect(renderForTerminal('## Title', { color: true })).toContain(`${ESC}[1m`);
  });
});

describe('colorWanted', () => {
  it('follows NO_COLOR, FORCE_COLOR and the TTY', () => {
    expect(colorWanted({ isTTY: true }, {})).toBe(true);
    expect(colorWanted({ isTTY: false }, {})).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1', FORCE_COLOR: '1' })).toBe(false);
  });
});
