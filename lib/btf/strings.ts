/**
 * The BTF string table: NUL-terminated strings addressed by byte offset. A split BTF's offsets continue
 * after its base's (offset `base.length` is the split's first byte).
 *
 * Decoding is lazy. When the section is pure ASCII (it always is for kernel BTF), it is decoded once as a
 * Latin-1 string and names are cut out of it with `substring` (no per-name decoder call); otherwise each
 * string is decoded as UTF-8 on first use and cached.
 */

import { isAscii } from 'node:buffer';

/** Something that takes raw bytes (the dumper's output buffer). */
export interface ByteSink {
  putBytes(src: Uint8Array, from: number, to: number): void;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Strings of one BTF, chained to its base's. */
export class StringTable {
  /** Total addressable length (base + own). */
  readonly length: number;
  readonly #base: StringTable | undefined;
  readonly #bytes: Uint8Array;
  readonly #first: number;
  #ascii: string | undefined;
  readonly #isAscii: boolean;
  readonly #cache = new Map<number, string>();

  /**
   * @param bytes - This BTF's own string section (validated: empty for split, else ends with NUL).
   * @param base - The base BTF's strings, for split BTF.
   */
  constructor(bytes: Uint8Array, base?: StringTable) {
    this.#base = base;
    this.#bytes = bytes;
    this.#first = base === undefined ? 0 : base.length;
    this.length = this.#first + bytes.length;
    this.#isAscii = isAscii(bytes);
  }

  /** This table's own bytes (a split table's offsets start at `base.length`, see {@link StringTable.length}). */
  get ownBytes(): Uint8Array {
    return this.#bytes;
  }

  /** True when `off` addresses a byte of this table (or its base's). */
  has(off: number): boolean {
    return off >= 0 && off < this.length;
  }

