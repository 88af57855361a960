/**
 * Test helper: write BTF blobs (either byte order) from a typed description, so tests can handcraft one blob per
 * kind and per edge case. Also wraps a blob in a minimal ELF file (ELF32/ELF64, either byte order).
 *
 * ```ts
 * const b = new BtfBuilder();
 * const int = b.int('int', 4, { signed: true });
 * b.struct('s', 8, [{ name: 'a', type: int, bitOffset: 0 }, { name: 'b', type: int, bitOffset: 32 }]);
 * const blob = b.build();
 * ```
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** One struct/union member. */
export interface MemberSpec {
  readonly name?: string;
  readonly type: number;
  /** Offset in bits. */
  readonly bitOffset: number;
  /** Bitfield width (makes the struct use kind_flag encoding). */
  readonly bitfieldSize?: number;
}

/** Build options. */
export interface BuildOptions {
  /** Byte order. Default little. */
  readonly endian?: 'little' | 'big';
  /** Header length to declare; extra bytes (beyond 24) are zero-filled. Default 24. */
  readonly hdrLen?: number;
}

const KIND = {
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;

/** Writes a BTF blob. Methods add one type each and return its id. */
export class BtfBuilder {
  /** Words of the type section (each record = array of u32). */
  readonly records: number[][] = [];
  readonly #strings: number[] = [];
  readonly #strIndex = new Map<string, number>();
  /** First type id (1, or the base's count for split BTF). */
  readonly firstId: number;
  /** String offset of this blob's first string byte (0, or the base's string length). */
  readonly strBase: number;
  readonly #base: BtfBuilder | undefined;

  /** @param base - Make this a split BTF on top of `base` (ids and string offsets continue). */
  constructor(base?: BtfBuilder) {
    this.#base = base;
    this.firstId = base === undefined ? 1 : base.count;
    this.strBase = base === undefined ? 0 : base.strLen;
    if (base === undefined) this.#strings.push(0);
  }

  /** Number of type ids so far, including void (and base types). */
  get count(): number {
    return this.firstId + this.records.length;
  }

  /** Length of the string table so far (including base's). */
  get strLen(): number {
    return this.strBase + this.#strings.length;
  }

  /** Offset of `s` in the string table, adding it if new. `''` is offset 0. */
  str(s: string): number {
    if (s === '') return 0;
    const inBase = this.#base?.findStr(s);
    if (inBase !== undefined) return inBase;
    const hit = this.#strIndex.get(s);
    if (hit !== undefined) return hit;
    const off = this.strLen;
    for (const b of Buffer.from(s, 'utf8')) this.#strings.push(b);
    this.#strings.push(0);
    this.#strIndex.set(s, off);
    return off;
  }

  /** Offset of an existing string (no insertion). */
  findStr(s: string): number | undefined {
    return this.#base?.findStr(s) ?? this.#strIndex.get(s);
  }

  /** Append a raw record (words) — for malformed-input tests. Returns its id. */
  raw(words: readonly number[]): number {
    this.records.push([...words]);
    return this.count - 1;
  }

  #add(nameOff: number, kind: number, vlen: number, kflag: boolean, sizeOrType: number, extra: number[] = []): number {
    const info = ((kflag ? 1 : 0) << 31) | (kind << 24) | (vlen & 0xffff);
    return this.raw([nameOff, info >>> 0, sizeOrType >>> 0, ...extra.map((w) => w >>> 0)]);
  }

  int(name: string, size: number, o: { signed?: boolean; char?: boolean; bool?: boolean; bits?: number; offset?: number } = {}): number {
    const enc = (o.signed ? 1 : 0) | (o.char ? 2 : 0) | (o.bool ? 4 : 0);
    const bits = o.bits ?? size * 8;
    return this.#add(this.str(name), KIND.int, 0, false, size, [(enc << 24) | ((o.offset ?? 0) << 16) | bits]);
  }

  ptr(type: number): number {
    return this.#add(0, KIND.ptr, 0, false, type);
  }

  array(type: number, nelems: number, index = 0): number {
    return this.#add(0, KIND.array, 0, false, 0, [type, index, nelems]);
  }

  #composite(kind: number, name: string, size: number, members: readonly MemberSpec[]): number {
    const kflag = members.some((m) => (m.bitfieldSize ?? 0) > 0);
    const extra: number[] = [];
    for (const m of members) {
      extra.push(this.str(m.name ?? ''), m.type, kflag ? ((m.bitfieldSize ?? 0) << 24) | m.bitOffset : m.bitOffset);
    }
    return this.#add(this.str(name), kind, members.length, kflag, size, extra);
  }

  struct(name: string, size: number, members: readonly MemberSpec[]): number {
    return this.#composite(KIND.struct, name, size, members);
  }

  union(name: string, size: number, members: readonly MemberSpec[]): number {
    return this.#composite(KIND.union, name, size, members);
  }

  enum(name: string, values: readonly (readonly [string, number])[], o: { size?: number; signed?: boolean } = {}): number {
    const extra: number[] = [];
    for (const [n, v] of values) extra.push(this.str(n), v);
    return this.#add(this.str(name), KIND.enum, values.length, o.signed ?? false, o.size ?? 4, extra);
  }

  enum64(name: string, values: readonly (readonly [string, bigint])[], o: { size?: number; signed?: boolean } = {}): number {
    const extra: number[] = [];
    for (const [n, v] of values) {
      const u = BigInt.asUintN(64, v);
      extra.push(this.str(n), Number(u & 0xffffffffn), Number(u >> 32n));
    }
    return this.#add(this.str(name), KIND.enum64, values.length, o.signed ?? false, o.size ?? 8, extra);
  }

  fwd(name: string, union = false): number {
    return this.#add(this.str(name), KIND.fwd, 0, union, 0);
  }

  typedef(name: string, type: number): number {
    return this.#add(this.str(name), KIND.typedef, 0, false, type);
  }

  volatile(type: number): number {
    return this.#add(0, KIND.volatile, 0, false, type);
  }

  const(type: number): number {
    return this.#add(0, KIND.const, 0, false, type);
  }

  restrict(type: number): number {
    return this.#add(0, KIND.restrict, 0, false, type);
  }

  func(name: string, proto: number, linkage = 1): number {
    return this.#add(this.str(name), KIND.func, linkage, false, proto);
  }

  funcProto(ret: number, params: readonly { name?: string; type: number }[]): number {
    const extra: number[] = [];
    for (const p of params) extra.push(this.str(p.name ?? ''), p.type);
    return this.#add(0, KIND.func_proto, params.length, false, ret, extra);
  }

  var(name: string, type: number, linkage = 1): number {
    return this.#add(this.str(name), KIND.var, 0, false, type, [linkage]);
  }

  datasec(name: string, size: number, vars: readonly { type: number; offset: number; size: number }[]): number {
    const extra: number[] = [];
    for (const v of vars) extra.push(v.type, v.offset, v.size);
    return this.#add(this.str(name), KIND.datasec, vars.length, false, size, extra);
  }

  float(name: string, size: number): number {
    return this.#add(this.str(name), KIND.float, 0, false, size);
  }

  declTag(name: string, type: number, componentIdx = -1): number {
    return this.#add(this.str(name), KIND.decl_tag, 0, false, type, [componentIdx]);
  }

  typeTag(name: string, type: number, attribute = false): number {
    return this.#add(this.str(name), KIND.type_tag, 0, attribute, type);
  }

  /** The blob: header, type section, string section. */
  build(opts: BuildOptions = {}): Uint8Array {
    const little = (opts.endian ?? 'little') === 'little';
    const hdrLen = opts.hdrLen ?? 24;
    const words = this.records.flat();
    const typeLen = words.length * 4;
    const strLen = this.#strings.length;
    const out = new Uint8Array(hdrLen + typeLen + strLen);
    const v = new DataView(out.buffer);
    v.setUint16(0, 0xeb9f, little);
    v.setUint8(2, 1);
    v.setUint8(3, 0);
    v.setUint32(4, hdrLen, little);
    v.setUint32(8, 0, little);
    v.setUint32(12, typeLen, little);
    v.setUint32(16, typeLen, little);
    v.setUint32(20, strLen, little);
    words.forEach((w, i) => v.setUint32(hdrLen + i * 4, w >>> 0, little));
    out.set(this.#strings, hdrLen + typeLen);
    return out;
  }
}

