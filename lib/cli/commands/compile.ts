/** `bpf-compile compile`: one program to one BPF object. */
import type { Command } from 'commander';
import { compile, planCompile } from '../../compile/index.js';
import { addCompileOptions, compileOptionsOf, type CompileFlags } from '../compile-options.js';
import type { CliContext } from '../context.js';

export function register(program: Command, ctx: CliContext): void {
  addCompileOptions(
    program
      .command('compile')
      .description('compile an eBPF C program to a BPF object')
      .argument('<source>', 'the eBPF C file')
      .argument('[clangArgs...]', 'extra clang arguments, after --')
      .requiredOption('-o, --output <file>', 'the object to write (written atomically)')
      .option('--json', 'print a JSON summary (mode, output, headers, command lines) on stdout')
      .option('--no-cache', 'compile even when an unchanged object is cached')
      .addHelpText('after', '\nExample:\n  bpf-compile compile probe.bpf.c -o probe.bpf.o --kernel-release 6.1.0-56-amd64 -- -DDEBUG=1'),
  ).action(async (source: string, clangArgs: string[], flags: CompileFlags & { output: string; json?: boolean; cache: boolean }) => {
    const result = await ctx.withProgress(async (onProgress) => {
      const opts = { ...compileOptionsOf(flags, source, flags.output, clangArgs, onProgress), cache: flags.cache };
      if (ctx.debug()) {
        const p = await planCompile(opts);
        ctx.io.stderr(`bpf-compile: mode ${p.mode} (${p.modeReason})\n${JSON.stringify(p.plan, null, 2)}\n`);
      }
      return compile(opts);
    });
    if (result.diagnostics !== '') ctx.io.stderr(result.diagnostics.endsWith('\n') ? result.diagnostics : `${result.diagnostics}\n`);
    ctx.warn(result.warnings);
    if (flags.json === true) {
      ctx.io.stdout(
        `${JSON.stringify({ output: result.output, mode: result.mode, modeReason: result.modeReason, fromCache: result.fromCache, headers: result.headers ?? null, toolchain: result.toolchain, plan: result.plan }, null, 2)}\n`,
      );
    }
  });
}
