/**
 * Finding clang, opt, llc and llvm-strip of one LLVM major, and the facts of clang (`-v`: resource dir, include dirs).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CacheRef } from '../cache/entry.js';
import { BpfCompileError, ErrorCode, type TriedStep } from '../errors.js';
import { exec } from '../system/exec.js';
import { readClangFacts, writeClangFacts } from './toolchain-cache.js';

/** One LLVM tool found on the machine. */
export interface ToolInfo {
  /** Path it is run by. */
  readonly path: string;
  /** LLVM major version. */
  readonly major: number;
  /** Full version text (`14.0.6`), when known. */
  readonly version: string | undefined;
}

/** The compilers one compile uses, all of one LLVM major. */
export interface Toolchain {
  readonly clang: ToolInfo;
  /** Present when the kernel pipeline is wanted. */
  readonly opt: ToolInfo | undefined;
  /** Present when the kernel pipeline is wanted. */
  readonly llc: ToolInfo | undefined;
  /** clang's resource dir (`…/lib/clang/<v>`); its `include/` holds `stddef.h`, `stdarg.h`, … */
  readonly resourceDir: string;
  /** clang's default `#include <…>` search list for the host, in order (the `-idirafter` list of plain mode). */
  readonly systemIncludeDirs: readonly string[];
}

/** How to find the tools. */
export interface ToolchainOptions {
  /** Path or name of clang. Default: `$CLANG`, then `clang`, then `clang-<N>` newest first. */
  clang?: string;
  /** Path or name of opt. Default: `$OPT`, then one matching clang's major. */
  opt?: string;
  /** Path or name of llc. Default: `$LLC`, then one matching clang's major. */
  llc?: string;
  /** Whether opt and llc are needed (kernel mode). */
  backend: boolean;
  /** Environment (`PATH`, `CLANG`, `OPT`, `LLC`). Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Also look in `/usr/lib/llvm-<N>/bin` (Debian/Ubuntu's versioned installs). Default: true. */
  llvmDirs?: boolean;
  /** Remember what `clang -v` said in this cache, keyed by the binary's identity. Default: no cross-process memory. */
  cache?: CacheRef;
}

/** Oldest clang that compiles BPF programs with BTF and CO-RE relocations. */
export const MIN_CLANG_MAJOR = 10;
/** Versioned tool names tried when the plain name is missing or of another major, newest first. */
export const VERSIONED_MAJORS: readonly number[] = [21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10];

const INSTALL_HINT = 'install clang and llvm (Debian/Ubuntu: apt-get install clang llvm; Fedora: dnf install clang llvm), or set CLANG, OPT and LLC';

/**
 * Synchronous on purpose: a PATH search is a few dozen `access`/`stat` calls answered from the dentry cache in
 * microseconds, while each asynchronous one is a thread-pool round trip (~0.1–0.3 ms here) — the toolchain search of a
 * cache-hit compile was mostly waiting for them (docs/performance.md).
 */
function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Find `name` on `PATH` (or take it as a path when it has a slash). */
export async function which(name: string, envPath: string | undefined): Promise<string | undefined> {
  if (name.includes('/')) return isExecutable(name) ? path.resolve(name) : undefined;
  for (const dir of (envPath ?? '').split(':')) {
    if (dir === '') continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return undefined;
}

/** Candidate names/paths for a tool, in the order they are tried. */
function candidates(tool: 'clang' | 'opt' | 'llc', llvmDirs: boolean, major?: number): string[] {
  const majors = major === undefined ? VERSIONED_MAJORS : [major];
  return [...(major === undefined ? [tool] : []), ...majors.flatMap((m) => [`${tool}-${m}`, ...(llvmDirs ? [`/usr/lib/llvm-${m}/bin/${tool}`] : [])])];
}

/** What `clang -v -E -x c -` tells about clang, parsed. Pure; exported for tests. */
export function parseClangVerbose(stderr: string): { major: number; version: string; resourceDir: string; systemIncludeDirs: string[] } | undefined {
  const ver = /clang version (\d+)\.(\d+)\.(\d+)/.exec(stderr);
  const res = /-resource-dir "?([^"\s]+)"?/.exec(stderr);
  if (ver === null || res === null) return undefined;
  const start = stderr.indexOf('#include <...> search starts here:');
  const end = stderr.indexOf('End of search list.');
  const systemIncludeDirs =
    start >= 0 && end > start
      ? stderr
          .slice(start, end)
          .split('\n')
          .slice(1)
          .map((l) => l.trim().replace(/ \(framework directory\)$/, ''))
          .filter((l) => l !== '')
          .map((l) => path.normalize(l))
      : [];
  return { major: Number(ver[1]), version: `${ver[1]}.${ver[2]}.${ver[3]}`, resourceDir: res[1] as string, systemIncludeDirs };
}

interface ClangFacts {
  readonly tool: ToolInfo;
  readonly resourceDir: string;
  readonly systemIncludeDirs: readonly string[];
}

const clangMemo = new Map<string, Promise<ClangFacts | undefined>>();

function probeClang(p: string, cache: CacheRef | undefined): Promise<ClangFacts | undefined> {
  let memo = clangMemo.get(p);
  if (memo === undefined && cache !== undefined) {
    const known = readClangFacts(cache, p);
    if (known !== undefined) {
      memo = Promise.resolve({ tool: { path: p, major: known.major, version: known.version }, resourceDir: known.resourceDir, systemIncludeDirs: known.systemIncludeDirs });
      clangMemo.set(p, memo);
    }
  }
  if (memo === undefined) {
    memo = exec(p, ['-v', '-E', '-x', 'c', '-', '-o', '/dev/null'], { input: '', timeoutMs: 30_000 }).then((r) => {
      const facts = parseClangVerbose(r.stderr);
      if (facts !== undefined && cache !== undefined) writeClangFacts(cache, p, facts);
      return facts === undefined
        ? undefined
        : { tool: { path: p, major: facts.major, version: facts.version }, resourceDir: facts.resourceDir, systemIncludeDirs: facts.systemIncludeDirs };
    });
    clangMemo.set(p, memo);
  }
  return memo;
}