/**
 * Wrap `sections` (name → bytes) in a minimal relocatable ELF file with a section-name string table.
 */
export function wrapInElf(sections: Readonly<Record<string, Uint8Array>>, o: { bits?: 32 | 64; endian?: 'little' | 'big' } = {}): Uint8Array {
  const is64 = (o.bits ?? 64) === 64;
  const little = (o.endian ?? 'little') === 'little';
  const names = ['', ...Object.keys(sections), '.shstrtab'];
  const shstr: number[] = [];
  const nameOff: number[] = [];
  for (const n of names) {
    nameOff.push(shstr.length);
    for (const b of Buffer.from(n)) shstr.push(b);
    shstr.push(0);
  }
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const datas = [new Uint8Array(0), ...Object.values(sections), Uint8Array.from(shstr)];
  const offsets: number[] = [];
  let at = ehsize;
  for (const d of datas) {
    at = Math.ceil(at / 8) * 8;
    offsets.push(at);
    at += d.length;
  }
  const shoff = Math.ceil(at / 8) * 8;
  const total = shoff + shentsize * datas.length;
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, little ? 1 : 2, 1]);
  v.setUint16(16, 1, little); // ET_REL
  v.setUint16(18, 247, little); // EM_BPF
  v.setUint32(20, 1, little);
  if (is64) {
    v.setBigUint64(0x28, BigInt(shoff), little);
    v.setUint16(0x34, ehsize, little);
    v.setUint16(0x3a, shentsize, little);
    v.setUint16(0x3c, datas.length, little);
    v.setUint16(0x3e, datas.length - 1, little);
  } else {
    v.setUint32(0x20, shoff, little);
    v.setUint16(0x28, ehsize, little);
    v.setUint16(0x2e, shentsize, little);
    v.setUint16(0x30, datas.length, little);
    v.setUint16(0x32, datas.length - 1, little);
  }
  datas.forEach((d, i) => {
    out.set(d, offsets[i]!);
    const h = shoff + i * shentsize;
    if (i === 0) return;
    v.setUint32(h, nameOff[i]!, little);
    v.setUint32(h + 4, i === datas.length - 1 ? 3 : 1, little); // SHT_STRTAB / SHT_PROGBITS
    if (is64) {
      v.setBigUint64(h + 24, BigInt(offsets[i]!), little);
      v.setBigUint64(h + 32, BigInt(d.length), little);
    } else {
      v.setUint32(h + 16, offsets[i]!, little);
      v.setUint32(h + 20, d.length, little);
    }
  });
  return out;
}

