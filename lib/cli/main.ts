/**
 * The `bpf-compile` CLI: the program, its global flags and error handling. Each command lives in `commands/` and
 * registers itself with the context of `context.ts`; this file only wires them.
 */
import { Command, CommanderError } from 'commander';
import { BpfCompileError, ErrorCode, errorDetails } from '../errors.js';
import { packageInfo } from '../system/package-info.js';
import { commandsFor } from './commands/index.js';
import { cliContext, defaultIo, type CliIo } from './context.js';
import { EXIT, EXIT_BY_ERROR, EXIT_HELP } from './exit-codes.js';
import { formatError } from './format.js';

export type { CliIo } from './context.js';
export type { TargetFlags } from './target-options.js';

/** Build the command tree for `args` (the words after the executable; see `commandsFor`). Actions write through `io`. */
export async function buildProgram(io: CliIo = defaultIo, args: readonly string[] = []): Promise<Command> {
  const program = new Command('bpf-compile');
  program
    .description('Find the right kernel headers and compile eBPF C programs with the right clang/LLVM pipeline.')
    .version(packageInfo().version, '-V, --version')
    .option('--debug', 'print stack traces and command lines')
    .option('-q, --quiet', 'print no warnings')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${EXIT_HELP}`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();
  const ctx = cliContext(program, io);
  const rows = commandsFor(args);
  const modules = await Promise.all(rows.map((r) => r.load()));
  for (const m of modules) m.register(program, ctx);
  return program;
}

/** Run the CLI; resolves to the exit code (never throws). */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = await buildProgram(io, argv.slice(2));
  try {
    await program.parseAsync([...argv]);
    return EXIT.OK;
  } catch (err) {
    const debug = argv.includes('--debug');
    if (err instanceof CommanderError) {
      // help and version exit 0; every other commander error is a usage error (commander printed it already)
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (err instanceof BpfCompileError) {
      const diag = errorDetails(err, ErrorCode.COMPILE_FAILED)?.diagnostics;
      if (diag !== undefined && diag !== '') io.stderr(diag.endsWith('\n') ? diag : `${diag}\n`);
      io.stderr(`${formatError(err, debug)}\n`);
      return EXIT_BY_ERROR[err.code];
    }
    io.stderr(`bpf-compile: internal error: ${err instanceof Error ? (debug ? err.stack : err.message) : String(err)}\n`);
    if (!debug) io.stderr('hint: this is a bug; run again with --debug and report the output\n');
    return EXIT.INTERNAL;
  }
}
