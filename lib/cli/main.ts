import { Command, CommanderError, Option } from 'commander';
import { cflagsOf } from '../compile/flags.js';
import type { CompileMode, CompileOptions } from '../compile/index.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { resolveHeaders, type ResolveOptions } from '../resolve.js';
import { packageInfo } from '../system/package-info.js';
import { EXIT, EXIT_BY_ERROR, EXIT_HELP } from './exit-codes.js';
import { addTargetOptions, collect, resolveOptionsOf, type TargetFlags } from './target-options.js';

export type { TargetFlags } from './target-options.js';
import { addBuildCommand } from './commands/build.js';
import { addDoctorCommand } from './commands/doctor.js';
import { addInitCommand } from './commands/init.js';
import { addPackCommand } from './commands/pack.js';
import { formatEnv, formatError, formatHeaders, shellQuote } from './format.js';
import { progressBar, type ProgressStream } from './progress.js';
import { formatBytes, parseDuration, parseSize } from './units.js';
import type { CacheRef, PruneOptions, PruneResult } from '../cache/index.js';
import type { HeaderKind } from '../sources/index.js';
import { tempOutputPath } from '../compile/run.js';
import fs from 'node:fs/promises';
import path from 'node:path';


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
  /** Where progress bars go (a TTY shows them). Default: `process.stderr`. */
  progress?: ProgressStream;
}

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};



function addCompileOptions(cmd: Command): Command {
  return addTargetOptions(cmd)
    .addOption(new Option('--mode <mode>', 'pipeline: kernel (kernel headers), core (CO-RE, vmlinux.h from BTF), plain (uapi + libbpf only), auto').choices(['auto', 'kernel', 'core', 'plain']).default('auto'))
    .option('--cpu <cpu>', 'BPF ISA for -mcpu (default: newest the target kernel accepts: v3 from 5.1, v2 from 4.14, else v1)')
    .option('--libbpf-include <dir>', 'dir holding bpf/bpf_helpers.h (default: /usr/include or /usr/local/include)')
    .option('--clang <path>', 'clang to use (default: $CLANG, clang, clang-<N>)')
    .option('--opt <path>', 'opt to use (default: $OPT, else the one matching clang)')
    .option('--llc <path>', 'llc to use (default: $LLC, else the one matching clang)');
}


function compileOptionsOf(f: CompileFlags, source: string, output: string, extraArgs: readonly string[], onProgress?: ResolveOptions['onProgress']): CompileOptions {
  return { ...resolveOptionsOf(f, onProgress), source, output, mode: f.mode, cpu: f.cpu, libbpfInclude: f.libbpfInclude, clang: f.clang, opt: f.opt, llc: f.llc, extraArgs };
}

