/**
 * CO-RE access specs (libbpf's `struct bpf_core_spec`): the parsed access string of a relocation against the
 * object's BTF ({@link parseLocalSpec}, `bpf_core_parse_spec`), and the same access found in a kernel's BTF
 * ({@link matchSpec}, `bpf_core_spec_match` with `bpf_core_match_member`).
 *
 * A spec has two forms. `raw` is every step of the access string, including the members that only lead into
 * anonymous structs/unions (`0:1:2:3`); `access` keeps the steps that mean something: the initial pointer index,
 * each named field and each array index. Matching walks `access` and rebuilds `raw` for the target, so the target
 * spec names exactly the kernel members the access goes through — the members a tailored BTF must keep.
 */
import type { Btf } from '../btf/btf.js';
import { arrayElemType, arrayNelems, enumNameOff, infoKflag, infoVlen, memberBitOffset, memberNameOff, memberOffsetWord, memberType } from '../btf/table.js';
import { BtfKind } from '../btf/types.js';
import { essentialNameLen, fieldsAreCompat, isAnyEnum, isComposite, kindAt, skipModsAndTypedefs, typesAreCompat, typesMatch } from './compat.js';
import { RELO_KINDS, ReloKindNumber } from './kinds.js';

/** Longest access libbpf accepts (`BPF_CORE_SPEC_MAX_LEN`). */
export const SPEC_MAX_LEN = 64;

/** One meaningful step of an access. */
export interface Accessor {
  /** The struct/union (named field), array element type (index) or enum the step is in. */
  readonly typeId: number;
  /** Member, element or enumerator index. */
  readonly idx: number;
  /** The member's or enumerator's name; `undefined` for an array index. */
  readonly name: string | undefined;
}

/** A relocation's access, in one BTF. */
export interface CoreSpec {
  readonly btf: Btf;
  readonly rootTypeId: number;
  readonly kind: number;
  readonly access: readonly Accessor[];
  readonly raw: readonly number[];
  /** Bit offset of the accessed field from the root (field relocations). */
  readonly bitOffset: number;
}

/** Why a local spec could not be parsed (libbpf fails the whole load for these). */
export class SpecError extends Error {}

function memberBitOff(btf: Btf, id: number, i: number): number {
  const st = btf.table.start[id]!;
  return memberBitOffset(memberOffsetWord(btf.table.words, st, i), infoKflag(btf.table.words[st + 1]!));
}

function vlenAt(btf: Btf, id: number): number {
  return infoVlen(btf.table.words[btf.table.start[id]! + 1]!);
}

/** libbpf's `is_flex_arr`: a zero-length array that is the last member of its struct. */
function isFlexArr(btf: Btf, acc: Accessor | undefined, arrayId: number): boolean {
  if (acc === undefined || acc.name === undefined) return false;
  if (arrayNelems(btf.table.words, btf.table.start[arrayId]!) > 0) return false;
  return acc.idx === vlenAt(btf, acc.typeId) - 1;
}

/**
 * Parse a relocation's access string against the object's BTF (`bpf_core_parse_spec`).
 *
 * @throws SpecError when the access string or the types it walks are malformed.
 */
