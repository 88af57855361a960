/**
 * The compact in-memory form of parsed BTF, shared by the parser, the query API and the C dumper.
 *
 * All type records (base and split alike) live in one `Uint32Array` of host-order words, so readers never
 * care about the blob's byte order and index by type id directly:
 *
 * - `start[id]` is the word index of type `id`'s record; `words[start[id]]` is `name_off`,
 *   `words[start[id] + 1]` is `info`, `words[start[id] + 2]` is `size`/`type`, and the kind-specific
 *   data follows.
 * - Id 0 (`void`) points at three zero words at index 0, so it reads as kind 0, unnamed, size 0.
 *
 * The parser has validated every record against the kind table and every type id against the table size
 * before a table is handed out, so the accessors here do no bounds checks of their own.
 */

/** Parsed type records of one BTF (including its base's records, if split). */
export interface TypeTable {
  /** Host-order words of all records; index 0..2 is the void record. */
  readonly words: Uint32Array;
  /** Word index of each type's record, by type id. Length = `count`. */
  readonly start: Uint32Array;
  /** Number of type ids including void (libbpf's `btf__type_cnt`). */
  readonly count: number;
}

/** Kind number of a type (`info` bits 24–28). */
export function kindOf(t: TypeTable, id: number): number {
  return (t.words[t.start[id]! + 1]! >>> 24) & 0x1f;
}

/** `vlen` of a type (`info` bits 0–15). */
export function vlenOf(t: TypeTable, id: number): number {
  return t.words[t.start[id]! + 1]! & 0xffff;
}

/** kind_flag of a type (`info` bit 31). */
export function kflagOf(t: TypeTable, id: number): boolean {
  return t.words[t.start[id]! + 1]! >>> 31 === 1;
}

/** Name offset of a type. */
export function nameOffOf(t: TypeTable, id: number): number {
  return t.words[t.start[id]!]!;
}

/** The `size` / `type` word of a type. */
export function sizeTypeOf(t: TypeTable, id: number): number {
  return t.words[t.start[id]! + 2]!;
}

/** Word index where a type's kind-specific data begins. */
export function dataOf(t: TypeTable, id: number): number {
  return t.start[id]! + 3;
}

/** Host byte order. */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/*
 * Record accessors on raw words, for hot loops that hold a record's word index `st` (`start[id]`) already — they
 * read as libbpf's `btf_kind(t)`, `btf_vlen(t)`, `btf_members(t)[i]` instead of bit arithmetic at every use. Small
 * enough for V8 to inline. Layouts (Documentation/bpf/btf.rst), after the 3-word common header at `st`:
 *   struct/union member i: name_off, type, offset (bitfield size << 24 | bit offset when kind_flag)   — 3 words
 *   func_proto param i:    name_off, type                                                              — 2 words
 *   enum value i:          name_off, val;  enum64 value i: name_off, val_lo32, val_hi32                 — 2 / 3 words
 *   array:                 type, index_type, nelems
 *   datasec var i:         type, offset, size                                                          — 3 words
 *   decl_tag:              component_idx (-1: the type itself)
 */

/** Kind of an `info` word (bits 24–28). */
export function infoKind(info: number): number {
  return (info >>> 24) & 0x1f;
}

/** `vlen` of an `info` word (bits 0–15). */
export function infoVlen(info: number): number {
  return info & 0xffff;
}

/** kind_flag of an `info` word (bit 31). */
export function infoKflag(info: number): boolean {
  return info >>> 31 === 1;
}

/** Kind of the record at `st`. */
export function recordKind(words: Uint32Array, st: number): number {
  return infoKind(words[st + 1]!);
}

/** Words per struct/union member. */
export const MEMBER_WORDS = 3;

/** `name_off` of member `i` of the struct/union record at `st`. */
export function memberNameOff(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * MEMBER_WORDS]!;
}

/** Type id of member `i`. */
export function memberType(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * MEMBER_WORDS + 1]!;
}

/** The raw offset word of member `i` (see {@link memberBitOffset}, {@link memberBitfieldSize}). */
export function memberOffsetWord(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * MEMBER_WORDS + 2]!;
}

/** Bit offset of a member from its raw offset word. */
export function memberBitOffset(raw: number, kflag: boolean): number {
  return kflag ? raw & 0xffffff : raw;
}

/** Bitfield size of a member from its raw offset word (0: not a bitfield). */
export function memberBitfieldSize(raw: number, kflag: boolean): number {
  return kflag ? raw >>> 24 : 0;
}

/** Words per func_proto param. */
export const PARAM_WORDS = 2;

/** `name_off` of param `i` of the func_proto record at `st`. */
export function paramNameOff(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * PARAM_WORDS]!;
}

/** Type id of param `i` (0 in the last one: variadic `...`). */
export function paramType(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * PARAM_WORDS + 1]!;
}

/** Element type of the array record at `st`. */
export function arrayElemType(words: Uint32Array, st: number): number {
  return words[st + 3]!;
}

/** Index type of the array record at `st`. */
export function arrayIndexType(words: Uint32Array, st: number): number {
  return words[st + 4]!;
}

/** Element count of the array record at `st`. */
export function arrayNelems(words: Uint32Array, st: number): number {
  return words[st + 5]!;
}

/** Words per datasec var. */
export const VARSECINFO_WORDS = 3;

/** Type id of var `i` of the datasec record at `st`. */
export function varsecType(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * VARSECINFO_WORDS]!;
}

/** `component_idx` of the decl_tag record at `st` (-1: the tagged type itself). */
export function declTagComponent(words: Uint32Array, st: number): number {
  return words[st + 3]! | 0;
}

/** Words per enum value (ENUM: name_off, val) and per enum64 value (ENUM64: name_off, val_lo32, val_hi32). */
export const ENUM_WORDS = 2;
export const ENUM64_WORDS = 3;

/** `name_off` of value `i` of the enum (or, `is64`, enum64) record at `st`. */
export function enumNameOff(words: Uint32Array, st: number, i: number, is64: boolean): number {
  return words[st + 3 + i * (is64 ? ENUM64_WORDS : ENUM_WORDS)]!;
}

/** The 32-bit value of value `i` of an ENUM record (unsigned; `| 0` for a signed enum). */
export function enumValue32(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * ENUM_WORDS + 1]!;
}

/** The low and high 32 bits of value `i` of an ENUM64 record. */
export function enum64Words(words: Uint32Array, st: number, i: number): readonly [lo: number, hi: number] {
  const e = st + 3 + i * ENUM64_WORDS;
  return [words[e + 1]!, words[e + 2]!];
}

/** Offset (in its section) of var `i` of the datasec record at `st`. */
export function varsecOffset(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * VARSECINFO_WORDS + 1]!;
}

/** Size of var `i` of the datasec record at `st`. */
export function varsecSize(words: Uint32Array, st: number, i: number): number {
  return words[st + 3 + i * VARSECINFO_WORDS + 2]!;
}

/** The encoding word of an INT record at `st` (encoding bits 24–27, offset bits 16–23, bits 0–7). */
export function intEncoding(words: Uint32Array, st: number): number {
  return words[st + 3]!;
}

/** The linkage word of a VAR record at `st`. */
export function varLinkage(words: Uint32Array, st: number): number {
  return words[st + 3]!;
}