  /** True when the string at `off` is empty (offset 0, or pointing at a NUL). */
  isEmpty(off: number): boolean {
    if (off < this.#first) return this.#base === undefined ? true : this.#base.isEmpty(off);
    const rel = off - this.#first;
    return rel >= this.#bytes.length || this.#bytes[rel] === 0;
  }

  /**
   * Locate the bytes of the string at `off`: afterwards {@link StringTable.at} is the byte array, and
   * {@link StringTable.atStart}/{@link StringTable.atEnd} delimit the string in it. Allocation-free, for hot paths.
   */
  locate(off: number): void {
    if (off < this.#first && this.#base !== undefined) {
      this.#base.locate(off);
      this.at = this.#base.at;
      this.atStart = this.#base.atStart;
      this.atEnd = this.#base.atEnd;
      return;
    }
    const rel = off - this.#first;
    const bytes = this.#bytes;
    this.at = bytes;
    if (rel < 0 || rel >= bytes.length) {
      this.atStart = 0;
      this.atEnd = 0;
      return;
    }
    const end = bytes.indexOf(0, rel);
    this.atStart = rel;
    this.atEnd = end < 0 ? bytes.length : end;
  }

  /** Result of {@link StringTable.locate}: the byte array. */
  at: Uint8Array = new Uint8Array(0);
  /** Result of {@link StringTable.locate}: first byte. */
  atStart = 0;
  /** Result of {@link StringTable.locate}: end (exclusive). */
  atEnd = 0;

  /** Copy the raw bytes of the string at `off` into `sink` (no decoding). */
  copyTo(off: number, sink: ByteSink): void {
    if (off < this.#first) {
      if (this.#base !== undefined) this.#base.copyTo(off, sink);
      return;
    }
    const rel = off - this.#first;
    const bytes = this.#bytes;
    if (rel >= bytes.length) return;
    const end = bytes.indexOf(0, rel);
    sink.putBytes(bytes, rel, end < 0 ? bytes.length : end);
  }

  /** The string at `off`; `''` for offsets outside the table (the parser rejects those up front). */
  get(off: number): string {
    if (off < this.#first) return this.#base === undefined ? '' : this.#base.get(off);
    const rel = off - this.#first;
    const bytes = this.#bytes;
    if (rel >= bytes.length) return '';
    if (this.#isAscii) {
      let all = this.#ascii;
      if (all === undefined) {
        all = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
        this.#ascii = all;
      }
      const end = all.indexOf('\0', rel);
      return all.substring(rel, end < 0 ? all.length : end);
    }
    const hit = this.#cache.get(rel);
    if (hit !== undefined) return hit;
    let end = rel;
    while (end < bytes.length && bytes[end] !== 0) end++;
    const s = utf8.decode(bytes.subarray(rel, end));
    this.#cache.set(rel, s);
    return s;
  }
}

/**
 * Counts occurrences of names given as string-table offsets, comparing bytes (two offsets holding the same
 * text are the same name). An open-addressing hash table over byte ranges, so no JS strings are made.
 *
 * Keys are offsets into the base string table; names from a split BTF (whose offsets are only meaningful with
 * that split's table) are copied into an arena first, so counts carry across several modules on one base.
 */
export class NameCounter {
  readonly #base: StringTable;
  #cur: StringTable;
  /** Keys: ≥ 0 an offset in the base table, ≤ -2 an arena offset `-(key + 2)`, -1 empty. */
  #keys: Int32Array;
  /** Per slot: the key's hash, so a probe compares bytes only on a hash match and a rehash reads no bytes. */
  #hashes: Uint32Array;
  #counts: Uint32Array;
  #size = 0;
  #arena = new Uint8Array(4096);
  #arenaLen = 0;

  /**
   * @param base - The base BTF's strings.
   * @param expected - How many distinct names to size the table for (it grows past that as needed).
   */
  constructor(base: StringTable, expected = 0) {
    this.#base = base;
    this.#cur = base;
    let slots = 1 << 14;
    while (slots < expected * 2) slots *= 2;
    this.#keys = new Int32Array(slots).fill(-1);
    this.#hashes = new Uint32Array(slots);
    this.#counts = new Uint32Array(slots);
  }

  /** Read offsets given to {@link NameCounter.bump} in `strings` (a split table on this counter's base). */
  use(strings: StringTable): void {
    this.#cur = strings;
  }

  /** Count one more use of the name at `off`; returns the new count (1 = first use). */
  bump(off: number): number {
    const st = this.#cur;
    st.locate(off);
    const bytes = st.at;
    const from = st.atStart;
    const to = st.atEnd;
    const keys = this.#keys;
    const hashes = this.#hashes;
    const mask = keys.length - 1;
    const h = hashBytes(bytes, from, to);
    let slot = h & mask;
    for (;;) {
      const k = keys[slot]!;
      if (k === -1) break;
      if (hashes[slot] === h && ((k === off && st === this.#base) || this.#same(k, bytes, from, to))) {
        const c = this.#counts[slot]! + 1;
        this.#counts[slot] = c;
        return c;
      }
      slot = (slot + 1) & mask;
    }
    keys[slot] = off < this.#base.length ? off : this.#toArena(bytes, from, to);
    hashes[slot] = h;
    this.#counts[slot] = 1;
    if (++this.#size * 2 > keys.length) this.#rehash();
    return 1;
  }

  #toArena(bytes: Uint8Array, from: number, to: number): number {
    const n = to - from + 1;
    if (this.#arenaLen + n > this.#arena.length) {
      const next = new Uint8Array(Math.max(this.#arena.length * 2, this.#arenaLen + n));
      next.set(this.#arena.subarray(0, this.#arenaLen));
      this.#arena = next;
    }
    const at = this.#arenaLen;
    this.#arena.set(bytes.subarray(from, to), at);
    this.#arena[at + n - 1] = 0;
    this.#arenaLen += n;
    return -(at + 2);
  }

  /** Whether key `k` holds the bytes `[from, to)` of `bytes`. */
  #same(k: number, bytes: Uint8Array, from: number, to: number): boolean {
    let kb: Uint8Array;
    let ks: number;
    let ke: number;
    if (k >= 0) {
      const st = this.#base;
      st.locate(k);
      kb = st.at;
      ks = st.atStart;
      ke = st.atEnd;
    } else {
      kb = this.#arena;
      ks = -(k + 2);
      ke = kb.indexOf(0, ks);
    }
    if (ke - ks !== to - from) return false;
    for (let i = 0; i < to - from; i++) if (kb[ks + i] !== bytes[from + i]) return false;
    return true;
  }

  #rehash(): void {
    const oldKeys = this.#keys;
    const oldHashes = this.#hashes;
    const oldCounts = this.#counts;
    const keys = new Int32Array(oldKeys.length * 2).fill(-1);
    const hashes = new Uint32Array(keys.length);
    const counts = new Uint32Array(keys.length);
    const mask = keys.length - 1;
    for (let i = 0; i < oldKeys.length; i++) {
      const k = oldKeys[i]!;
      if (k === -1) continue;
      const h = oldHashes[i]!;
      let slot = h & mask;
      while (keys[slot] !== -1) slot = (slot + 1) & mask;
      keys[slot] = k;
      hashes[slot] = h;
      counts[slot] = oldCounts[i]!;
    }
    this.#keys = keys;
    this.#hashes = hashes;
    this.#counts = counts;
  }
}

/** FNV-1a over a byte range. */
function hashBytes(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}
