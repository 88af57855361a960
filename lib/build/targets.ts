/** Which targets a build compiles for, and where each object goes. */
import os from 'node:os';
import path from 'node:path';
import { ARCHES, hostArch, lookupArch, type BpfTarget } from '../arch.js';
import { BpfCompileError, ErrorCode } from '../errors.js';

/** One target of a build. */
export interface BuildTarget {
  /** Name used in object file names: the arch row's `uname -m` name (`x86_64`, `aarch64`, `s390x`), or `bpfel`/`bpfeb`. */
  readonly name: string;
  /** The `arch` passed to `compile()` (a `uname -m` name of the arch table). */
  readonly arch: string;
  /** Byte order of the objects. */
  readonly bpfTarget: BpfTarget;
}

/** Split a comma-separated list (`x86,arm64` or repeated values), dropping empty items. */
export function splitList(values: string | readonly string[] | undefined): string[] {
  if (values === undefined) return [];
  const list = typeof values === 'string' ? [values] : values;
  return list
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** The arch a byte-order target compiles with: the host when its byte order matches, else the first table row of it. */
export function archForBpfTarget(target: BpfTarget, host: string = hostArch().machine): string {
  const h = lookupArch(host);
  if (h.bpfTarget === target) return h.machine;
  const row = ARCHES.find((a) => a.bpfTarget === target);
  if (row === undefined) throw new BpfCompileError(ErrorCode.UNKNOWN_ARCH, `no arch with byte order ${target}`);
  return row.machine;
}

/**
 * The targets of a build: `arches` (any names `--arch` takes; aliases of one row count once) or `targets`
 * (`bpfel`/`bpfeb`), not both. Neither → one target, the host arch.
 * @throws BpfCompileError `USAGE` for both or a bad `--target`, `UNKNOWN_ARCH` for an unknown arch.
 */
export function buildTargets(arches?: readonly string[], targets?: readonly string[], host: string = os.machine()): BuildTarget[] {
  const a = splitList(arches);
  const t = splitList(targets);
  if (a.length > 0 && t.length > 0) {
    throw new BpfCompileError(ErrorCode.USAGE, '--arch and --target cannot be combined', { hint: 'use --arch for arch-specific objects, --target for byte order only' });
  }
  const out: BuildTarget[] = [];
  const add = (bt: BuildTarget): void => {
    if (!out.some((o) => o.name === bt.name)) out.push(bt);
  };
  if (t.length > 0) {
    for (const name of t) {
      if (name !== 'bpfel' && name !== 'bpfeb') {
        throw new BpfCompileError(ErrorCode.USAGE, `unknown --target '${name}'`, { hint: 'use bpfel, bpfeb or both (bpfel,bpfeb)' });
      }
      add({ name, arch: archForBpfTarget(name, hostOrDefault(host)), bpfTarget: name });
    }
    return out;
  }
  for (const name of a.length > 0 ? a : [hostOrDefault(host)]) {
    const row = lookupArch(name);
    add({ name: row.machine, arch: row.machine, bpfTarget: row.bpfTarget });
  }
  return out;
}

function hostOrDefault(host: string): string {
  try {
    return lookupArch(host).machine;
  } catch {
    return hostArch().machine;
  }
}

/** A source's stem: its file name without `.bpf.c`, else without `.c`, else without its last extension. */
export function stemOf(source: string): string {
  const base = path.basename(source);
  if (base.endsWith('.bpf.c')) return base.slice(0, -'.bpf.c'.length);
  if (base.endsWith('.c')) return base.slice(0, -2);
  const ext = path.extname(base);
  return ext === '' ? base : base.slice(0, -ext.length);
}

/** Object path: `<outDir>/<stem>.bpf.o` for a single-target build, `<outDir>/<stem>.<target>.bpf.o` otherwise. */
export function objectPath(outDir: string, source: string, target: BuildTarget, multiTarget: boolean): string {
  return path.join(outDir, multiTarget ? `${stemOf(source)}.${target.name}.bpf.o` : `${stemOf(source)}.bpf.o`);
}
