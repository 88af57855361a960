import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { resolveHeaders, type ResolvedKernelTree } from '../../lib/resolve.js';

/** Whether this process may load BPF programs: root, bpftool present, bpffs mounted, and bpf() permitted. */
export async function bpfLoadPermitted(): Promise<{ ok: true } | { ok: false; reason: string }> {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not running as root' };
  const tool = await execa('bpftool', ['version'], { reject: false });
  if (tool.exitCode !== 0) return { ok: false, reason: 'bpftool is not installed' };
  const pin = `/sys/fs/bpf/bpfc-probe-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const r = await execa('bpftool', ['map', 'create', pin, 'type', 'array', 'key', '4', 'value', '4', 'entries', '1', 'name', 'bpfc_probe'], { reject: false });
  await fs.rm(pin, { force: true });
  if (r.exitCode !== 0) return { ok: false, reason: `bpf() not permitted here: ${String(r.stderr).trim().split('\n').pop() ?? ''}` };
  return { ok: true };
}

/** An object loaded with `bpftool prog loadall`, programs and maps pinned under bpffs. */
export interface Loaded {
  readonly progDir: string;
  readonly mapDir: string;
  readonly programs: string[];
  cleanup(): Promise<void>;
}

/** Load every program of `obj` into the kernel (the verifier judges it); throws with bpftool's output when rejected. */
export async function loadAll(obj: string): Promise<Loaded> {
  const id = `bpfc-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  const progDir = path.join('/sys/fs/bpf', id);
  const mapDir = path.join('/sys/fs/bpf', `${id}-maps`);
  const cleanup = async (): Promise<void> => {
    await fs.rm(progDir, { recursive: true, force: true });
    await fs.rm(mapDir, { recursive: true, force: true });
  };
  const r = await execa('bpftool', ['prog', 'loadall', obj, progDir, 'pinmaps', mapDir], { reject: false, all: true });
  if (r.exitCode !== 0) {
    await cleanup();
    throw new Error(`bpftool prog loadall ${obj} failed:\n${String(r.all).slice(-4000)}`);
  }
  return { progDir, mapDir, programs: await fs.readdir(progDir), cleanup };
}

let debian: Promise<ResolvedKernelTree | undefined> | undefined;

/** The installed distro kernel headers (Debian's linux-headers-amd64 in CI), resolved; undefined when none. */
export function installedHeaders(): Promise<ResolvedKernelTree | undefined> {
  debian ??= (async () => {
    const releases = await fs.readdir('/lib/modules').catch(() => [] as string[]);
    for (const release of releases.sort().reverse()) {
      try {
        return await resolveHeaders({ kernelRelease: release, env: { PATH: process.env['PATH'] }, kind: 'kernel-tree' });
      } catch {
        // not a usable tree
      }
    }
    return undefined;
  })();
  return debian;
}

/** A minimal Ethernet + IPv4 + UDP packet to `dport` (for `bpftool prog run`). */
export function udpPacket(dport: number): Buffer {
  const eth = Buffer.concat([Buffer.alloc(6, 0), Buffer.alloc(6, 0x11), Buffer.from([0x08, 0x00])]);
  const ip = Buffer.from([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(1234, 0);
  udp.writeUInt16BE(dport, 2);
  udp.writeUInt16BE(8, 4);
  return Buffer.concat([eth, ip, udp]);
}

/**
 * The clang command line of a CO-RE object for x86-64 against a generated vmlinux.h in `headerDir` (as the examples'
 * comments give it): `-g -O2 -target bpfel -D__TARGET_ARCH_x86 -mcpu=v3`, libbpf's headers from /usr/include.
 */
export function coreClangArgs(headerDir: string, src: string, out: string, extra: readonly string[] = []): string[] {
  return [
    '-g',
    '-O2',
    '-target',
    'bpfel',
    '-D__TARGET_ARCH_x86',
    '-mcpu=v3',
    `-I${headerDir}`,
    '-idirafter',
    '/usr/include/x86_64-linux-gnu',
    '-idirafter',
    '/usr/include',
    ...extra,
    '-c',
    src,
    '-o',
    out,
  ];
}