/** Build the command tree. Actions write through `io`. */
export function buildProgram(io: CliIo = defaultIo): Command {
  const program = new Command('bpf-compile');
  const globals = (): GlobalFlags => program.opts<GlobalFlags>();
  const warn = (warnings: readonly string[]): void => {
    if (globals().quiet !== true) for (const w of warnings) io.stderr(`bpf-compile: warning: ${w}\n`);
  };
  /** A progress bar on stderr for cold extractions (silent when not a TTY or with --quiet). */
  const withProgress = async <T>(fn: (onProgress: ResolveOptions['onProgress']) => Promise<T>): Promise<T> => {
    let bar: ReturnType<typeof progressBar> | undefined;
    try {
      return await fn((p) => {
        bar ??= progressBar(p.what, io.progress ?? process.stderr, globals().quiet === true);
        bar.update({ done: p.done, total: p.total });
      });
    } finally {
      bar?.finish();
    }
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
      .option('--json', 'print the result as JSON')
      .option('--env', 'print BCC_KERNEL_SOURCE=… and BPFTRACE_KERNEL_SOURCE/BUILD=… lines, so BCC and bpftrace use these headers')
      .addOption(new Option('--kind <kind>', 'only accept a kernel tree or a generated vmlinux.h').choices(['kernel-tree', 'vmlinux'])),
  ).action(async (flags: TargetFlags & { json?: boolean; env?: boolean; kind?: HeaderKind }) => {
    if (flags.env === true) {
      const tree = await withProgress((onProgress) => resolveHeaders({ ...resolveOptionsOf(flags, onProgress), kind: 'kernel-tree' }));
      warn(tree.warnings);
      io.stdout(formatEnv(tree));
      return;
    }
    const headers = await withProgress((onProgress) => resolveHeaders({ ...resolveOptionsOf(flags, onProgress), ...(flags.kind === undefined ? {} : { kind: flags.kind }) }));
    if (flags.json === true) io.stdout(`${JSON.stringify(headers, null, 2)}\n`);
    else io.stdout(`${formatHeaders(headers)}\n`);
  });

  addTargetOptions(
    program
      .command('fetch')
      .description('download the target kernel\'s headers (from the mirrors, else the distribution\'s own repositories) or, with --kind vmlinux, its BTF, into the cache (image builds, CI); offline afterwards')
      .addOption(
        new Option('--kind <kind>', 'kernel-tree: the headers archive, extracted; vmlinux: vmlinux.h from BTF (the live BTF when it describes the target, else the mirror\'s)')
          .choices(['kernel-tree', 'vmlinux'])
          .default('kernel-tree'),
      )
      .option('--json', 'print the result as JSON'),
  ).action(async (flags: TargetFlags & { json?: boolean; kind: HeaderKind }) => {
    const options = (onProgress: ResolveOptions['onProgress']): ResolveOptions => ({ ...resolveOptionsOf(flags, onProgress), sources: flags.kind === 'vmlinux' ? ['btf'] : ['fetch', 'distro'], kind: flags.kind });
    const h = await withProgress((onProgress) => resolveHeaders(options(onProgress)));
    warn(h.warnings);
    io.stdout(flags.json === true ? `${JSON.stringify(h, null, 2)}\n` : `${formatHeaders(h)}\n`);
  });

  addTargetOptions(
    program
      .command('vmlinux')
      .description('write vmlinux.h generated from BTF (the running kernel\'s, --btf FILE, or the target release\'s from a --mirror) for CO-RE programs; no bpftool needed')
      .option('-o, --output <file>', 'write here (atomically) instead of stdout')
      .option('--module <name>', 'same as --btf-module: add this module\'s BTF; repeatable', collect, []),
  ).action(async (flags: TargetFlags & { output?: string; module?: string[] }) => {
    const withModules = { ...flags, btfModule: [...(flags.btfModule ?? []), ...(flags.module ?? [])] };
    const h = await withProgress((onProgress) => resolveHeaders({ ...resolveOptionsOf(withModules, onProgress), kind: 'vmlinux' }));
    warn(h.warnings);
    if (flags.output === undefined) {
      io.stdout(await fs.readFile(h.header, 'utf8'));
      return;
    }
    const out = path.resolve(flags.output);
    const tmp = tempOutputPath(out);
    try {
      await fs.copyFile(h.header, tmp);
      await fs.chmod(tmp, 0o644);
      await fs.rename(tmp, out);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot write ${flags.output}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  });

  addCompileOptions(
    program
      .command('cflags')
      .description('print the clang flags bpf-compile would use, as one shell-quoted line (for Makefiles: $(shell bpf-compile cflags))')
      .option('--json', 'print the flags as a JSON array')
      .argument('[source]', 'a C file to decide --mode auto by (default: kernel mode when headers are found, else plain)')
      .argument('[clangArgs...]', 'extra clang arguments, after --'),
  ).action(async (source: string | undefined, clangArgs: string[], flags: CompileFlags & { json?: boolean }) => {
    const { planCompile } = await import('../compile/index.js');
    const planned = await withProgress((onProgress) => planCompile(compileOptionsOf(flags, source ?? '/dev/null', 'out.o', clangArgs, onProgress)));
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
      .option('--no-cache', 'compile even when an unchanged object is cached')
      .addHelpText('after', '\nExample:\n  bpf-compile compile probe.bpf.c -o probe.bpf.o --kernel-release 6.1.0-56-amd64 -- -DDEBUG=1'),
  ).action(async (source: string, clangArgs: string[], flags: CompileFlags & { output: string; json?: boolean; cache: boolean }) => {
    const { compile, planCompile } = await import('../compile/index.js');
    const result = await withProgress(async (onProgress) => {
      const opts = { ...compileOptionsOf(flags, source, flags.output, clangArgs, onProgress), cache: flags.cache };
      if (globals().debug === true) {
        const p = await planCompile(opts);
        io.stderr(`bpf-compile: mode ${p.mode} (${p.modeReason})\n${JSON.stringify(p.plan, null, 2)}\n`);
      }
      return compile(opts);
    });
    if (result.diagnostics !== '') io.stderr(result.diagnostics.endsWith('\n') ? result.diagnostics : `${result.diagnostics}\n`);
    warn(result.warnings);
    if (flags.json === true) {
      io.stdout(`${JSON.stringify({ output: result.output, mode: result.mode, modeReason: result.modeReason, fromCache: result.fromCache, headers: result.headers ?? null, toolchain: result.toolchain, plan: result.plan }, null, 2)}\n`);
    }
  });

  addBuildCommand(program, io, { addCompileOptions, compileOptionsOf });
  addDoctorCommand(program, io, addTargetOptions);
  addInitCommand(program, io);
  addPackCommand(program, io, addTargetOptions);
  addCacheCommand(program, io);
  return program;
}

function addCacheCommand(program: Command, io: CliIo): void {
  const cache = program.command('cache').description('inspect and clean the cache of extracted headers (path, list, prune, clear)');
  const ref = (f: { cacheDir?: string }): CacheRef => ({ cacheDir: f.cacheDir });
  const printResult = (r: PruneResult, json: boolean | undefined): void => {
    if (json === true) return io.stdout(`${JSON.stringify(r, null, 2)}\n`);
    for (const e of r.removed) io.stdout(`removed ${e.namespace}/${e.key} (${formatBytes(e.bytes)})\n`);
    for (const e of r.skippedInUse) io.stdout(`kept ${e.namespace}/${e.key}: in use\n`);
    io.stdout(`${r.removed.length} removed, ${formatBytes(r.freedBytes)} freed, ${r.kept} kept${r.leftoversRemoved.length > 0 ? `, ${r.leftoversRemoved.length} leftovers cleaned` : ''}\n`);
  };
  cache
    .command('path')
    .description('print the cache directory')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--json', 'print as JSON')
    .action(async (f: { cacheDir?: string; json?: boolean }) => {
      const { cachePath } = await import('../cache/index.js');
      const p = cachePath(ref(f));
      io.stdout(f.json === true ? `${JSON.stringify(p)}\n` : `${p.path}\n`);
    });
  cache
    .command('list')
    .description('list cache entries')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--json', 'print as JSON')
    .action(async (f: { cacheDir?: string; json?: boolean }) => {
      const { listEntries } = await import('../cache/index.js');
      const entries = listEntries(ref(f));
      if (f.json === true) return io.stdout(`${JSON.stringify(entries, null, 2)}\n`);
      for (const e of entries) {
        io.stdout(`${e.namespace}/${e.key}  ${e.release ?? '-'}  ${e.files} files  ${formatBytes(e.bytes)}  used ${e.lastUsedAt}${e.inUse ? '  (in use)' : ''}\n`);
      }
      io.stdout(`${entries.length} entries, ${formatBytes(entries.reduce((n, e) => n + e.bytes, 0))}\n`);
    });
  cache
    .command('prune')
    .description('remove entries unused for a while or beyond a total size (never one in use)')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--older-than <duration>', 'remove entries unused for this long (e.g. 30d, 12h)')
    .option('--max-size <size>', 'then remove least recently used entries until the cache is at most this big (e.g. 500M)')
    .option('--dry-run', 'only say what would be removed')
    .option('--json', 'print as JSON')
    .action(async (f: { cacheDir?: string; olderThan?: string; maxSize?: string; dryRun?: boolean; json?: boolean }) => {
      if (f.olderThan === undefined && f.maxSize === undefined) {
        throw new BpfCompileError(ErrorCode.USAGE, 'cache prune needs --older-than or --max-size', { hint: 'e.g. bpf-compile cache prune --older-than 30d' });
      }
      const options: PruneOptions = {
        ...(f.olderThan === undefined ? {} : { olderThan: parseDuration(f.olderThan) }),
        ...(f.maxSize === undefined ? {} : { maxBytes: parseSize(f.maxSize) }),
        dryRun: f.dryRun === true,
      };
      const { prune } = await import('../cache/index.js');
      printResult(await prune(ref(f), options), f.json);
    });
  cache
    .command('clear')
    .description('remove every entry not in use')
    .option('--cache-dir <dir>', 'cache directory')
    .option('--json', 'print as JSON')
    .action(async (f: { cacheDir?: string; json?: boolean }) => {
      const { clear } = await import('../cache/index.js');
      printResult(await clear(ref(f)), f.json);
    });
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
