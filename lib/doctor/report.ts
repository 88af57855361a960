/** Build the doctor report: ask every probe, then decide the verdict and next steps (pure); the CLI maps the verdict to an exit code. */
import type { DistroReport } from './distro.js';
import os from 'node:os';
import type { LoadModulePolicy } from '../kmod/load.js';
import type { SourceContext } from '../sources/index.js';
import { resolveTarget, type Target, type TargetOptions } from '../target.js';
import { defaultProbes, type DoctorProbes } from './probes.js';
import type { BtfReport, CacheReport, DoctorReport, DoctorVerdict, LibbpfReport, SourceReport, ToolchainReport } from './types.js';
import type { BpfProbeResult } from './bpf-probe.js';
import { networkReport, type NetworkReport } from './network.js';

/** Options of {@link buildDoctorReport}: the target and header options `resolveHeaders` takes, plus the toolchain. */
export interface DoctorOptions extends TargetOptions {
  kernelSource?: string;
  kernelBuild?: string;
  kheaders?: string;
  /** HTTP mirrors (their cached downloads count; the doctor never downloads). */
  mirrors?: readonly string[];
  /** Extra apt repositories (as `aptRepositories` of `resolveHeaders()`); reported with the target's own. */
  aptRepositories?: readonly string[];
  /** Report as if `--offline` (the doctor never downloads either way). */
  offline?: boolean;
  /** Default here: `never` — the doctor does not load kernel modules unless asked. */
  loadModule?: LoadModulePolicy;
  cacheDir?: string;
  btf?: string;
  btfModules?: readonly string[];
  clang?: string;
  opt?: string;
  llc?: string;
  libbpfInclude?: string;
  /** Environment (`PATH`, `CLANG`, `BPF_KERNEL_SOURCE`, …). Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
}

/** What the probes found, before judging. */
export interface DoctorFindings {
  readonly target: Target;
  readonly running: boolean;
  readonly toolchain: ToolchainReport;
  readonly libbpf: LibbpfReport;
  readonly sources: readonly SourceReport[];
  readonly btf: BtfReport;
  readonly cache: CacheReport;
  readonly network: NetworkReport;
  readonly bpf: BpfProbeResult;
  readonly installCommand: string | undefined;
  readonly distro: DistroReport;
}

/**
 * Examine the machine for the target kernel and report. Never throws for an expected problem: every one is in the
 * report, with what to do next.
 * @throws BpfCompileError `UNKNOWN_ARCH` for a bad `arch`.
 */
export async function buildDoctorReport(options: DoctorOptions = {}, probes: Partial<DoctorProbes> = {}): Promise<DoctorReport> {
  const p: DoctorProbes = { ...defaultProbes, ...probes };
  const env = options.env ?? process.env;
  const target = resolveTarget(options);
  const ctx: SourceContext = {
    target,
    env,
    kernelSource: options.kernelSource,
    kernelBuild: options.kernelBuild,
    kheadersFile: options.kheaders,
    loadModule: options.loadModule ?? 'never',
    cacheDir: options.cacheDir,
    onProgress: undefined,
    btfFile: options.btf,
    mirrors: options.mirrors,
    aptRepositories: options.aptRepositories,
    // the doctor reports what is there; it never downloads (a cached mirror download still counts)
    offline: true,
    btfModules: options.btfModules ?? [],
  };
  const [toolchain, libbpf, btf, cache, bpf, installCommand, distro] = await Promise.all([
    p.toolchain({ clang: options.clang, opt: options.opt, llc: options.llc, env }),
    p.libbpf(target.root, options.libbpfInclude ?? nonEmpty(env['BPF_COMPILE_LIBBPF_INCLUDE'])),
    p.btf(target.root),
    p.cache({ cacheDir: options.cacheDir, env }),
    p.bpf(),
    p.installCommand(target.root, target.release),
    p.distro(target.root, target.arch.debArch, target.release, options.aptRepositories ?? []),
  ]);
  const sources = await p.sources(ctx);
  const running = target.root === '/' && target.release === os.release();
  const network = networkReport(options.mirrors, options.offline, env);
  return judge({ target, running, toolchain, libbpf, sources, btf, cache, network, bpf, installCommand, distro });
}

function nonEmpty(s: string | undefined): string | undefined {
  return s === undefined || s === '' ? undefined : s;
}

/** Decide what can compile for the target. Pure. */
export function verdictOf(f: DoctorFindings): DoctorVerdict {
  const tree = f.sources.find((s) => s.found && s.kind === 'kernel-tree');
  const vmlinux = f.sources.find((s) => s.found && s.kind === 'vmlinux');
  const base = f.toolchain.clangOk && f.libbpf.ok;
  const kernelHeaders = base && f.toolchain.backendOk && tree !== undefined;
  const core = base && vmlinux !== undefined;
  const rel = f.target.release;
  if (!f.toolchain.clangOk) return { kernelHeaders, core, status: 'toolchain', summary: `cannot compile: ${f.toolchain.error ?? 'clang not found'}` };
  if (!f.libbpf.ok) return { kernelHeaders, core, status: 'toolchain', summary: 'cannot compile: libbpf headers (bpf/bpf_helpers.h) not found' };
  if (kernelHeaders && core) return { kernelHeaders, core, status: 'ok', summary: `kernel-headers and CO-RE programs can compile for ${rel}` };
  if (core) {
    const why = tree === undefined ? `no kernel headers for ${rel}` : `kernel headers found but ${f.toolchain.error ?? 'opt/llc missing'}`;
    return { kernelHeaders, core, status: 'ok', summary: `CO-RE only: ${why}; programs must #include "vmlinux.h"` };
  }
  if (kernelHeaders) return { kernelHeaders, core, status: 'ok', summary: `kernel-headers programs only: no BTF for CO-RE (vmlinux.h) for ${rel}` };
  if (tree !== undefined) return { kernelHeaders, core, status: 'toolchain', summary: `cannot compile kernel-headers programs: ${f.toolchain.error ?? 'opt/llc missing'}` };
  return { kernelHeaders, core, status: 'headers', summary: `cannot compile: no kernel headers and no BTF for ${rel}` };
}

/** Concrete commands to run next, most important first. Pure. */
export function nextStepsOf(f: DoctorFindings, v: DoctorVerdict): string[] {
  const steps: string[] = [];
  const t = f.toolchain;
  const rel = f.target.release;
  if (!t.clangOk) steps.push(t.hint ?? 'install clang and llvm: apt-get install clang llvm');
  else if (!t.backendOk) steps.push(t.hint ?? "install opt and llc of clang's LLVM version: apt-get install llvm");
  if (t.clangOk && !t.agree) {
    const m = t.tools.find((x) => x.name === 'clang')?.major;
    steps.push(`use one LLVM version: apt-get install clang-${m ?? 'N'} llvm-${m ?? 'N'}, or set CLANG, OPT, LLC (and LLVM_STRIP) to tools of one major`);
  }
  const strip = t.tools.find((x) => x.name === 'llvm-strip');
  if (t.clangOk && strip?.path === undefined) steps.push('optional: install llvm-strip to strip debug info from objects: apt-get install llvm');
  if (!f.libbpf.ok) steps.push(f.libbpf.hint ?? 'install libbpf headers: apt-get install libbpf-dev');
  const tree = f.sources.some((s) => s.found && s.kind === 'kernel-tree');
  const distro = f.sources.find((s) => s.name === 'distro');
  if (!tree && distro !== undefined && !distro.found && /never (downloaded|verified)/.test(distro.reason ?? '') && !f.network.offline) {
    steps.push(
      `download the headers packages from the distribution's repositories, nothing installed (the doctor only looks at the cache): bpf-compile fetch${f.running ? '' : ` --kernel-release ${rel}`}`,
    );
  }
  if (!tree) {
    steps.push(
      f.installCommand === undefined
        ? `install the kernel headers for ${rel}, or point BPF_KERNEL_SOURCE at a configured tree`
        : `install the kernel headers for ${rel}: ${f.installCommand}`,
    );
  }
  const fetched = f.sources.some((s) => s.found && s.name === 'fetch');
  if (!tree && !fetched && f.network.mirrors.length > 0 && !f.network.offline) {
    steps.push(`download the headers from the mirrors (the doctor only looks at cached downloads): bpf-compile fetch${f.running ? '' : ` --kernel-release ${rel}`}`);
  }
  if (f.network.error !== undefined) steps.push(`fix the proxy setting, or unset it: ${f.network.error}`);
  if (!v.core) {
    steps.push(
      f.btf.present
        ? 'for CO-RE: check the btf source reason above (--btf FILE takes a BTF file)'
        : 'for CO-RE: boot a kernel built with CONFIG_DEBUG_INFO_BTF=y, or pass --btf FILE (e.g. <release>.btf.tar.xz from btfhub-archive)',
    );
  } else if (!v.kernelHeaders) {
    steps.push('write CO-RE programs: bpf-compile init core-tracepoint my-tool (or bpf-compile vmlinux -o vmlinux.h)');
  }
  if (!f.cache.ok) steps.push(f.cache.hint ?? `fix the cache dir ${f.cache.path}, or pass --cache-dir DIR`);
  if (!f.bpf.permitted) {
    if (f.bpf.bpftool === undefined) steps.push('to load programs: apt-get install bpftool');
    else if (!f.bpf.root) steps.push('to load programs: run as root (sudo bpf-compile doctor)');
    else steps.push(`to load programs: allow bpf() (${f.bpf.reason ?? 'denied'}; e.g. a container needs CAP_BPF/CAP_SYS_ADMIN and /sys/fs/bpf mounted)`);
  }
  if (v.status === 'ok') {
    const relFlag = f.running ? '' : ` --kernel-release ${rel}`;
    steps.push(`compile: bpf-compile compile prog.bpf.c -o prog.bpf.o${relFlag}`);
  }
  return steps;
}

/** Turn findings into the report. Pure. */
export function judge(f: DoctorFindings): DoctorReport {
  const verdict = verdictOf(f);
  return {
    target: { release: f.target.release, arch: f.target.arch.machine, root: f.target.root, running: f.running },
    toolchain: f.toolchain,
    libbpf: f.libbpf,
    sources: f.sources,
    btf: f.btf,
    cache: f.cache,
    network: f.network,
    distro: f.distro,
    bpf: f.bpf,
    verdict,
    nextSteps: nextStepsOf(f, verdict),
  };
}
