/**
 * `runbook completion bash`: the printed script, sourced into a real bash, completes commands,
 * subcommands and flags read from each command's usage text.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { commandWords, completionScript } from '../../src/cli/completion.js';
import { commands } from '../../src/cli.js';
import { ConfigError } from '../../src/errors.js';

/** Sources the script into bash and asks `_runbook` for the completions of `words`. */
function complete(script: string, words: string[]): string[] {
  const r = spawnSync(
    'bash',
    [
      '--noprofile',
      '--norc',
      '-c',
      `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _runbook; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ],
    { encoding: 'utf8' },
  );
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

describe('runbook completion', () => {
  const script = completionScript('bash', commands);

  it('completes command names, subcommands and flags', () => {
    expect(complete(script, ['runbook', 'mig'])).toEqual(['migrate']);
    expect(complete(script, ['runbook', 'migrate', 'a'])).toEqual(['apply']);
    expect(complete(script, ['runbook', 'rollout', 'set-'])).toEqual(['set-image', 'set-weight']);
    expect(complete(script, ['runbook', 'backfill', 'execute', '--batch'])).toEqual([
      '--batch-size',
    ]);
    expect(complete(script, ['runbook', 'db', 'start', '--d']).sort()).toEqual([
      '--debug',
      '--dir',
    ]);
  });

  it('reads every command and flag from the usage texts, so a new flag completes by itself', () => {
    expect(complete(script, ['runbook', '']).sort()).toEqual(
      [...commands.map((c) => c.name), '--help', '--version'].sort(),
    );
    const words = commandWords({ name: 'x', usage: 'usage: runbook x <one|two> [--new-flag N]' });
    expect(words).toEqual({
      name: 'x',
      subcommands: ['one', 'two'],
      flags: ['--help', '--new-flag'],
    });
  });

  it('prints a zsh script through bashcompinit, and refuses another shell', () => {
    expect(completionScript('zsh', commands)).toMatch(
      /^# runbook completion for zsh[^\n]*\nautoload -U \+X bashcompinit && bashcompinit\n/,
    );
    expect(() => completionScript('fish', commands)).toThrow(ConfigError);
  });
});
