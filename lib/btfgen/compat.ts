/**
 * Type compatibility as libbpf's CO-RE judges it (tools/lib/bpf/relo_core.c): which local type a kernel type may
 * stand for. Three relations, each a port of libbpf's rules so that the types we keep for a relocation are the ones
 * libbpf will pick at load time:
 *
 * - {@link fieldsAreCompat} — a field's local and target types (`bpf_core_fields_are_compat`);
 * - {@link typesAreCompat} — a type-based relocation's root types (`__bpf_core_types_are_compat`);
 * - {@link typesMatch} — `bpf_core_type_matches()` (`__bpf_core_types_match`).
 *
 * Results: 1 compatible, 0 not, -1 an error (too deep, which libbpf reports as `-EINVAL`).
 */
import type { Btf } from '../btf/btf.js';
import {
  arrayElemType,
  arrayNelems,
  enumNameOff,
  infoKflag,
  infoVlen,
  intEncoding,
  kindOf,
  memberNameOff,
  memberType,
  nameOffOf,
  paramType,
  recordKind,
  sizeTypeOf,
} from '../btf/table.js';
import { BtfKind } from '../btf/types.js';

/** `X___Y` flavour separator at `i` (X and Y not underscores). */
function isFlavorSep(name: string, i: number): boolean {
  return name[i] !== '_' && name[i + 1] === '_' && name[i + 2] === '_' && name[i + 3] === '_' && name[i + 4] !== '_' && i + 4 < name.length;
}

/** Length of a name without its flavour suffix (`task_struct___old` → 11), libbpf's `bpf_core_essential_name_len`. */
export function essentialNameLen(name: string): number {
  for (let i = name.length - 5; i >= 0; i--) if (isFlavorSep(name, i)) return i + 1;
  return name.length;
}

/** The name without its flavour suffix. */
export function essentialName(name: string): string {
  return name.slice(0, essentialNameLen(name));
}

/** Kind of type `id`. */
export function kindAt(btf: Btf, id: number): number {
  return kindOf(btf.table, id);
}

/** Follow typedefs and modifiers (const, volatile, restrict, type tags). */
export function skipModsAndTypedefs(btf: Btf, id: number): number {
  return btf.skipQualifiers(id, true);
}

/** libbpf's `btf_kind_core_compat`: same kind, or both some enum. */
export function kindsCoreCompat(a: number, b: number): boolean {
  return a === b || (isAnyEnum(a) && isAnyEnum(b));
}

/** ENUM or ENUM64. */
export function isAnyEnum(kind: number): boolean {
  return kind === BtfKind.ENUM || kind === BtfKind.ENUM64;
}

/** STRUCT or UNION. */
export function isComposite(kind: number): boolean {
  return kind === BtfKind.STRUCT || kind === BtfKind.UNION;
}

function intOffset(btf: Btf, id: number): number {
  return (intEncoding(btf.table.words, btf.table.start[id]!) >>> 16) & 0xff;
}

/** INT encoding bits (`BTF_INT_SIGNED` = 1). */
export function intEncodingBits(btf: Btf, id: number): number {
  return (intEncoding(btf.table.words, btf.table.start[id]!) >>> 24) & 0x0f;
}

function namesEqualEssential(a: string, b: string): boolean {
  const la = essentialNameLen(a);
  return la === essentialNameLen(b) && a.slice(0, la) === b.slice(0, la);
}

/** `bpf_core_fields_are_compat`. */
export function fieldsAreCompat(local: Btf, localId: number, targ: Btf, targId: number): number {
  for (let depth = 0; depth < 64; depth++) {
    localId = skipModsAndTypedefs(local, localId);
    targId = skipModsAndTypedefs(targ, targId);
    const lk = kindAt(local, localId);
    const tk = kindAt(targ, targId);
    if (isComposite(lk) && isComposite(tk)) return 1;
    if (!kindsCoreCompat(lk, tk)) return 0;
    switch (lk) {
      case BtfKind.PTR:
      case BtfKind.FLOAT:
        return 1;
      case BtfKind.FWD:
      case BtfKind.ENUM:
      case BtfKind.ENUM64: {
        const ln = local.nameOf(localId);
        const tn = targ.nameOf(targId);
        return essentialNameLen(ln) === 0 || essentialNameLen(tn) === 0 || namesEqualEssential(ln, tn) ? 1 : 0;
      }
      case BtfKind.INT:
        return intOffset(local, localId) === 0 && intOffset(targ, targId) === 0 ? 1 : 0;
      case BtfKind.ARRAY:
        localId = arrayElemType(local.table.words, local.table.start[localId]!);
        targId = arrayElemType(targ.table.words, targ.table.start[targId]!);
        continue;
      default:
        return 0;
    }
  }
  return -1;
}

