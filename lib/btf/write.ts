/**
 * Writing raw BTF: the inverse of `parse.ts`. Records are appended in the kernel's layout (the same words the
 * parser reads), with every name slot holding a string id from {@link BtfWriter.string}; {@link BtfWriter.toBytes}
 * lays the strings out (deduplicated, and a string that ends another one shares its bytes: `pid` points into
 * `tgid`) and writes the header, the type section and the string section.
 *
 * The name and type-id slots of a record are derived from its kind and `vlen` (Documentation/bpf/btf.rst), so a
 * caller copying records from another BTF only translates names and ids — see {@link recordSlots}.
 */
import { HOST_LITTLE_ENDIAN, infoKind, infoVlen } from './table.js';
import { BtfKind, KIND_LAYOUTS, type ByteOrder } from './types.js';

/** Length of the header {@link BtfWriter.toBytes} writes (`struct btf_header`). */
export const BTF_WRITTEN_HEADER_LEN = 24;

/** The `info` word of a record: kind, `vlen`, kind_flag. */
export function btfInfo(kind: number, vlen = 0, kflag = false): number {
  return ((kflag ? 1 : 0) * 0x80000000 + ((kind & 0x1f) << 24) + (vlen & 0xffff)) >>> 0;
}

/** Word offsets (from the record's start) of a record's name slots and type-id slots. */
export interface RecordSlots {
  readonly names: readonly number[];
  readonly types: readonly number[];
  /** The record's length in words. */
  readonly words: number;
}

/**
 * The name and type-id slots of a record with this `info` word (libbpf's `btf_field_iter` for names and ids).
 */
export function recordSlots(info: number): RecordSlots {
  const kind = infoKind(info);
  const vlen = infoVlen(info);
  const layout = KIND_LAYOUTS[kind];
  if (layout === undefined || kind === 0) throw new RangeError(`no BTF kind ${kind}`);
  const names = [0];
  const types: number[] = [];
  if (layout.refersType) types.push(2);
  const d = 3;
  switch (kind) {
    case BtfKind.ARRAY:
      types.push(d, d + 1);
      break;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
      for (let i = 0; i < vlen; i++) {
        names.push(d + i * 3);
        types.push(d + i * 3 + 1);
      }
      break;
    case BtfKind.ENUM:
      for (let i = 0; i < vlen; i++) names.push(d + i * 2);
      break;
    case BtfKind.ENUM64:
      for (let i = 0; i < vlen; i++) names.push(d + i * 3);
      break;
    case BtfKind.FUNC_PROTO:
      for (let i = 0; i < vlen; i++) {
        names.push(d + i * 2);
        types.push(d + i * 2 + 1);
      }
      break;
    case BtfKind.DATASEC:
      for (let i = 0; i < vlen; i++) types.push(d + i * 3);
      break;
    default:
      break;
  }
  return { names, types, words: 3 + (layout.fixed + vlen * layout.perVlen) / 4 };
}

/** Builds one BTF blob (no base: ids count from 1). */
export class BtfWriter {
  readonly #words: number[] = [];
  /** Word index of each record; index 0 stands for void and is unused. */
  readonly #starts: number[] = [0];
  readonly #strings: string[] = [''];
  readonly #stringIds = new Map<string, number>([['', 0]]);

  /** Types written so far, including void (the next record gets this id). */
  get count(): number {
    return this.#starts.length;
  }

  /** The id of string `s` in this writer (the same string always gets the same id; `''` is 0). */
  string(s: string): number {
    let id = this.#stringIds.get(s);
    if (id === undefined) {
      if (s.includes('\0')) throw new RangeError('BTF strings cannot contain NUL');
      id = this.#strings.length;
      this.#strings.push(s);
      this.#stringIds.set(s, id);
    }
    return id;
  }

