/**
 * `buildMany()`: compile several eBPF programs for one or more targets in parallel — the engine of
 * `bpf-compile build`.
 *
 * Object naming: with one target, `<outDir>/<stem>.bpf.o`; with several, `<outDir>/<stem>.<target>.bpf.o`, where
 * `<stem>` is the file name without `.bpf.c` (or `.c`) and `<target>` is the arch row's `uname -m` name (`x86_64`,
 * `aarch64`, `s390x`, …; `--arch x86` gives `x86_64`) or `bpfel`/`bpfeb` for byte-order targets. With `depfile`,
 * `<object>.d` sits next to each object.
 */
import os from 'node:os';
import path from 'node:path';
import { compile as realCompile, type CompileOptions, type CompileResult, type PipelineMode } from '../compile/index.js';
import { BpfCompileError, ErrorCode, isBpfCompileError } from '../errors.js';
import { writeObjectDepfile } from './deps.js';
import { expandInputs } from './glob.js';
import { runPool } from './pool.js';
import { findStrip, stripObject } from './strip.js';
import { buildTargets, objectPath, type BuildTarget } from './targets.js';

export { expandGlob, expandInputs, componentRegExp, hasGlob } from './glob.js';
export { buildTargets, objectPath, stemOf, splitList, archForBpfTarget, type BuildTarget } from './targets.js';
export { escapeMakePath, formatDepfile, dependencyArgv } from './deps.js';
export { findStrip, stripObject, stripCandidates, STRIP_ARGS } from './strip.js';
export { runPool } from './pool.js';

/** Compile options passed through to every compile (everything but `source`, `output` and `arch`). */
export type BuildCompileOptions = Omit<CompileOptions, 'source' | 'output' | 'arch'>;

/** The compile function {@link buildMany} calls (tests inject a fake). */
export type CompileFn = (options: CompileOptions) => Promise<CompileResult>;

/** Options of {@link buildMany}. */
export interface BuildOptions extends BuildCompileOptions {
  /** Files or glob patterns (`*`, `?`, `**`), relative to `cwd`. */
  inputs: readonly string[];
  /** Where the objects go (created when missing). */
  outDir: string;
  /** Arch names (`x86_64`, `arm64`, `s390x`, …; comma-separated items allowed). Not with `targets`. */
  arches?: readonly string[];
  /** Byte-order targets (`bpfel`, `bpfeb`): the arch is the host's when its byte order matches, else the table's first. */
  targets?: readonly string[];
  /** Compiles at once. Default: `os.availableParallelism()`. */
  jobs?: number;
  /** Write `<object>.d` next to each object. */
  depfile?: boolean;
  /** Strip debug info (`llvm-strip -g`, `.BTF`/`.BTF.ext` kept). */
  strip?: boolean;
  /** Called with one line per finished object (no trailing newline). */
  onStatus?: (line: string) => void;
  /** Base for relative inputs and `outDir`. Default: `process.cwd()`. */
  cwd?: string;
  /** The compile function. Default: `compile()`. */
  compileFn?: CompileFn;
}

/** What happened to one (source, target) pair. */
export interface BuildItem {
  readonly source: string;
  /** The target's name (`x86_64`, `bpfeb`, …). */
  readonly target: string;
  /** The object path (as `outDir` was given). */
  readonly output: string;
  readonly ok: boolean;
  /** The pipeline used; undefined when the compile failed before deciding. */
  readonly mode: PipelineMode | undefined;
  readonly fromCache: boolean;
  /** The depfile written, with `depfile`. */
  readonly depfile?: string;
  readonly stripped: boolean;
  /** Wall time of this item, in milliseconds. */
  readonly ms: number;
  /** The compiler's warnings (stderr), untouched. */
  readonly diagnostics: string;
  readonly error?: { readonly code: string; readonly message: string; readonly diagnostics?: string; readonly hint?: string };
}

/** Result of {@link buildMany}. */
export interface BuildSummary {
  readonly ok: boolean;
  readonly built: number;
  readonly failed: number;
  readonly targets: readonly string[];
  readonly items: readonly BuildItem[];
}

/** The first non-empty line of a failure (the first compiler error line when there are diagnostics). */
export function firstErrorLine(item: Pick<BuildItem, 'error'>): string {
  const diag = item.error?.diagnostics ?? '';
  const line = diag.split('\n').find((l) => /\berror\b/.test(l)) ?? diag.split('\n').find((l) => l.trim() !== '');
  return (line ?? item.error?.message ?? '').trim();
}

