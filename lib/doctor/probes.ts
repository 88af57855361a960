/** The default (real-machine) probes of the doctor. Tests replace any of them. */
import fs from 'node:fs/promises';
import { findLibbpfInclude } from '../compile/libbpf.js';
import { openCache, resolveCacheDir } from '../cache/index.js';
import { isBpfCompileError } from '../errors.js';
import { headersInstallCommand } from '../headers/packages.js';
import { HEADER_SOURCES, type SourceContext } from '../sources/index.js';
import { SYSFS_VMLINUX_BTF } from '../sources/btf.js';
import { readOsRelease } from '../system/os-release.js';
import { underRoot } from '../system/root.js';
import { probeBpf, type BpfProbeResult } from './bpf-probe.js';
import { probeToolchain, type ToolchainProbeOptions } from './toolchain-probe.js';
import type { BtfReport, CacheReport, LibbpfReport, SourceReport, ToolchainReport } from './types.js';
import { distroReport, type DistroReport } from './distro.js';

/** Everything the doctor asks the machine. Each probe never throws for an expected "no". */
export interface DoctorProbes {
  toolchain(options: ToolchainProbeOptions): Promise<ToolchainReport>;
  libbpf(root: string, explicit: string | undefined): Promise<LibbpfReport>;
  /** Every header source's answer for the target, in priority order. */
  sources(ctx: SourceContext): Promise<SourceReport[]>;
  btf(root: string): Promise<BtfReport>;
  cache(options: { cacheDir: string | undefined; env: Readonly<Record<string, string | undefined>> }): Promise<CacheReport>;
  bpf(): Promise<BpfProbeResult>;
  /** The distribution's repositories for the target (apt sources and their keys). */
  distro(root: string, debArch: string, release: string, extraRepositories: readonly string[]): Promise<DistroReport>;
  /** The distro command that installs headers for `release` (from `/etc/os-release`), if known. */
  installCommand(root: string, release: string): Promise<string | undefined>;
}

async function probeLibbpf(root: string, explicit: string | undefined): Promise<LibbpfReport> {
  try {
    return { ok: true, dir: await findLibbpfInclude(root, explicit) };
  } catch (err) {
    if (!isBpfCompileError(err)) throw err;
    return { ok: false, error: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }) };
  }
}

async function probeSources(ctx: SourceContext): Promise<SourceReport[]> {
  const out: SourceReport[] = [];
  for (const source of HEADER_SOURCES) {
    let r;
    try {
      r = await source.find(ctx);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      out.push({
        name: source.name,
        kind: source.kind,
        found: false,
        reason: `error: ${message}`,
        ...(isBpfCompileError(err) && err.hint !== undefined ? { hint: err.hint } : {}),
        warnings: [],
      });
      continue;
    }
    if (r.found) {
      const warnings = [...(r.kind === 'vmlinux' && r.releaseMismatch !== undefined ? [r.releaseMismatch] : []), ...(r.notes ?? [])];
      out.push({ name: source.name, kind: source.kind, found: true, detail: r.detail, warnings });
    } else {
      const reason = r.error !== undefined ? `${r.reason}: ${r.error.message}` : r.reason;
      out.push({ name: source.name, kind: source.kind, found: false, reason, ...(r.hint === undefined ? {} : { hint: r.hint }), warnings: [] });
    }
  }
  return out;
}

async function probeBtf(root: string): Promise<BtfReport> {
  const p = underRoot(root, SYSFS_VMLINUX_BTF);
  const present = await fs.stat(p).then(
    (s) => s.isFile() && s.size > 0,
    () => false,
  );
  return { path: p, present };
}

async function probeCache(options: { cacheDir: string | undefined; env: Readonly<Record<string, string | undefined>> }): Promise<CacheReport> {
  const { dir, origin } = resolveCacheDir({ cacheDir: options.cacheDir, env: options.env });
  const exists = await fs.stat(dir).then(
    () => true,
    () => false,
  );
  try {
    openCache({ cacheDir: options.cacheDir, env: options.env, create: false });
    return { path: dir, origin, exists, ok: true };
  } catch (err) {
    if (!isBpfCompileError(err)) throw err;
    return { path: dir, origin, exists, ok: false, error: err.message, ...(err.hint === undefined ? {} : { hint: err.hint }) };
  }
}

/** The probes that look at this machine. */
export const defaultProbes: DoctorProbes = {
  toolchain: probeToolchain,
  libbpf: probeLibbpf,
  sources: probeSources,
  btf: probeBtf,
  cache: probeCache,
  bpf: () => probeBpf(),
  distro: distroReport,
  installCommand: async (root, release) => headersInstallCommand(await readOsRelease(root), release),
};