  /**
   * Append one record in BTF layout — `name_off`, `info`, `size`/`type`, then the kind's data — with every name
   * slot holding a string id. Returns the new type id.
   *
   * @throws RangeError when the length does not fit the kind and `vlen` of `info`.
   */
  add(record: ArrayLike<number>): number {
    const slots = recordSlots(record[1]!);
    if (record.length !== slots.words) throw new RangeError(`BTF record of ${record.length} words, its kind needs ${slots.words}`);
    for (const n of slots.names) if (record[n]! >= this.#strings.length) throw new RangeError(`string id ${record[n]} not in this writer`);
    const at = this.#words.length;
    for (let i = 0; i < record.length; i++) this.#words.push(record[i]! >>> 0);
    this.#starts.push(at);
    return this.#starts.length - 1;
  }

  /** Rewrite every type-id slot of every record through `map` (used after copying records with their old ids). */
  remapTypes(map: (id: number) => number): void {
    const words = this.#words;
    for (let id = 1; id < this.#starts.length; id++) {
      const st = this.#starts[id]!;
      for (const t of recordSlots(words[st + 1]!).types) words[st + t] = map(words[st + t]!) >>> 0;
    }
  }

  /** Lay out the strings: every distinct string once, strings that end another one pointing into it. */
  #layoutStrings(): { bytes: Buffer; offsets: Uint32Array } {
    const strings = this.#strings;
    const offsets = new Uint32Array(strings.length);
    // Longest first among strings sorted by their reversed text: a suffix follows the strings it ends.
    const order = strings.map((_, i) => i).filter((i) => i !== 0);
    const rev = order.map((i) => [...strings[i]!].reverse().join(''));
    const byRev = order.map((_, k) => k).sort((a, b) => (rev[a]! < rev[b]! ? 1 : rev[a]! > rev[b]! ? -1 : 0));
    const parts: Buffer[] = [Buffer.alloc(1)];
    let len = 1;
    let prev = -1;
    for (const k of byRev) {
      const i = order[k]!;
      const s = strings[i]!;
      if (prev >= 0 && rev[prev]!.startsWith(rev[k]!)) {
        const p = order[prev]!;
        offsets[i] = offsets[p]! + Buffer.byteLength(strings[p]!) - Buffer.byteLength(s);
        continue;
      }
      const b = Buffer.from(`${s}\0`, 'utf8');
      offsets[i] = len;
      parts.push(b);
      len += b.length;
      prev = k;
    }
    return { bytes: Buffer.concat(parts, len), offsets };
  }

  /** The BTF blob: header, types, strings, in `order` (default the host's). */
  toBytes(order: ByteOrder = HOST_LITTLE_ENDIAN ? 'little' : 'big'): Uint8Array {
    const { bytes: strBytes, offsets } = this.#layoutStrings();
    const words = Uint32Array.from(this.#words);
    for (let id = 1; id < this.#starts.length; id++) {
      const st = this.#starts[id]!;
      for (const n of recordSlots(words[st + 1]!).names) words[st + n] = offsets[words[st + n]!]!;
    }
    const typeLen = words.length * 4;
    const out = Buffer.alloc(BTF_WRITTEN_HEADER_LEN + typeLen + strBytes.length);
    const little = order === 'little';
    const u16 = little ? out.writeUInt16LE.bind(out) : out.writeUInt16BE.bind(out);
    const u32 = little ? out.writeUInt32LE.bind(out) : out.writeUInt32BE.bind(out);
    u16(0xeb9f, 0);
    out[2] = 1;
    out[3] = 0;
    u32(BTF_WRITTEN_HEADER_LEN, 4);
    u32(0, 8);
    u32(typeLen, 12);
    u32(typeLen, 16);
    u32(strBytes.length, 20);
    for (let i = 0; i < words.length; i++) u32(words[i]!, BTF_WRITTEN_HEADER_LEN + i * 4);
    strBytes.copy(out, BTF_WRITTEN_HEADER_LEN + typeLen);
    return out;
  }
}
