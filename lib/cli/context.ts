/**
 * What every CLI command gets: where to write (`io`), the global flags, warnings and progress bars. Built once per
 * program by {@link cliContext}; each command module exports one `register(program, ctx)` (see `commands/index.ts`).
 */
import type { Command } from 'commander';
import type { CompileFn } from '../build/index.js';
import type { ResolveOptions } from '../resolve.js';
import { progressBar, type ProgressStream } from './progress.js';
import { writeStd } from './std-write.js';
import { stderrIsTerminal } from '../system/terminal.js';

/** Where the CLI writes. Tests swap these. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Where progress bars go (a TTY shows them). Default: `process.stderr` when it is a terminal (see {@link progressStream}). */
  progress?: ProgressStream;
}

/** Where a bar that can never show goes: stderr is not a terminal. */
const NO_TERMINAL: ProgressStream = { isTTY: false, write: () => true };

/**
 * Where progress bars go: `io.progress`, else `process.stderr` when it is a terminal. A pipe or a file never shows a
 * bar, and asking `process.stderr.isTTY` there would build the stream (a `net.Socket` for a pipe) in the middle of an
 * extraction for nothing.
 */
export function progressStream(io: CliIo): ProgressStream {
  return io.progress ?? (stderrIsTerminal() ? process.stderr : NO_TERMINAL);
}

/** The process's own stdout and stderr (written as `std-write.ts` says). */
export const defaultIo: CliIo = {
  stdout: (t) => writeStd('stdout', t),
  stderr: (t) => writeStd('stderr', t),
};

/** The context a command runs in. */
export interface CliContext {
  readonly io: CliIo;
  /** `-q/--quiet` was given. */
  quiet(): boolean;
  /** `--debug` was given. */
  debug(): boolean;
  /** Print warnings (not under `--quiet`). */
  warn(warnings: readonly string[]): void;
  /** Run `fn` with a progress callback that draws one bar on stderr for long steps (silent when not a TTY or quiet). */
  withProgress<T>(fn: (onProgress: ResolveOptions['onProgress']) => Promise<T>): Promise<T>;
  /** The compile function `build` uses (tests inject a fake). Default: `compile()`. */
  readonly compileFn?: CompileFn;
}

/** The context of `program` (its global flags are read when a command runs). */
export function cliContext(program: Command, io: CliIo, extra: { compileFn?: CompileFn } = {}): CliContext {
  const globals = (): { quiet?: boolean; debug?: boolean } => program.opts<{ quiet?: boolean; debug?: boolean }>();
  const quiet = (): boolean => globals().quiet === true;
  return {
    io,
    quiet,
    debug: () => globals().debug === true,
    warn(warnings) {
      if (!quiet()) for (const w of warnings) io.stderr(`bpf-compile: warning: ${w}\n`);
    },
    async withProgress(fn) {
      let bar: ReturnType<typeof progressBar> | undefined;
      try {
        return await fn((p) => {
          bar ??= progressBar(p.what, progressStream(io), quiet());
          bar.update({ done: p.done, total: p.total });
        });
      } finally {
        bar?.finish();
      }
    },
    ...(extra.compileFn === undefined ? {} : { compileFn: extra.compileFn }),
  };
}
