/** The toolchain part of the doctor report: clang/opt/llc via `findToolchain`, plus llvm-strip. */
import { findToolchain, which, type Toolchain, type ToolchainOptions } from '../compile/toolchain.js';
import { isBpfCompileError } from '../errors.js';
import { exec } from '../system/exec.js';
import type { ToolReport, ToolchainReport } from './types.js';

/** Ask an LLVM tool its version (`LLVM version 14.0.6` / `clang version 14.0.6`). Never throws. */
export async function llvmToolVersion(p: string): Promise<{ major: number; version: string } | undefined> {
  const r = await exec(p, ['--version'], { timeoutMs: 30_000 });
  const m = /(?:LLVM|clang) version (\d+)\.(\d+)\.(\d+)/.exec(`${r.stdout}\n${r.stderr}`);
  return m === null ? undefined : { major: Number(m[1]), version: `${m[1]}.${m[2]}.${m[3]}` };
}

async function describeTool(name: string, candidates: readonly string[], envPath: string | undefined, prefer?: number): Promise<ToolReport> {
  let first: ToolReport | undefined;
  for (const c of candidates) {
    const p = await which(c, envPath);
    if (p === undefined) continue;
    const v = await llvmToolVersion(p);
    const report: ToolReport = { name, path: p, major: v?.major, version: v?.version };
    if (prefer === undefined || v?.major === prefer) return report;
    first ??= report;
  }
  return first ?? { name, path: undefined, major: undefined, version: undefined };
}

function fromToolchain(name: string, t: Toolchain['clang'] | undefined): ToolReport {
  return { name, path: t?.path, major: t?.major, version: t?.version };
}

/** Options of {@link probeToolchain}. */
export type ToolchainProbeOptions = Omit<ToolchainOptions, 'backend'>;

/**
 * Find clang, opt and llc as `compile` would (one LLVM major), and llvm-strip (preferring clang's major).
 * Never throws: a missing or mismatched tool is reported with the toolchain error and its hint.
 */
export async function probeToolchain(options: ToolchainProbeOptions = {}): Promise<ToolchainReport> {
  const env = options.env ?? process.env;
  const envPath = env['PATH'];
  let error: string | undefined;
  let hint: string | undefined;
  let full: Toolchain | undefined;
  let clangOnly: Toolchain | undefined;
  try {
    full = await findToolchain({ ...options, backend: true });
  } catch (err) {
    if (!isBpfCompileError(err)) throw err;
    error = err.message;
    hint = err.hint;
    try {
      clangOnly = await findToolchain({ ...options, backend: false });
    } catch {
      // clang itself is missing or too old: the first error says so
    }
  }
  const clang = full?.clang ?? clangOnly?.clang;
  const major = clang?.major;
  const versioned = (tool: string): string[] => (major === undefined ? [tool] : [tool, `${tool}-${major}`, `/usr/lib/llvm-${major}/bin/${tool}`]);
  const opt =
    full?.opt !== undefined ? fromToolchain('opt', full.opt) : await describeTool('opt', [options.opt ?? env['OPT'] ?? 'opt', ...versioned('opt').slice(1)], envPath, major);
  const llc =
    full?.llc !== undefined ? fromToolchain('llc', full.llc) : await describeTool('llc', [options.llc ?? env['LLC'] ?? 'llc', ...versioned('llc').slice(1)], envPath, major);
  const strip = await describeTool('llvm-strip', [env['LLVM_STRIP'] ?? 'llvm-strip', ...versioned('llvm-strip').slice(1)], envPath, major);
  const tools: ToolReport[] = [fromToolchain('clang', clang), opt, llc, strip];
  const majors = [...new Set(tools.map((t) => t.major).filter((m): m is number => m !== undefined))];
  return {
    clangOk: clang !== undefined,
    backendOk: full !== undefined,
    tools,
    agree: majors.length <= 1,
    majors,
    ...(error === undefined ? {} : { error }),
    ...(hint === undefined ? {} : { hint }),
  };
}
