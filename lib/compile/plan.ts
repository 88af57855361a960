/**
 * Planning a compile without running anything: decide the mode (`auto`), resolve the headers it needs, find the tools,
 * and build the exact argument lists (`flags.ts`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BpfCompileError, ErrorCode, isBpfCompileError } from '../errors.js';
import { resolveHeaders, type ResolvedHeaders } from '../resolve.js';
import { resolveTarget } from '../target.js';
import { defaultCpu } from './cpu.js';
import { buildCorePlan, buildKernelPlan, buildPlainPlan, type FlagInputs, type PipelineMode } from './flags.js';
import { includeDirsFromFlags, scanIncludes, unresolvedIncludes } from './includes.js';
import { findLibbpfInclude } from './libbpf.js';
import { tempPathFor } from '../system/atomic-file.js';
import { findToolchain } from './toolchain.js';
import type { CompileOptions, PlannedCompile } from './types.js';

interface ModeDecision {
  readonly mode: PipelineMode;
  readonly reason: string;
  readonly headers: ResolvedHeaders | undefined;
}

/** Does the program include `vmlinux.h`? And does it bring its own (next to it, or in a user `-I` dir)? */
async function vmlinuxInclude(source: string, text: string, userDirs: readonly string[]): Promise<{ wanted: boolean; own: boolean }> {
  const includes = scanIncludes(text).filter((i) => path.basename(i.name) === 'vmlinux.h');
  if (includes.length === 0) return { wanted: false, own: false };
  const missing = await unresolvedIncludes(source, includes.map((i) => `#include ${i.angle ? `<${i.name}>` : `"${i.name}"`}`).join('\n'), userDirs);
  return { wanted: true, own: missing.length === 0 };
}

function headersOfKind<K extends ResolvedHeaders['kind']>(h: ResolvedHeaders, kind: K, mode: string): Extract<ResolvedHeaders, { kind: K }> {
  if (h.kind !== kind) {
    throw new BpfCompileError(
      ErrorCode.USAGE,
      `${mode} mode needs ${kind === 'vmlinux' ? 'a generated vmlinux.h' : 'a kernel header tree'}, but the headers given are a ${h.kind}`,
      {
        hint: `resolve with kind: '${kind}', or pick the mode that fits the headers`,
      },
    );
  }
  return h as Extract<ResolvedHeaders, { kind: K }>;
}

/**
 * The `auto` rule, in order:
 * 1. headers given → the mode of their kind;
 * 2. the program includes `vmlinux.h` → **core** (CO-RE): its own `vmlinux.h` when it has one next to it or in a `-I`
 *    dir, else one generated from BTF — such a program never needs kernel headers;
 * 3. kernel headers resolve for the target → **kernel** (they are a superset of uapi, so any program compiles);
 * 4. every `#include` is found among the `-I` dirs, libbpf and clang's system dirs → **plain**;
 * 5. otherwise the headers-not-found error, naming the includes that need kernel headers and the CO-RE route.
 */
async function decideMode(options: CompileOptions, userDirs: readonly string[], plainDirs: readonly string[], sourceText: string): Promise<ModeDecision> {
  const requested = options.mode ?? 'auto';
  const source = path.resolve(options.source);
  if (requested === 'plain') return { mode: 'plain', reason: 'requested', headers: undefined };
  if (requested === 'kernel') {
    const headers = options.headers === undefined ? await resolveHeaders({ ...options, kind: 'kernel-tree' }) : headersOfKind(options.headers, 'kernel-tree', 'kernel');
    return { mode: 'kernel', reason: 'requested', headers };
  }
  if (requested === 'core') {
    const own = await vmlinuxInclude(source, sourceText, userDirs);
    if (options.headers === undefined && own.own) return { mode: 'core', reason: "requested; the program's own vmlinux.h", headers: undefined };
    const headers = options.headers === undefined ? await resolveHeaders({ ...options, kind: 'vmlinux' }) : headersOfKind(options.headers, 'vmlinux', 'core');
    return { mode: 'core', reason: 'requested', headers };
  }
  if (options.headers !== undefined) {
    return { mode: options.headers.kind === 'vmlinux' ? 'core' : 'kernel', reason: 'headers given', headers: options.headers };
  }
  const vm = await vmlinuxInclude(source, sourceText, userDirs);
  if (vm.wanted) {
    if (vm.own) return { mode: 'core', reason: 'the program includes its own vmlinux.h', headers: undefined };
    const headers = await resolveHeaders({ ...options, kind: 'vmlinux' });
    return { mode: 'core', reason: `the program includes vmlinux.h (generated from ${headers.btf})`, headers };
  }
  try {
    const headers = await resolveHeaders({ ...options, kind: 'kernel-tree' });
    return { mode: 'kernel', reason: `kernel headers found (${headers.source})`, headers };
  } catch (err) {
    if (!isBpfCompileError(err, ErrorCode.HEADERS_NOT_FOUND) || err.tried.some((t) => t.what === 'override' && t.notConfigured !== true)) throw err;
    const missing = await unresolvedIncludes(source, sourceText, plainDirs);
    if (missing.length === 0) {
      return { mode: 'plain', reason: 'no kernel headers found; every include is a uapi/libbpf/system header', headers: undefined };
    }
    const names = missing.map((m) => (m.angle ? `<${m.name}>` : `"${m.name}"`)).join(', ');
    throw new BpfCompileError(err.code, `${err.message}; the program includes ${names}, which only kernel headers provide`, {
      tried: err.tried,
      hint: `${err.hint ?? ''}; or write the program CO-RE style — #include "vmlinux.h" instead of kernel headers — and bpf-compile generates vmlinux.h from the kernel's BTF (bpf-compile vmlinux)`,
      details: { ...err.details, missingIncludes: missing.map((m) => m.name) },
      cause: err,
    });
  }
}

