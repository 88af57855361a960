/**
 * Can this process load BPF programs? Root, `bpftool` present, and a tiny array map created and removed through
 * `bpftool map create` (the same probe the integration tests use).
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import { exec } from '../system/exec.js';

/** What the bpf() probe found. */
export interface BpfProbeResult {
  /** Whether a map could be created: loading programs should work. */
  readonly permitted: boolean;
  /** Whether the process runs as root (uid 0). */
  readonly root: boolean;
  /** `bpftool`'s version line, when it runs. */
  readonly bpftool: string | undefined;
  /** Why loading is not possible (absent when permitted). */
  readonly reason?: string;
}

/** Options of {@link probeBpf}. */
export interface BpfProbeOptions {
  /** The bpftool to run. Default: `bpftool` on `PATH`. */
  readonly bpftool?: string;
  /** bpffs dir to pin the probe map in. Default: `/sys/fs/bpf`. */
  readonly bpffs?: string;
}

/**
 * Probe whether bpf() loading is permitted: as root, with bpftool, create a 1-entry array map pinned under bpffs and
 * remove it again. Never throws.
 */
export async function probeBpf(options: BpfProbeOptions = {}): Promise<BpfProbeResult> {
  const root = process.getuid?.() === 0;
  const bpftool = options.bpftool ?? 'bpftool';
  const v = await exec(bpftool, ['version'], { timeoutMs: 10_000 });
  const version = v.ok ? v.stdout.split('\n')[0]?.trim() : undefined;
  if (version === undefined) return { permitted: false, root, bpftool: undefined, reason: 'bpftool is not installed' };
  if (!root) return { permitted: false, root, bpftool: version, reason: 'not running as root' };
  const pin = `${options.bpffs ?? '/sys/fs/bpf'}/bpfc-probe-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const args = ['map', 'create', pin, 'type', 'array', 'key', '4', 'value', '4', 'entries', '1', 'name', 'bpfc_probe'];
  const r = await exec(bpftool, args, { timeoutMs: 10_000 });
  await fs.rm(pin, { force: true });
  if (!r.ok) {
    const last = (r.spawnError ?? r.stderr).trim().split('\n').pop() ?? '';
    return { permitted: false, root, bpftool: version, reason: `bpf() not permitted here: ${last}` };
  }
  return { permitted: true, root, bpftool: version };
}
