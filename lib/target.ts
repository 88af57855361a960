/**
 * The target kernel (release, arch row, root) and kernel version arithmetic (`LINUX_VERSION_CODE`).
 */
import os from 'node:os';
import { hostArch, lookupArch, type ArchInfo } from './arch.js';

/** Which kernel bpf-compile compiles for, and where its system paths live. */
export interface Target {
  /** Kernel release string, as `uname -r` prints it. */
  readonly release: string;
  /** The target architecture's arch-table row. */
  readonly arch: ArchInfo;
  /** Directory under which every system path (`/lib/modules`, `/sys`, …) is looked up; `/` for the live system. */
  readonly root: string;
}

/** Options that pick the target. All optional: the default is the running kernel on this machine. */
export interface TargetOptions {
  /** Kernel release to compile for. Default: `os.release()` (the running kernel). */
  kernelRelease?: string;
  /** Target arch: a `uname -m` name (`x86_64`, `aarch64`, …) or a kernel SRCARCH (`x86`, `arm64`, …). Default: the host. */
  arch?: string;
  /** Root directory for system paths. Default: `/`. */
  root?: string;
}

/** Normalise target options once, early. @throws BpfCompileError `UNKNOWN_ARCH`. */
export function resolveTarget(options: TargetOptions = {}): Target {
  const release = options.kernelRelease?.trim() || os.release();
  const arch = options.arch === undefined ? hostArch() : lookupArch(options.arch);
  return { release, arch, root: options.root ?? '/' };
}

/** A kernel version triple. */
export interface KernelVersion {
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
}

/** Parse the leading `a.b[.c]` of a release string (`6.1.0-56-amd64` → 6.1.0); undefined when it has none. */
export function parseKernelVersion(release: string): KernelVersion | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release);
  if (m === null) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

/** `LINUX_VERSION_CODE` of a version (`KERNEL_VERSION(a,b,c)`; patch clamped to 255 as the kernel does). */
export function versionCode(v: KernelVersion): number {
  return (v.major << 16) + (v.minor << 8) + Math.min(v.patch, 255);
}

/** Decode a `LINUX_VERSION_CODE` into a version. */
export function decodeVersionCode(code: number): KernelVersion {
  return { major: (code >> 16) & 0xff, minor: (code >> 8) & 0xff, patch: code & 0xff };
}

/** `a.b.c` text of a version. */
export function formatVersion(v: KernelVersion): string {
  return `${v.major}.${v.minor}.${v.patch}`;
}