/** `__bpf_core_types_are_compat` (callers have matched the root names). */
export function typesAreCompat(local: Btf, localId: number, targ: Btf, targId: number, level = 32): number {
  if (!kindsCoreCompat(kindAt(local, localId), kindAt(targ, targId))) return 0;
  for (let depth = 32; depth > 0; depth--) {
    localId = skipModsAndTypedefs(local, localId);
    targId = skipModsAndTypedefs(targ, targId);
    const lk = kindAt(local, localId);
    const tk = kindAt(targ, targId);
    if (!kindsCoreCompat(lk, tk)) return 0;
    switch (lk) {
      case BtfKind.VOID:
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.ENUM:
      case BtfKind.FWD:
      case BtfKind.ENUM64:
        return 1;
      case BtfKind.INT:
        return intOffset(local, localId) === 0 && intOffset(targ, targId) === 0 ? 1 : 0;
      case BtfKind.PTR:
        localId = sizeTypeOf(local.table, localId);
        targId = sizeTypeOf(targ.table, targId);
        continue;
      case BtfKind.ARRAY:
        localId = arrayElemType(local.table.words, local.table.start[localId]!);
        targId = arrayElemType(targ.table.words, targ.table.start[targId]!);
        continue;
      case BtfKind.FUNC_PROTO: {
        const ls = local.table.start[localId]!;
        const ts = targ.table.start[targId]!;
        const vlen = infoVlen(local.table.words[ls + 1]!);
        if (vlen !== infoVlen(targ.table.words[ts + 1]!)) return 0;
        for (let i = 0; i < vlen; i++) {
          if (level <= 0) return -1;
          const r = typesAreCompat(
            local,
            skipModsAndTypedefs(local, paramType(local.table.words, ls, i)),
            targ,
            skipModsAndTypedefs(targ, paramType(targ.table.words, ts, i)),
            level - 1,
          );
          if (r <= 0) return r;
        }
        localId = skipModsAndTypedefs(local, sizeTypeOf(local.table, localId));
        targId = skipModsAndTypedefs(targ, sizeTypeOf(targ.table, targId));
        continue;
      }
      default:
        return 0;
    }
  }
  return -1;
}

/** `bpf_core_names_match`: an anonymous target matches only an anonymous local; else essential names equal. */
function namesMatch(local: Btf, localOff: number, targ: Btf, targOff: number): boolean {
  const tn = targ.strings.get(targOff);
  const ln = local.strings.get(localOff);
  if (tn === '') return ln === '';
  return namesEqualEssential(ln, tn);
}

function enumsMatch(local: Btf, localId: number, targ: Btf, targId: number): number {
  const lw = local.table.words;
  const tw = targ.table.words;
  const ls = local.table.start[localId]!;
  const ts = targ.table.start[targId]!;
  if (lw[ls + 2] !== tw[ts + 2]) return 0;
  const lv = infoVlen(lw[ls + 1]!);
  const tv = infoVlen(tw[ts + 1]!);
  if (lv > tv) return 0;
  const l64 = recordKind(lw, ls) === BtfKind.ENUM64;
  const t64 = recordKind(tw, ts) === BtfKind.ENUM64;
  for (let i = 0; i < lv; i++) {
    const lo = enumNameOff(lw, ls, i, l64);
    let found = false;
    for (let j = 0; j < tv && !found; j++) found = namesMatch(local, lo, targ, enumNameOff(tw, ts, j, t64));
    if (!found) return 0;
  }
  return 1;
}

function compositesMatch(local: Btf, localId: number, targ: Btf, targId: number, behindPtr: boolean, level: number, budget: { left: number }): number {
  const lw = local.table.words;
  const tw = targ.table.words;
  const ls = local.table.start[localId]!;
  const ts = targ.table.start[targId]!;
  const lv = infoVlen(lw[ls + 1]!);
  const tv = infoVlen(tw[ts + 1]!);
  if (lv > tv) return 0;
  for (let i = 0; i < lv; i++) {
    let matched = false;
    for (let j = 0; j < tv; j++) {
      if (!namesMatch(local, memberNameOff(lw, ls, i), targ, memberNameOff(tw, ts, j))) continue;
      const r = matchTypes(local, memberType(lw, ls, i), targ, memberType(tw, ts, j), behindPtr, level - 1, budget);
      if (r < 0) return r;
      if (r > 0) {
        matched = true;
        break;
      }
    }
    if (!matched) return 0;
  }
  return 1;
}