export function parseLocalSpec(btf: Btf, typeId: number, kind: number, accessStr: string): CoreSpec {
  if (accessStr === '' || accessStr.startsWith(':')) throw new SpecError(`empty access string`);
  if (typeId <= 0 || typeId >= btf.count) throw new SpecError(`type id ${typeId} is not in the object's BTF`);
  const cls = RELO_KINDS[kind]!.class;
  if (cls === 'type') {
    if (accessStr !== '0') throw new SpecError(`type relocation with access string "${accessStr}"`);
    return { btf, rootTypeId: typeId, kind, access: [], raw: [], bitOffset: 0 };
  }
  const raw: number[] = [];
  for (const part of accessStr.split(':')) {
    if (!/^\d+$/.test(part)) throw new SpecError(`bad access string "${accessStr}"`);
    if (raw.length === SPEC_MAX_LEN) throw new SpecError(`access string "${accessStr}" is longer than ${SPEC_MAX_LEN} steps`);
    raw.push(Number(part));
  }
  let id = skipModsAndTypedefs(btf, typeId);
  const access: Accessor[] = [];
  const first = raw[0]!;
  if (cls === 'enumval') {
    const k = kindAt(btf, id);
    if (!isAnyEnum(k) || raw.length > 1 || first >= vlenAt(btf, id)) throw new SpecError(`enum value relocation "${accessStr}" does not name an enumerator`);
    const nameOff = enumNameOff(btf.table.words, btf.table.start[id]!, first, k === BtfKind.ENUM64);
    access.push({ typeId: id, idx: first, name: btf.strings.get(nameOff) });
    return { btf, rootTypeId: typeId, kind, access, raw, bitOffset: 0 };
  }
  access.push({ typeId: id, idx: first, name: undefined });
  let size = btf.resolveSize(id);
  if (size < 0) throw new SpecError(`type [${id}] has no size`);
  let bitOffset = first * size * 8;
  for (let i = 1; i < raw.length; i++) {
    id = skipModsAndTypedefs(btf, id);
    const idx = raw[i]!;
    const k = kindAt(btf, id);
    if (isComposite(k)) {
      if (idx >= vlenAt(btf, id)) throw new SpecError(`member ${idx} of [${id}] does not exist`);
      bitOffset += memberBitOff(btf, id, idx);
      const st = btf.table.start[id]!;
      const nameOff = memberNameOff(btf.table.words, st, idx);
      if (nameOff !== 0) {
        const name = btf.strings.get(nameOff);
        if (name === '') throw new SpecError(`member ${idx} of [${id}] has an empty name`);
        access.push({ typeId: id, idx, name });
      }
      id = memberType(btf.table.words, st, idx);
    } else if (k === BtfKind.ARRAY) {
      const arr = id;
      const st = btf.table.start[arr]!;
      id = skipModsAndTypedefs(btf, arrayElemType(btf.table.words, st));
      if (!isFlexArr(btf, access[access.length - 1], arr) && idx >= arrayNelems(btf.table.words, st)) {
        throw new SpecError(`index ${idx} past the end of array [${arr}]`);
      }
      access.push({ typeId: id, idx, name: undefined });
      size = btf.resolveSize(id);
      if (size < 0) throw new SpecError(`type [${id}] has no size`);
      bitOffset += idx * size * 8;
    } else {
      throw new SpecError(`access "${accessStr}" step ${i} reaches type [${id}], neither a struct/union nor an array`);
    }
  }
  return { btf, rootTypeId: typeId, kind, access, raw, bitOffset };
}

/** A target spec under construction. */
interface Building {
  access: Accessor[];
  raw: number[];
  bitOffset: number;
}

/** `bpf_core_match_member`: find the local named field in target struct `targId`, through anonymous members. */
function matchMember(local: Btf, acc: Accessor, targ: Btf, targId: number, out: Building): { found: number; next: number } {
  targId = skipModsAndTypedefs(targ, targId);
  if (!isComposite(kindAt(targ, targId))) return { found: 0, next: 0 };
  const lst = local.table.start[acc.typeId]!;
  const localMemberType = memberType(local.table.words, lst, acc.idx);
  const localName = acc.name!;
  const tw = targ.table.words;
  const tst = targ.table.start[targId]!;
  const n = infoVlen(tw[tst + 1]!);
  for (let i = 0; i < n; i++) {
    if (out.raw.length === SPEC_MAX_LEN) return { found: -1, next: 0 };
    const bit = memberBitOff(targ, targId, i);
    out.bitOffset += bit;
    out.raw.push(i);
    const targName = targ.strings.get(memberNameOff(tw, tst, i));
    const mt = memberType(tw, tst, i);
    if (targName === '') {
      const r = matchMember(local, acc, targ, mt, out);
      if (r.found !== 0) return r;
    } else if (targName === localName) {
      out.access.push({ typeId: targId, idx: i, name: targName });
      const found = fieldsAreCompat(local, localMemberType, targ, mt);
      if (found === 0) out.access.pop();
      return { found, next: mt };
    }
    out.bitOffset -= bit;
    out.raw.pop();
  }
  return { found: 0, next: 0 };
}

