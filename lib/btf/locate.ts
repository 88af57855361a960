/**
 * BTF of a kernel that does not expose `/sys/kernel/btf/vmlinux`, found where libbpf looks for it (its
 * `btf__load_vmlinux_btf` list), under the target root: vmlinux ELF files carrying a `.BTF` section. A vmlinux with
 * DWARF but no `.BTF` (a `-dbg` / debuginfo package's) is encoded with `pahole --btf_encode_detached` when pahole is
 * installed. Either way the raw BTF is written once into the cache (`vmlinux-btf/b1-<sha256 of the ELF>/vmlinux.btf`,
 * the ELF's digest remembered by the stat index, so a warm run hashes nothing) — a debug vmlinux is hundreds of MB,
 * and only its `.BTF` section is read (positioned reads of the ELF headers and that section).
 */
import fs from 'node:fs';
import path from 'node:path';
import { archiveDigest, ensureEntry, type Cache } from '../cache/index.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { underRoot } from '../system/root.js';
import { findProgram } from '../archive/decoder.js';
import { exec } from '../system/exec.js';

/** Where libbpf looks for a vmlinux with BTF, `{r}` the release (in its order). */
export const VMLINUX_BTF_PATHS: readonly string[] = [
  '/boot/vmlinux-{r}',
  '/lib/modules/{r}/vmlinux-{r}',
  '/lib/modules/{r}/build/vmlinux',
  '/usr/lib/modules/{r}/kernel/vmlinux',
  '/usr/lib/debug/boot/vmlinux-{r}',
  '/usr/lib/debug/boot/vmlinux-{r}.debug',
  '/usr/lib/debug/lib/modules/{r}/vmlinux',
];

/** Cache namespace of BTF taken out of vmlinux files. */
export const VMLINUX_BTF_NAMESPACE = 'vmlinux-btf';
const FORMAT = 1;

/** The sections of an ELF file read with positioned reads: name → [offset, size, type]. */
export function elfSectionTable(fd: number, label: string): Map<string, { offset: number; size: number; type: number }> {
  const bad = (why: string): BpfCompileError => new BpfCompileError(ErrorCode.BTF_INVALID, `${label} is not a well-formed ELF file: ${why}`, { details: { file: label } });
  const read = (pos: number, len: number): Buffer => {
    const b = Buffer.alloc(len);
    const n = fs.readSync(fd, b, 0, len, pos);
    if (n !== len) throw bad(`${len} bytes at ${pos} run past the end`);
    return b;
  };
  const ident = read(0, 64);
  if (ident.readUInt32BE(0) !== 0x7f454c46) throw bad('no ELF magic');
  const is64 = ident[4] === 2;
  const le = ident[5] === 1;
  const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const uw = (b: Buffer, o: number): number => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
  const shoff = uw(ident, is64 ? 0x28 : 0x20);
  const shentsize = u16(ident, is64 ? 0x3a : 0x2e);
  const shnum = u16(ident, is64 ? 0x3c : 0x30);
  const shstrndx = u16(ident, is64 ? 0x3e : 0x32);
  if (shnum === 0 || shentsize < (is64 ? 64 : 40) || shstrndx >= shnum) throw bad('no usable section header table');
  const table = read(shoff, shnum * shentsize);
  const sec = (i: number): { name: number; type: number; offset: number; size: number } => {
    const o = i * shentsize;
    return { name: u32(table, o), type: u32(table, o + 4), offset: uw(table, o + (is64 ? 0x18 : 0x10)), size: uw(table, o + (is64 ? 0x20 : 0x14)) };
  };
  const strs = sec(shstrndx);
  if (strs.size > 64 * 1024 * 1024) throw bad('section name table too large');
  const names = read(strs.offset, strs.size);
  const out = new Map<string, { offset: number; size: number; type: number }>();
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    const end = names.indexOf(0, s.name);
    if (s.name >= names.length || end < 0) continue;
    out.set(names.toString('latin1', s.name, end), { offset: s.offset, size: s.size, type: s.type });
  }
  return out;
}

/** What a candidate file holds. */
export type VmlinuxKind = 'btf' | 'dwarf' | 'neither';

/** Whether an ELF file has `.BTF`, only DWARF, or neither. */
export function vmlinuxKind(file: string): VmlinuxKind {
  const fd = fs.openSync(file, 'r');
  try {
    const t = elfSectionTable(fd, file);
    if ((t.get('.BTF')?.size ?? 0) > 0 && t.get('.BTF')?.type !== 8) return 'btf';
    return t.has('.debug_info') ? 'dwarf' : 'neither';
  } finally {
    fs.closeSync(fd);
  }
}

