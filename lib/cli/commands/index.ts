/**
 * Every CLI command, in `--help` order, as data: its name and the module that registers it. A command's module (and
 * everything it imports) is loaded only when that command runs — or when the full help is printed — so a process pays
 * for the one command it runs. A new command is one module exporting `register(program, ctx)` and one row here.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

/** How a command module adds itself. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/** One command: its name and how to load its `register`. */
export interface CommandRow {
  readonly name: string;
  readonly load: () => Promise<{ register: RegisterCommand }>;
}

export const COMMANDS: readonly CommandRow[] = [
  { name: 'headers', load: () => import('./headers.js') },
  { name: 'fetch', load: () => import('./fetch.js') },
  { name: 'vmlinux', load: () => import('./vmlinux.js') },
  { name: 'cflags', load: () => import('./cflags.js') },
  { name: 'compile', load: () => import('./compile.js') },
  { name: 'build', load: () => import('./build.js') },
  { name: 'btfgen', load: () => import('./btfgen.js') },
  { name: 'doctor', load: () => import('./doctor.js') },
  { name: 'init', load: () => import('./init.js') },
  { name: 'pack', load: () => import('./pack.js') },
  { name: 'cache', load: () => import('./cache.js') },
];

/** Global flags that take no value (so the first other word is the command). */
const GLOBAL_FLAGS = new Set(['--debug', '-q', '--quiet']);

/**
 * The commands a command line needs registered: just the one it names; none for `--version` alone; all of them
 * otherwise (no command, `--help`, an unknown or misspelt command: the help and commander's suggestions list them).
 */
export function commandsFor(args: readonly string[]): readonly CommandRow[] {
  const first = args.find((a) => !GLOBAL_FLAGS.has(a));
  if (first === '-V' || first === '--version') return [];
  const row = COMMANDS.find((c) => c.name === first);
  return row === undefined ? COMMANDS : [row];
}
