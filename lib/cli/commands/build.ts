/**
 * `bpf-compile build <files...> --out-dir DIR`: compile many programs for one or more targets in parallel.
 * The shared target and compile options come from `compile-options.ts`.
 */
import { type Command } from 'commander';
import { BpfCompileError, ErrorCode } from '../../errors.js';
import type { BuildSummary } from '../../build/index.js';
import type { BtfgenResult } from '../../btfgen/index.js';
import { failIfAny, printKernel, resultJson } from './btfgen.js';
import type { CliContext } from '../context.js';
import { addCompileOptions, compileOptionsOf, type CompileFlags } from '../compile-options.js';
import { collect } from '../target-options.js';

/** The build command's own flags (the shared compile flags come on top). */
export interface BuildOwnFlags {
  outDir: string;
  arch?: string | string[];
  target?: string[];
  jobs?: string;
  depfile?: boolean;
  strip?: boolean;
  json?: boolean;
  cache?: boolean;
  btfgen?: string;
  btfgenBtf?: string[];
}

/** Parse `--jobs N`. @throws BpfCompileError `USAGE`. */
export function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new BpfCompileError(ErrorCode.USAGE, `--jobs must be a positive integer, not '${value}'`);
  return n;
}

/** Human summary line after the status lines. */
export function summaryLine(s: BuildSummary): string {
  return `${s.built} built, ${s.failed} failed (${s.targets.join(', ')})`;
}

/** `build --btfgen DIR`: tailored BTF for the CO-RE objects of a successful build (one target only: BTF is per arch). */
async function tailorBuilt(ctx: CliContext, summary: BuildSummary, outDir: string, kernels: readonly string[], btf: string | undefined, json: boolean): Promise<BtfgenResult> {
  if (summary.targets.length > 1) {
    throw new BpfCompileError(ErrorCode.USAGE, `--btfgen tailors for one target at a time; this build has ${summary.targets.length} (${summary.targets.join(', ')})`, {
      hint: "Kernel BTF is per architecture: run `build --btfgen` once per --arch, each with that arch's kernels.",
    });
  }
  const objects = summary.items.filter((i) => i.ok && i.mode === 'core').map((i) => i.output);
  if (objects.length === 0) {
    throw new BpfCompileError(ErrorCode.USAGE, '--btfgen: none of the objects built is a CO-RE object', {
      hint: 'CO-RE objects are compiled against a vmlinux.h (--headers vmlinux, or #include "vmlinux.h"); kernel-header builds need no BTF.',
    });
  }
  const { btfgen } = await import('../../btfgen/index.js');
  const result = await btfgen({
    objects,
    btf: kernels.length > 0 ? kernels : btf === undefined ? [] : [btf],
    outDir,
    onKernel: printKernel(ctx, json),
  });
  return result;
}

/**
 * Register `build <files...>` on `program`. Exit status: 0 when every object was built, 1 (`COMPILE_FAILED`) when any
 * failed (the others are still built); usage errors as elsewhere.
 */
export function register(program: Command, ctx: CliContext): void {
  const io = ctx.io;
  const cmd = addCompileOptions(
    program
      .command('build')
      .description('compile many eBPF programs (files or globs: *, ?, **) for one or more targets, in parallel')
      .argument('<files...>', 'eBPF C files or glob patterns')
      .requiredOption('--out-dir <dir>', 'where the objects go: <stem>.bpf.o, or <stem>.<arch>.bpf.o for several targets')
      .option('--target <list>', 'byte-order targets instead of arches: bpfel, bpfeb (comma-separated); named <stem>.bpfel.bpf.o …', collect)
      .option('--jobs <n>', 'compiles at once (default: the number of CPUs)')
      .option('--depfile', 'write <object>.d next to each object (make dependencies: the source and every header)')
      .option('--strip', 'strip debug info with llvm-strip -g, keeping .BTF and .BTF.ext')
      .option('--json', 'print the build summary as JSON on stdout')
      .option('--no-cache', 'compile even when an unchanged object is cached')
      .option('--btfgen <dir>', 'then write tailored BTF for the CO-RE objects built into <dir> (see `bpf-compile btfgen`): one <release>.btf per kernel')
      .option(
        '--btfgen-btf <path>',
        "kernel BTF to tailor for with --btfgen: file or directory (btfhub-archive checkout); repeatable (default: --btf, else the running kernel's)",
        collect,
        [],
      )
      .addHelpText(
        'after',
        '\nThe shared --arch takes a comma-separated list here (--arch x86_64,aarch64,s390x).\nExample:\n  bpf-compile build src/*.bpf.c --out-dir build --arch x86,arm64 --depfile',
      ),
  );
  if (!cmd.options.some((o) => o.long === '--arch')) cmd.option('--arch <list>', 'target arches, comma-separated (default: this machine)');
  cmd.action(async (files: string[], flags: Omit<CompileFlags, 'arch'> & BuildOwnFlags) => {
    const quiet = ctx.quiet();
    const { source: _source, output: _output, arch: _arch, ...compileOptions } = compileOptionsOf({ ...flags, arch: undefined }, '', '', []);
    const arch = flags.arch === undefined ? undefined : typeof flags.arch === 'string' ? [flags.arch] : flags.arch;
    // loaded when the command runs: other commands do not pay for the build machinery at start-up
    const { buildMany, splitList } = await import('../../build/index.js');
    const summary = await buildMany({
      ...compileOptions,
      cache: flags.cache !== false,
      inputs: files,
      outDir: flags.outDir,
      arches: splitList(arch),
      targets: splitList(flags.target),
      jobs: parseJobs(flags.jobs),
      depfile: flags.depfile === true,
      strip: flags.strip === true,
      ...(ctx.compileFn === undefined ? {} : { compileFn: ctx.compileFn }),
      onStatus: (line) => (flags.json === true ? io.stderr : io.stdout)(`${line}\n`),
    });
    if (!quiet) {
      for (const item of summary.items) {
        if (item.ok && item.diagnostics !== '') io.stderr(item.diagnostics.endsWith('\n') ? item.diagnostics : `${item.diagnostics}\n`);
      }
    }
    const tailored = summary.ok && flags.btfgen !== undefined ? await tailorBuilt(ctx, summary, flags.btfgen, flags.btfgenBtf ?? [], flags.btf, flags.json === true) : undefined;
    if (flags.json === true) io.stdout(`${JSON.stringify(tailored === undefined ? summary : { ...summary, btfgen: resultJson(tailored) }, null, 2)}\n`);
    else
      io.stdout(
        `${summaryLine(summary)}${tailored === undefined ? '' : `; tailored BTF for ${tailored.kernels.filter((k) => k.ok).length} of ${tailored.kernels.length} kernel(s) in ${flags.btfgen}`}\n`,
      );
    if (!summary.ok) {
      for (const item of summary.items) {
        if (!item.ok && item.error?.diagnostics !== undefined) io.stderr(`--- ${item.source} (${item.target}):\n${item.error.diagnostics.trimEnd()}\n`);
      }
      throw new BpfCompileError(ErrorCode.COMPILE_FAILED, `${summary.failed} of ${summary.items.length} objects failed`, {
        details: { failed: summary.items.filter((i) => !i.ok).map((i) => `${i.source} (${i.target})`) },
      });
    }
    if (tailored !== undefined) failIfAny(tailored);
  });
}