/** Result of {@link compileC}. */
export interface CompileCResult {
  readonly ok: boolean;
  readonly stderr: string;
}

/** The clang binary to use in tests, or undefined when there is none (tests then skip). */
export function findClang(): string | undefined {
  for (const c of ['clang', 'clang-14', 'clang-15', 'clang-16']) {
    const r = spawnSync(c, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return c;
  }
  return undefined;
}

/**
 * Compile C `source` for the BPF target (`clang -target bpf -c -x c`), with `files` (name → text) written next
 * to it so it can `#include "vmlinux.h"`. Writes the object to `out` when given, else discards it.
 */
export function compileC(clang: string, source: string, files: Readonly<Record<string, string>> = {}, extraArgs: readonly string[] = [], out?: string): CompileCResult {
  const dir = mkdtempSync(path.join(tmpdir(), 'btf-cc-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    const src = path.join(dir, 'tu.c');
    writeFileSync(src, source);
    const r = spawnSync(clang, ['-target', 'bpf', '-c', '-x', 'c', '-Wno-unused-value', '-I', dir, ...extraArgs, src, '-o', out ?? path.join(dir, 'tu.o')], {
      encoding: 'utf8',
    });
    return { ok: r.status === 0, stderr: `${r.stderr ?? ''}${r.error === undefined ? '' : String(r.error)}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