/**
 * Match a local spec against candidate type `targId` of a kernel's BTF (`bpf_core_spec_match`). Returns the
 * target spec, `null` when the candidate does not match, or -1 on an error (too deep).
 */
export function matchSpec(local: CoreSpec, targ: Btf, targId: number): CoreSpec | null | -1 {
  const base = { btf: targ, rootTypeId: targId, kind: local.kind };
  const cls = RELO_KINDS[local.kind]!.class;
  if (cls === 'type') {
    const r = local.kind === ReloKindNumber.TYPE_MATCHES ? typesMatch(local.btf, local.rootTypeId, targ, targId) : typesAreCompat(local.btf, local.rootTypeId, targ, targId);
    if (r < 0) return -1;
    return r === 0 ? null : { ...base, access: [], raw: [], bitOffset: 0 };
  }
  if (cls === 'enumval') {
    const id = skipModsAndTypedefs(targ, targId);
    const k = kindAt(targ, id);
    if (!isAnyEnum(k)) return null;
    const want = local.access[0]!.name!;
    const wantLen = essentialNameLen(want);
    const st = targ.table.start[id]!;
    const n = infoVlen(targ.table.words[st + 1]!);
    for (let i = 0; i < n; i++) {
      const name = targ.strings.get(enumNameOff(targ.table.words, st, i, k === BtfKind.ENUM64));
      if (essentialNameLen(name) !== wantLen || name.slice(0, wantLen) !== want.slice(0, wantLen)) continue;
      return { ...base, access: [{ typeId: id, idx: i, name }], raw: [i], bitOffset: 0 };
    }
    return null;
  }
  const out: Building = { access: [], raw: [], bitOffset: 0 };
  let id = targId;
  for (let i = 0; i < local.access.length; i++) {
    const acc = local.access[i]!;
    id = skipModsAndTypedefs(targ, id);
    if (acc.name !== undefined) {
      const r = matchMember(local.btf, acc, targ, id, out);
      if (r.found < 0) return -1;
      if (r.found === 0) return null;
      id = r.next;
    } else {
      if (i > 0) {
        if (kindAt(targ, id) !== BtfKind.ARRAY) return null;
        const st = targ.table.start[id]!;
        if (!isFlexArr(targ, out.access[out.access.length - 1], id) && acc.idx >= arrayNelems(targ.table.words, st)) return null;
        id = skipModsAndTypedefs(targ, arrayElemType(targ.table.words, st));
      }
      if (out.raw.length === SPEC_MAX_LEN) return -1;
      out.access.push({ typeId: id, idx: acc.idx, name: undefined });
      out.raw.push(acc.idx);
      const size = targ.resolveSize(id);
      if (size < 0) return -1;
      out.bitOffset += acc.idx * size * 8;
    }
  }
  return { ...base, access: out.access, raw: out.raw, bitOffset: out.bitOffset };
}

/** libbpf's way of printing a spec: `task_struct.real_parent (0:61 @ offset 1280)`. */
export function formatSpec(spec: CoreSpec, typeName: string): string {
  const cls = RELO_KINDS[spec.kind]!.class;
  if (cls === 'type') return typeName;
  if (cls === 'enumval') return `${typeName}::${spec.access[0]?.name ?? '?'}`;
  let s = typeName;
  spec.access.forEach((a, i) => {
    if (a.name !== undefined) s += `.${a.name}`;
    else if (i > 0 || a.idx > 0) s += `[${a.idx}]`;
  });
  const off = spec.bitOffset % 8 === 0 ? `${spec.bitOffset / 8}` : `${Math.floor(spec.bitOffset / 8)}.${spec.bitOffset % 8}`;
  return `${s} (${spec.raw.join(':')} @ offset ${off})`;
}