/**
 * Most type pairs one {@link typesMatch} call may compare. libbpf bounds only the depth (32), which leaves the work
 * exponential in the member counts for hostile BTF (structs that contain each other); real types need a few hundred.
 */
export const MATCH_BUDGET = 200_000;

/** `bpf_core_types_match` (root names already matched by the caller); -1 also when {@link MATCH_BUDGET} runs out. */
export function typesMatch(local: Btf, localId: number, targ: Btf, targId: number): number {
  return matchTypes(local, localId, targ, targId, false, 32, { left: MATCH_BUDGET });
}

/** `__bpf_core_types_match`, spending `budget`. */
function matchTypes(local: Btf, localId: number, targ: Btf, targId: number, behindPtr: boolean, level: number, budget: { left: number }): number {
  if (level <= 0 || --budget.left < 0) return -1;
  for (let depth = 32; depth > 0; depth--) {
    localId = skipModsAndTypedefs(local, localId);
    targId = skipModsAndTypedefs(targ, targId);
    if (!namesMatch(local, nameOffOf(local.table, localId), targ, nameOffOf(targ.table, targId))) return 0;
    const lk = kindAt(local, localId);
    const tk = kindAt(targ, targId);
    const lInfo = local.table.words[local.table.start[localId]! + 1]!;
    const tInfo = targ.table.words[targ.table.start[targId]! + 1]!;
    switch (lk) {
      case BtfKind.VOID:
        return lk === tk ? 1 : 0;
      case BtfKind.FWD: {
        const lf = infoKflag(lInfo);
        if (behindPtr) {
          if (lk === tk) return lf === infoKflag(tInfo) ? 1 : 0;
          return (tk === BtfKind.STRUCT && !lf) || (tk === BtfKind.UNION && lf) ? 1 : 0;
        }
        return lk === tk && lf === infoKflag(tInfo) ? 1 : 0;
      }
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        return isAnyEnum(tk) ? enumsMatch(local, localId, targ, targId) : 0;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        if (behindPtr) {
          if (lk === tk) return 1;
          if (tk !== BtfKind.FWD) return 0;
          return (lk === BtfKind.UNION) === infoKflag(tInfo) ? 1 : 0;
        }
        return lk === tk ? compositesMatch(local, localId, targ, targId, behindPtr, level, budget) : 0;
      case BtfKind.INT:
        if (lk !== tk) return 0;
        return sizeTypeOf(local.table, localId) === sizeTypeOf(targ.table, targId) && (intEncodingBits(local, localId) & 1) === (intEncodingBits(targ, targId) & 1) ? 1 : 0;
      case BtfKind.PTR:
        if (lk !== tk) return 0;
        behindPtr = true;
        localId = sizeTypeOf(local.table, localId);
        targId = sizeTypeOf(targ.table, targId);
        continue;
      case BtfKind.ARRAY: {
        if (lk !== tk) return 0;
        const ls = local.table.start[localId]!;
        const ts = targ.table.start[targId]!;
        if (arrayNelems(local.table.words, ls) !== arrayNelems(targ.table.words, ts)) return 0;
        localId = arrayElemType(local.table.words, ls);
        targId = arrayElemType(targ.table.words, ts);
        continue;
      }
      case BtfKind.FUNC_PROTO: {
        if (lk !== tk) return 0;
        const ls = local.table.start[localId]!;
        const ts = targ.table.start[targId]!;
        const vlen = infoVlen(lInfo);
        if (vlen !== infoVlen(tInfo)) return 0;
        for (let i = 0; i < vlen; i++) {
          const r = matchTypes(local, paramType(local.table.words, ls, i), targ, paramType(targ.table.words, ts, i), behindPtr, level - 1, budget);
          if (r <= 0) return r;
        }
        localId = sizeTypeOf(local.table, localId);
        targId = sizeTypeOf(targ.table, targId);
        continue;
      }
      default:
        return 0;
    }
  }
  return -1;
}
