/**
 * Shell completion for `runbook`: `runbook completion bash|zsh` prints a script that completes
 * command names, their subcommands and their flags. What it completes is read from each command's
 * own usage text (the `<a|b|c>` of its first line or its `commands:` block, and every `--flag` it
 * mentions), so a new command or flag completes without touching this file.
 *
 * Sources: bash manual §8.6 "Programmable Completion" (`complete -F`, `COMPREPLY`, `compgen -W`);
 * zsh manual §20 "Completion System" (`compdef`, `_describe`, `compadd`), used through
 * `bashcompinit` so one function serves both.
 */
import type { CliCommand } from './types.js';
import { ConfigError } from '../errors.js';

/** What one command completes to: its subcommands (possibly none) and its flags. */
export interface CommandWords {
  name: string;
  subcommands: string[];
  flags: string[];
}

/**
 * Reads the words a command completes to from its usage text.
 * @returns subcommands from `<a|b|c>` on the usage line or from a `commands:`/`subcommands:`
 *   block (two-space indented `name  description` lines), and every distinct `--flag`
 */
export function commandWords(cmd: Pick<CliCommand, 'name' | 'usage'>): CommandWords {
  const lines = cmd.usage.split('\n');
  const subs = new Set<string>();
  const alt = /<([a-z][a-z0-9-]*(?:\|[a-z][a-z0-9-]*)+)>/.exec(lines[0] ?? '');
  if (alt) for (const s of alt[1].split('|')) subs.add(s);
  let inBlock = false;
  for (const line of lines) {
    if (/^(sub)?commands:\s*$/.test(line)) {
      inBlock = true;
      continue;
    }
    if (inBlock) {
      const m = /^ {2}([a-z][a-z0-9-]*)\s{2,}/.exec(line);
      if (m) subs.add(m[1]);
      else if (line.trim() === '' || !line.startsWith(' ')) inBlock = false;
    }
  }
  const flags = new Set(cmd.usage.match(/--[a-z][a-z0-9-]*/g) ?? []);
  flags.add('--help');
  return { name: cmd.name, subcommands: [...subs], flags: [...flags].sort() };
}

/**
 * The completion script for `shell`.
 * @param commands every `runbook` command
 * @throws ConfigError for a shell other than bash or zsh
 */
export function completionScript(shell: string, commands: readonly CliCommand[]): string {
  if (shell !== 'bash' && shell !== 'zsh') {
    throw new ConfigError(`expected bash or zsh, got '${shell}'`, undefined, 'completion');
  }
  const words = commands.map(commandWords);
  const cases = words
    .map(
      (w) =>
        `    ${w.name}) subs=${JSON.stringify(w.subcommands.join(' '))}; flags=${JSON.stringify(w.flags.join(' '))} ;;`,
    )
    .join('\n');
  const fn = `_runbook() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} subs="" flags=""
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W ${JSON.stringify([...words.map((w) => w.name), '--version', '--help'].join(' '))} -- "$cur"))
    return
  fi
  case "$cmd" in
${cases}
  esac
  if [ "$COMP_CWORD" -eq 2 ] && [ -n "$subs" ] && [[ "$cur" != -* ]]; then
    COMPREPLY=($(compgen -W "$subs" -- "$cur"))
  elif [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags --debug" -- "$cur"))
  else
    COMPREPLY=($(compgen -f -- "$cur"))
  fi
}`;
  const head =
    shell === 'bash'
      ? '# runbook completion for bash: eval "$(runbook completion bash)" in ~/.bashrc'
      : '# runbook completion for zsh: eval "$(runbook completion zsh)" in ~/.zshrc\nautoload -U +X bashcompinit && bashcompinit';
  return `${head}\n${fn}\ncomplete -o filenames -F _runbook runbook\n`;
}

/** The `runbook completion` command; `commands` is read when it runs, so it lists itself too. */
export function completionCommand(commands: () => readonly CliCommand[]): CliCommand {
  return {
    name: 'completion',
    summary: 'print a bash or zsh completion script (eval "$(runbook completion bash)")',
    usage: `usage: runbook completion <bash|zsh>

Prints a script that completes commands, subcommands and flags. Add to ~/.bashrc or ~/.zshrc:
  eval "$(runbook completion bash)"     # or zsh

exit codes: 0 printed, 2 another shell`,
    run: async (argv) => {
      const shell = argv.filter((a) => !a.startsWith('-'))[0] ?? '';
      process.stdout.write(completionScript(shell, commands()));
      return 0;
    },
  };
}