/** The status line of one item: `ok   x.bpf.c → out/x.x86_64.bpf.o (kernel, 0.8 s)` or `FAIL x.bpf.c → … : <first error line>`. */
export function statusLine(item: BuildItem): string {
  const secs = `${(item.ms / 1000).toFixed(1)} s`;
  if (item.ok) {
    const notes = [item.mode ?? '?', ...(item.fromCache ? ['cached'] : []), ...(item.stripped ? ['stripped'] : []), secs];
    return `ok   ${item.source} → ${item.output} (${notes.join(', ')})`;
  }
  return `FAIL ${item.source} → ${item.output}: ${firstErrorLine(item)}`;
}

function errorOf(err: unknown): NonNullable<BuildItem['error']> {
  if (isBpfCompileError(err)) {
    const d = err.details['diagnostics'];
    return {
      code: err.code,
      message: err.message,
      ...(typeof d === 'string' && d !== '' ? { diagnostics: d } : {}),
      ...(err.hint === undefined ? {} : { hint: err.hint }),
    };
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

interface Job {
  readonly source: string;
  readonly target: BuildTarget;
  readonly output: string;
}

/**
 * Compile every input for every target, `jobs` at a time. One failure does not stop the others: the summary lists
 * each (source, target) with its outcome. Throws only for bad options (`USAGE`: a pattern matching nothing, two
 * inputs with one output name, `--arch` with `--target`; `UNKNOWN_ARCH`).
 */
export async function buildMany(options: BuildOptions): Promise<BuildSummary> {
  const { inputs, outDir, arches, targets, jobs, depfile, strip, onStatus, cwd: cwdOpt, compileFn, ...compileOptions } = options;
  const cwd = cwdOpt ?? process.cwd();
  const list = buildTargets(arches, targets);
  const sources = await expandInputs(inputs, cwd);
  const multi = list.length > 1;
  const work: Job[] = [];
  const owners = new Map<string, string>();
  for (const source of sources) {
    for (const target of list) {
      const output = objectPath(outDir, source, target, multi);
      const key = path.resolve(cwd, output);
      const other = owners.get(key);
      if (other !== undefined && other !== source) {
        throw new BpfCompileError(ErrorCode.USAGE, `${other} and ${source} would both be built as ${output}`, { hint: 'build them into different --out-dir dirs' });
      }
      owners.set(key, source);
      work.push({ source, target, output });
    }
  }
  const run = compileFn ?? realCompile;
  const env = compileOptions.env ?? process.env;
  let stripTool: Promise<string> | undefined;
  const items = await runPool(work, jobs ?? os.availableParallelism(), async (job): Promise<BuildItem> => {
    const start = performance.now();
    let result: CompileResult | undefined;
    try {
      result = await run({ ...compileOptions, source: path.resolve(cwd, job.source), output: path.resolve(cwd, job.output), arch: job.target.arch });
      let written: string | undefined;
      if (depfile === true) {
        await writeObjectDepfile(result.toolchain.clang.path, result.plan.clang, path.resolve(cwd, job.output), job.output);
        written = `${job.output}.d`;
      }
      if (strip === true) {
        stripTool ??= findStrip(result.toolchain.clang.major, env);
        await stripObject(await stripTool, path.resolve(cwd, job.output));
      }
      return done({
        ...base(job, start),
        ok: true,
        mode: result.mode,
        fromCache: result.fromCache,
        stripped: strip === true,
        diagnostics: result.diagnostics,
        ...(written === undefined ? {} : { depfile: written }),
      });
    } catch (err) {
      return done({
        ...base(job, start),
        ok: false,
        mode: result?.mode,
        fromCache: result?.fromCache ?? false,
        stripped: false,
        diagnostics: result?.diagnostics ?? '',
        error: errorOf(err),
      });
    }
  });
  function done(item: BuildItem): BuildItem {
    onStatus?.(statusLine(item));
    return item;
  }
  const failed = items.filter((i) => !i.ok).length;
  return { ok: failed === 0, built: items.length - failed, failed, targets: list.map((t) => t.name), items };
}

function base(job: Job, start: number): { source: string; target: string; output: string; ms: number } {
  return { source: job.source, target: job.target.name, output: job.output, ms: Math.round(performance.now() - start) };
}
