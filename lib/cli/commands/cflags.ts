/** `bpf-compile cflags`: the clang flags bpf-compile would use, for Makefiles. */
import type { Command } from 'commander';
import { cflagsOf } from '../../compile/flags.js';
import { addCompileOptions, compileOptionsOf, type CompileFlags } from '../compile-options.js';
import type { CliContext } from '../context.js';
import { shellQuote } from '../format.js';

export function register(program: Command, ctx: CliContext): void {
  addCompileOptions(
    program
      .command('cflags')
      .description('print the clang flags bpf-compile would use, as one shell-quoted line (for Makefiles: $(shell bpf-compile cflags))')
      .option('--json', 'print the flags as a JSON array')
      .argument('[source]', 'a C file to decide --mode auto by (default: kernel mode when headers are found, else plain)')
      .argument('[clangArgs...]', 'extra clang arguments, after --'),
  ).action(async (source: string | undefined, clangArgs: string[], flags: CompileFlags & { json?: boolean }) => {
    const { planCompile } = await import('../../compile/index.js');
    const planned = await ctx.withProgress((onProgress) => planCompile(compileOptionsOf(flags, source ?? '/dev/null', 'out.o', clangArgs, onProgress)));
    ctx.warn(planned.warnings);
    const cflags = cflagsOf(planned.plan);
    ctx.io.stdout(flags.json === true ? `${JSON.stringify(cflags)}\n` : `${cflags.map(shellQuote).join(' ')}\n`);
  });
}
