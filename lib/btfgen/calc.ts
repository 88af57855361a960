/**
 * The value a CO-RE relocation takes for a spec (libbpf's `bpf_core_calc_field_relo`, `bpf_core_calc_type_relo`,
 * `bpf_core_calc_enumval_relo`): a field's byte offset, size, signedness and shifts, a type's existence, size or
 * id, an enumerator's existence or value. These values are what libbpf patches into the instructions, so equal
 * values from the full and the tailored BTF mean equal relocated programs.
 */
import type { Btf } from '../btf/btf.js';
import { enum64Words, enumValue32, infoKflag, memberBitfieldSize, memberOffsetWord, memberType } from '../btf/table.js';
import { BtfKind } from '../btf/types.js';
import { intEncodingBits, isAnyEnum, kindAt, skipModsAndTypedefs } from './compat.js';
import { ReloKindNumber, RELO_KINDS } from './kinds.js';
import type { CoreSpec } from './spec.js';

/** A relocation's outcome for one spec. */
export type ReloValue =
  | { readonly poison: false; readonly value: bigint }
  /** The instruction is poisoned: libbpf replaces it with an invalid call, fatal if the code is reachable. */
  | { readonly poison: true };

/** Why a value cannot be computed (libbpf fails the load, e.g. a bitfield too wide for a 64-bit read). */
export class CalcError extends Error {}

const POISON: ReloValue = { poison: true };
const val = (v: number | bigint): ReloValue => ({ poison: false, value: BigInt(v) });

function size(btf: Btf, id: number): number {
  const s = btf.resolveSize(id);
  if (s < 0) throw new CalcError(`type [${id}] has no size`);
  return s;
}

function field(kind: number, spec: CoreSpec | undefined): ReloValue {
  if (kind === ReloKindNumber.FIELD_EXISTS) return val(spec === undefined ? 0 : 1);
  if (spec === undefined) return POISON;
  const btf = spec.btf;
  const acc = spec.access[spec.access.length - 1]!;
  if (acc.name === undefined) {
    if (kind === ReloKindNumber.FIELD_BYTE_OFFSET) return val(Math.floor(spec.bitOffset / 8));
    if (kind === ReloKindNumber.FIELD_BYTE_SIZE) return val(size(btf, acc.typeId));
    throw new CalcError(`${RELO_KINDS[kind]!.name} cannot be applied to an array element`);
  }
  const words = btf.table.words;
  const st = btf.table.start[acc.typeId]!;
  const kflag = infoKflag(words[st + 1]!);
  const mtId = skipModsAndTypedefs(btf, memberType(words, st, acc.idx));
  const bitOff = spec.bitOffset;
  let bitSz = memberBitfieldSize(memberOffsetWord(words, st, acc.idx), kflag);
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = btf.table.words[btf.table.start[mtId]! + 2]!;
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) throw new CalcError('the bitfield cannot be read with one 64-bit load');
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = size(btf, mtId);
    byteOff = Math.floor(bitOff / 8);
    bitSz = byteSz * 8;
  }
  switch (kind) {
    case ReloKindNumber.FIELD_BYTE_OFFSET:
      return val(byteOff);
    case ReloKindNumber.FIELD_BYTE_SIZE:
      return val(byteSz);
    case ReloKindNumber.FIELD_SIGNED: {
      const mk = kindAt(btf, mtId);
      const signed = (isAnyEnum(mk) && infoKflag(words[btf.table.start[mtId]! + 1]!)) || (mk === BtfKind.INT && (intEncodingBits(btf, mtId) & 1) !== 0);
      return val(signed ? 1 : 0);
    }
    case ReloKindNumber.FIELD_LSHIFT_U64:
      // BPF programs run in the host's byte order; this is the little-endian formula (x86-64, arm64, …).
      return val(64 - (bitOff + bitSz - byteOff * 8));
    case ReloKindNumber.FIELD_RSHIFT_U64:
      return val(64 - bitSz);
    default:
      throw new CalcError(`relocation kind ${kind} is not a field relocation`);
  }
}

function type(kind: number, spec: CoreSpec | undefined): ReloValue {
  if (spec === undefined) return val(0);
  switch (kind) {
    case ReloKindNumber.TYPE_ID_TARGET:
    case ReloKindNumber.TYPE_ID_LOCAL:
      return val(spec.rootTypeId);
    case ReloKindNumber.TYPE_EXISTS:
    case ReloKindNumber.TYPE_MATCHES:
      return val(1);
    case ReloKindNumber.TYPE_SIZE:
      return val(size(spec.btf, spec.rootTypeId));
    default:
      throw new CalcError(`relocation kind ${kind} is not a type relocation`);
  }
}

function enumval(kind: number, spec: CoreSpec | undefined): ReloValue {
  if (kind === ReloKindNumber.ENUMVAL_EXISTS) return val(spec === undefined ? 0 : 1);
  if (spec === undefined) return POISON;
  const acc = spec.access[0]!;
  const words = spec.btf.table.words;
  const st = spec.btf.table.start[acc.typeId]!;
  if (kindAt(spec.btf, acc.typeId) === BtfKind.ENUM) return val(enumValue32(words, st, acc.idx) | 0); // libbpf widens the s32 value with its sign
  const [lo, hi] = enum64Words(words, st, acc.idx);
  return val((BigInt(hi) << 32n) | BigInt(lo));
}

/**
 * The relocation's value for `spec` (`undefined`: no kernel type matched).
 *
 * @throws CalcError when libbpf would refuse the relocation.
 */
export function reloValue(kind: number, spec: CoreSpec | undefined): ReloValue {
  switch (RELO_KINDS[kind]!.class) {
    case 'field':
      return field(kind, spec);
    case 'type':
      return type(kind, spec);
    default:
      return enumval(kind, spec);
  }
}

/** Same outcome: both poisoned, or the same value. */
export function sameValue(a: ReloValue, b: ReloValue): boolean {
  return a.poison ? b.poison : !b.poison && a.value === b.value;
}
