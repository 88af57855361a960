import { Command, CommanderError, Option } from 'commander';
import { knownArchNames } from '../arch.js';
import { cflagsOf } from '../compile/flags.js';
import { compile, planCompile, type CompileMode, type CompileOptions } from '../compile/index.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { resolveHeaders, type ResolveOptions } from '../resolve.js';
import { packageInfo } from '../system/package-info.js';
import { EXIT, EXIT_BY_ERROR, EXIT_HELP } from './exit-codes.js';
import { formatError, formatHeaders, shellQuote } from './format.js';

/** Options every command that targets a kernel takes. */
interface TargetFlags {
  kernelRelease?: string;
  arch?: string;
  root?: string;
  strict?: boolean;
  kernelSource?: string;
  kernelBuild?: string;
}

interface CompileFlags extends TargetFlags {
  mode: CompileMode;
  cpu?: string;
  libbpfInclude?: string;
  clang?: string;
  opt?: string;
  llc?: string;
}

interface GlobalFlags {
  debug?: boolean;
  quiet?: boolean;
}

/** Where the CLI writes. Tests swap these. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

function addTargetOptions(cmd: Command): Command {
  return cmd
    .option('--kernel-release <release>', 'target kernel release (default: the running kernel, uname -r)')
    .option('--arch <arch>', `target arch, uname -m or SRCARCH name (default: this machine): ${knownArchNames().join(', ')}`)
    .option('--root <dir>', 'look up /lib/modules, /sys, /proc, /usr/include under DIR (default: /)')
    .option('--kernel-source <dir>', 'use this kernel source tree (beats BPF_KERNEL_SOURCE, BCC_KERNEL_SOURCE)')
    .option('--kernel-build <dir>', 'use this kernel build tree (default: the source tree)')
    .option('--strict', 'fail when the headers are for another release than the target');
}

function addCompileOptions(cmd: Command): Command {
  return addTargetOptions(cmd)
    .addOption(new Option('--mode <mode>', 'pipeline: kernel (kernel headers), plain (uapi + libbpf only), auto').choices(['auto', 'kernel', 'plain']).default('auto'))
    .option('--cpu <cpu>', 'BPF ISA for -mcpu (default: newest the target kernel accepts: v3 from 5.1, v2 from 4.14, else v1)')
    .option('--libbpf-include <dir>', 'dir holding bpf/bpf_helpers.h (default: /usr/include or /usr/local/include)')
    .option('--clang <path>', 'clang to use (default: $CLANG, clang, clang-<N>)')
    .option('--opt <path>', 'opt to use (default: $OPT, else the one matching clang)')
    .option('--llc <path>', 'llc to use (default: $LLC, else the one matching clang)');
}

function resolveOptionsOf(f: TargetFlags): ResolveOptions {
  return {
    kernelRelease: f.kernelRelease,
    arch: f.arch,
    root: f.root,
    strict: f.strict ?? false,
    kernelSource: f.kernelSource,
    kernelBuild: f.kernelBuild,
  };
}

function compileOptionsOf(f: CompileFlags, source: string, output: string, extraArgs: readonly string[]): CompileOptions {
  return { ...resolveOptionsOf(f), source, output, mode: f.mode, cpu: f.cpu, libbpfInclude: f.libbpfInclude, clang: f.clang, opt: f.opt, llc: f.llc, extraArgs };
}

/** Build the command tree. Actions write through `io`. */
export function buildProgram(io: CliIo = defaultIo): Command {
  const program = new Command('bpf-compile');
  const globals = (): GlobalFlags => program.opts<GlobalFlags>();
  const warn = (warnings: readonly string[]): void => {
    if (globals().quiet !== true) for (const w of warnings) io.stderr(`bpf-compile: warning: ${w}\n`);
  };

  program
    .description('Find the right kernel headers and compile eBPF C programs with the right clang/LLVM pipeline.')
    .version(packageInfo().version, '-V, --version')
    .option('--debug', 'print stack traces and command lines')
    .option('-q, --quiet', 'print no warnings')
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `\n${EXIT_HELP}`)
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .exitOverride();

  addTargetOptions(
    program
      .command('headers')
      .description('find kernel headers for the target kernel and show where they came from and what was tried')
      .option('--json', 'print the result as JSON'),
  ).action(async (flags: TargetFlags & { json?: boolean }) => {
    const headers = await resolveHeaders(resolveOptionsOf(flags));
    if (flags.json === true) io.stdout(`${JSON.stringify(headers, null, 2)}\n`);
    else io.stdout(`${formatHeaders(headers)}\n`);
  });

  addCompileOptions(
    program
      .command('cflags')
      .description('print the clang flags bpf-compile would use, as one shell-quoted line (for Makefiles: $(shell bpf-compile cflags))')
      .option('--json', 'print the flags as a JSON array')
      .argument('[source]', 'a C file to decide --mode auto by (default: kernel mode when headers are found, else plain)')
      .argument('[clangArgs...]', 'extra clang arguments, after --'),
  ).action(async (source: string | undefined, clangArgs: string[], flags: CompileFlags & { json?: boolean }) => {
    const planned = await planCompile(compileOptionsOf(flags, source ?? '/dev/null', 'out.o', clangArgs));
    warn(planned.warnings);
    const cflags = cflagsOf(planned.plan);
    io.stdout(flags.json === true ? `${JSON.stringify(cflags)}\n` : `${cflags.map(shellQuote).join(' ')}\n`);
  });

  addCompileOptions(
    program
      .command('compile')
      .description('compile an eBPF C program to a BPF object')
      .argument('<source>', 'the eBPF C file')
      .argument('[clangArgs...]', 'extra clang arguments, after --')
      .requiredOption('-o, --output <file>', 'the object to write (written atomically)')
      .option('--json', 'print a JSON summary (mode, output, headers, command lines) on stdout')
      .addHelpText('after', '\nExample:\n  bpf-compile compile probe.bpf.c -o probe.bpf.o --kernel-release 6.1.0-56-amd64 -- -DDEBUG=1'),
  ).action(async (source: string, clangArgs: string[], flags: CompileFlags & { output: string; json?: boolean }) => {
    const opts = compileOptionsOf(flags, source, flags.output, clangArgs);
    if (globals().debug === true) {
      const p = await planCompile(opts);
      io.stderr(`bpf-compile: mode ${p.mode} (${p.modeReason})\n${JSON.stringify(p.plan, null, 2)}\n`);
    }
    const result = await compile(opts);
    if (result.diagnostics !== '') io.stderr(result.diagnostics.endsWith('\n') ? result.diagnostics : `${result.diagnostics}\n`);
    warn(result.warnings);
    if (flags.json === true) {
      io.stdout(`${JSON.stringify({ output: result.output, mode: result.mode, modeReason: result.modeReason, headers: result.headers ?? null, toolchain: result.toolchain, plan: result.plan }, null, 2)}\n`);
    }
  });

  return program;
}

/** Run the CLI; resolves to the exit code (never throws). */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const program = buildProgram(io);
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
      if (err.code === ErrorCode.COMPILE_FAILED) {
        const diag = err.details['diagnostics'];
        if (typeof diag === 'string' && diag !== '') io.stderr(diag.endsWith('\n') ? diag : `${diag}\n`);
      }
      io.stderr(`${formatError(err, debug)}\n`);
      return EXIT_BY_ERROR[err.code];
    }
    io.stderr(`bpf-compile: internal error: ${err instanceof Error ? (debug ? err.stack : err.message) : String(err)}\n`);
    if (!debug) io.stderr('hint: this is a bug; run again with --debug and report the output\n');
    return EXIT.INTERNAL;
  }
}