/** One place looked, and what was there. */
export interface VmlinuxCandidate {
  /** System path. */
  readonly path: string;
  readonly state: 'missing' | VmlinuxKind | 'unreadable';
  readonly reason?: string;
}

/** The candidates of `release` under `root`, each judged. */
export function vmlinuxCandidates(root: string, release: string): VmlinuxCandidate[] {
  return VMLINUX_BTF_PATHS.map((p) => {
    const sys = p.replaceAll('{r}', release);
    const abs = underRoot(root, sys);
    try {
      if (!fs.statSync(abs).isFile()) return { path: sys, state: 'missing' as const };
    } catch {
      return { path: sys, state: 'missing' as const };
    }
    try {
      return { path: sys, state: vmlinuxKind(abs) };
    } catch (err) {
      return { path: sys, state: 'unreadable' as const, reason: err instanceof Error ? err.message : String(err) };
    }
  });
}

/**
 * The raw BTF of a vmlinux file, from the cache or taken out of it (`.BTF` read in place, or encoded from DWARF by
 * pahole). @throws BpfCompileError `BTF_INVALID` (malformed ELF), `TOOLCHAIN_MISSING` (DWARF only, no pahole).
 */
export async function btfOfVmlinux(file: string, kind: 'btf' | 'dwarf', cache: Cache, signal?: AbortSignal): Promise<string> {
  const pahole = kind === 'dwarf' ? findProgram('pahole') : undefined;
  if (kind === 'dwarf' && pahole === undefined) {
    throw new BpfCompileError(ErrorCode.TOOLCHAIN_MISSING, `${file} has DWARF but no .BTF, and pahole is not installed to encode it`, {
      hint: 'install pahole (Debian/Ubuntu: apt-get install dwarves; Fedora/RHEL: dnf install dwarves), or pass --btf FILE',
      details: { file },
    });
  }
  const { sha256 } = archiveDigest(cache, file);
  const entry = await ensureEntry(cache, {
    namespace: VMLINUX_BTF_NAMESPACE,
    key: `b${FORMAT}-${sha256}`,
    ...(signal === undefined ? {} : { signal }),
    build: async (dataDir) => {
      const out = path.join(dataDir, 'vmlinux.btf');
      if (kind === 'btf') {
        const fd = fs.openSync(file, 'r');
        try {
          const sec = elfSectionTable(fd, file).get('.BTF');
          if (sec === undefined) throw new BpfCompileError(ErrorCode.BTF_INVALID, `${file} has no .BTF section`, { details: { file } });
          const b = Buffer.alloc(sec.size);
          if (fs.readSync(fd, b, 0, sec.size, sec.offset) !== sec.size)
            throw new BpfCompileError(ErrorCode.BTF_INVALID, `${file}: .BTF lies outside the file`, { details: { file } });
          fs.writeFileSync(out, b, { mode: 0o644 });
        } finally {
          fs.closeSync(fd);
        }
      } else {
        const r = await exec(pahole as string, ['--btf_encode_detached', out, file]);
        if (!r.ok || !fs.existsSync(out)) {
          throw new BpfCompileError(ErrorCode.BTF_INVALID, `pahole could not encode BTF from ${file}: ${(r.spawnError ?? r.all).trim().split('\n').slice(-3).join(' ')}`, {
            hint: 'a pahole older than 1.22 has no --btf_encode_detached; or the DWARF is not a kernel’s',
            details: { file },
          });
        }
        fs.chmodSync(out, 0o644);
      }
      return { source: file, sha256, files: 1, bytes: fs.statSync(out).size, extra: { format: FORMAT, from: kind === 'btf' ? '.BTF section' : 'pahole (DWARF)' } };
    },
  });
  return path.join(entry.dir, 'vmlinux.btf');
}

/** btfhub-archive's arch directory names (`uname -m`, except arm64). */
export function btfhubArch(machine: string): string {
  return machine === 'aarch64' ? 'arm64' : machine;
}

/**
 * The target's BTF in a local btfhub-archive checkout: `<dir>/<ID>/<VERSION_ID>/<arch>/<release>.btf.tar.xz` (or an
 * unpacked `.btf`), from the target's os-release. Returns the file, or why not.
 */
export function btfhubFile(dir: string, os: { id: string | undefined; versionId: string | undefined }, machine: string, release: string): { file: string } | { reason: string } {
  if (os.id === undefined || os.versionId === undefined) return { reason: `btfhub ${dir}: the target's os-release names no ID/VERSION_ID` };
  const base = path.join(dir, os.id, os.versionId, btfhubArch(machine), release);
  for (const f of [`${base}.btf.tar.xz`, `${base}.btf`]) if (fs.existsSync(f)) return { file: f };
  return { reason: `btfhub ${dir}: no ${path.relative(dir, base)}.btf.tar.xz` };
}