const llvmMemo = new Map<string, Promise<ToolInfo | undefined>>();

/** Major of opt/llc: read off the install path (`/usr/lib/llvm-14/bin/llc`) when it says, else ask `--version`. */
function probeLlvmTool(p: string): Promise<ToolInfo | undefined> {
  let memo = llvmMemo.get(p);
  if (memo === undefined) {
    memo = (async () => {
      let real = p;
      try {
        real = fs.realpathSync(p);
      } catch {
        // a dangling link: read the name as given
      }
      const fromPath = /\/llvm-(\d+)\/bin\/[^/]+$/.exec(real);
      if (fromPath !== null) return { path: p, major: Number(fromPath[1]), version: undefined };
      const r = await exec(p, ['--version'], { timeoutMs: 30_000 });
      const m = /LLVM version (\d+)\.(\d+)\.(\d+)/.exec(r.stdout);
      return m === null ? undefined : { path: p, major: Number(m[1]), version: `${m[1]}.${m[2]}.${m[3]}` };
    })();
    llvmMemo.set(p, memo);
  }
  return memo;
}

async function findClang(explicit: string | undefined, envPath: string | undefined, llvmDirs: boolean, cache: CacheRef | undefined, tried: TriedStep[]): Promise<ClangFacts> {
  const names = explicit !== undefined ? [explicit] : candidates('clang', llvmDirs);
  for (const name of names) {
    const p = await which(name, envPath);
    if (p === undefined) {
      if (explicit !== undefined) tried.push({ what: name, outcome: 'not found' });
      continue;
    }
    const facts = await probeClang(p, cache);
    if (facts === undefined) {
      tried.push({ what: p, outcome: 'did not report a clang version' });
      continue;
    }
    if (facts.tool.major < MIN_CLANG_MAJOR) {
      throw new BpfCompileError(ErrorCode.TOOLCHAIN_MISMATCH, `clang ${facts.tool.version ?? facts.tool.major} at ${p} is too old`, {
        hint: `bpf-compile needs clang ${MIN_CLANG_MAJOR} or newer for BPF with BTF; install a newer clang or set CLANG`,
        tried,
      });
    }
    return facts;
  }
  if (explicit === undefined) tried.push({ what: 'clang, clang-<N>, /usr/lib/llvm-<N>/bin/clang', outcome: 'none found on PATH' });
  throw new BpfCompileError(ErrorCode.TOOLCHAIN_MISSING, explicit !== undefined ? `clang not found: ${explicit}` : 'clang not found', {
    hint: INSTALL_HINT,
    tried,
  });
}

async function findBackendTool(
  tool: 'opt' | 'llc',
  explicit: string | undefined,
  major: number,
  envPath: string | undefined,
  llvmDirs: boolean,
  tried: TriedStep[],
): Promise<ToolInfo> {
  const names = explicit !== undefined ? [explicit] : [tool, ...candidates(tool, llvmDirs, major)];
  const seenMajors: string[] = [];
  for (const name of names) {
    const p = await which(name, envPath);
    if (p === undefined) continue;
    const info = await probeLlvmTool(p);
    if (info === undefined) {
      tried.push({ what: p, outcome: 'did not report an LLVM version' });
      continue;
    }
    if (info.major === major) return info;
    seenMajors.push(`${p} is LLVM ${info.major}`);
    tried.push({ what: p, outcome: `LLVM ${info.major}, clang is ${major}` });
  }
  if (seenMajors.length > 0) {
    throw new BpfCompileError(ErrorCode.TOOLCHAIN_MISMATCH, `no ${tool} of LLVM ${major} to match clang (${seenMajors.join(', ')})`, {
      hint: `install ${tool} of LLVM ${major} (Debian/Ubuntu: apt-get install llvm-${major}), or set ${tool.toUpperCase()} and CLANG to one LLVM version`,
      tried,
    });
  }
  tried.push({ what: explicit ?? `${tool}, ${tool}-${major}`, outcome: 'not found' });
  throw new BpfCompileError(ErrorCode.TOOLCHAIN_MISSING, `${tool} not found (needed for kernel-headers programs)`, {
    hint: `install llvm (Debian/Ubuntu: apt-get install llvm-${major}), or set ${tool.toUpperCase()}`,
    tried,
  });
}

/**
 * Find clang (and, for kernel mode, opt and llc of the same LLVM major).
 * Results are memoised per process, so repeated compiles probe once.
 * @throws BpfCompileError `TOOLCHAIN_MISSING` or `TOOLCHAIN_MISMATCH`, with what was tried and what to install.
 */
export async function findToolchain(options: ToolchainOptions): Promise<Toolchain> {
  const env = options.env ?? process.env;
  const tried: TriedStep[] = [];
  const llvmDirs = options.llvmDirs ?? true;
  const clang = await findClang(options.clang ?? env['CLANG'], env['PATH'], llvmDirs, options.cache, tried);
  const [opt, llc] = options.backend
    ? await Promise.all([
        findBackendTool('opt', options.opt ?? env['OPT'], clang.tool.major, env['PATH'], llvmDirs, tried),
        findBackendTool('llc', options.llc ?? env['LLC'], clang.tool.major, env['PATH'], llvmDirs, tried),
      ])
    : [undefined, undefined];
  return { clang: clang.tool, opt, llc, resourceDir: clang.resourceDir, systemIncludeDirs: clang.systemIncludeDirs };
}
