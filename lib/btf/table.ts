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