/**
 * Decide the mode, find the tools and build the argument lists, without running anything.
 * @throws BpfCompileError `INPUT_UNREADABLE`, `HEADERS_NOT_FOUND`, `TOOLCHAIN_MISSING`, `TOOLCHAIN_MISMATCH`, `LIBBPF_NOT_FOUND`, …
 */
export async function planCompile(options: CompileOptions): Promise<PlannedCompile> {
  // headers given: they name the target (an arm64 tree compiles for arm64 without repeating --arch)
  const given = options.headers;
  const target = resolveTarget({
    ...options,
    ...(given !== undefined && options.arch === undefined ? { arch: given.arch.machine } : {}),
    ...(given !== undefined && options.kernelRelease === undefined ? { kernelRelease: given.release } : {}),
  });
  const source = path.resolve(options.source);
  const output = path.resolve(options.output);
  let sourceText: string;
  try {
    sourceText = fs.readFileSync(source, 'utf8'); // one small file: no thread-pool round trip
  } catch (err) {
    throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot read ${options.source}`, { cause: err, hint: 'check the path of the C file' });
  }
  const env = options.env ?? process.env;
  const userFlags = options.extraArgs ?? [];
  const libbpfExplicit = options.libbpfInclude ?? (env['BPF_COMPILE_LIBBPF_INCLUDE'] || undefined);
  const [libbpfInclude, hostTools] = await Promise.all([
    findLibbpfInclude(target.root, libbpfExplicit),
    // clang's facts are remembered also with `cache: false`: that bypasses compiled objects, and a facts record is
    // keyed by the clang binary's identity, so it cannot go stale (a `clang -v -E` spawn is ~30 ms)
    findToolchain({ clang: options.clang, backend: false, env, cache: { cacheDir: options.cacheDir, env } }),
  ]);
  const userDirs = includeDirsFromFlags(userFlags);
  const plainDirs = [...userDirs, libbpfInclude, ...hostTools.systemIncludeDirs];
  const decision = await decideMode(options, userDirs, plainDirs, sourceText);
  const toolchain = decision.mode === 'kernel' ? await findToolchain({ clang: options.clang, opt: options.opt, llc: options.llc, backend: true, env }) : hostTools;
  const tmpOutput = tempPathFor(output);
  const inputs: FlagInputs = {
    source,
    output: tmpOutput,
    arch: target.arch,
    cpu: options.cpu ?? defaultCpu(target.release),
    resourceDir: toolchain.resourceDir,
    systemIncludeDirs: toolchain.systemIncludeDirs,
    libbpfInclude,
    userFlags,
  };
  const h = decision.headers;
  const plan =
    decision.mode === 'kernel' && h?.kind === 'kernel-tree'
      ? buildKernelPlan(inputs, h)
      : decision.mode === 'core'
        ? buildCorePlan(inputs, h?.kind === 'vmlinux' ? h.includeDir : undefined)
        : buildPlainPlan(inputs);
  return {
    mode: decision.mode,
    modeReason: decision.reason,
    plan,
    toolchain,
    headers: decision.headers,
    target,
    warnings: decision.headers?.warnings ?? [],
    tmpOutput,
    output,
  };
}
