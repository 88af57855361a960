/**
 * Phase 1: bytes → validated type table.
 *
 * Guarantees on return (everything later phases rely on, so they need no checks of their own):
 * - every record has a known kind (1–19) and lies entirely inside the type section;
 * - every type id a record refers to exists; every FUNC refers to a FUNC_PROTO;
 * - every name offset lies inside the string table, which ends with a NUL;
 * - reference chains that do not pass through a struct/union/datasec are acyclic and at most
 *   {@link MAX_CHAIN_DEPTH} long (so recursive walkers terminate and fit on the stack).
 *
 * Anything else is a `BTF_INVALID` error naming the offset and kind. Memory use is bounded by the input size:
 * the record walk checks `vlen × record size` against the bytes left before moving on, and allocates nothing
 * per record.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';
import { Btf } from './btf.js';
import { StringTable } from './strings.js';
import { HOST_LITTLE_ENDIAN, infoKind, recordKind, type TypeTable } from './table.js';
import { BtfKind, KIND_LAYOUTS, MAX_KIND, type BtfHeader } from './types.js';

export type { BtfHeader } from './types.js';

/** `0xEB9F`, the BTF magic. */
export const BTF_MAGIC = 0xeb9f;
/** Size of the header fields this parser knows (`struct btf_header`). */
export const BTF_HEADER_MIN = 24;
/** Longest reference chain (typedef/modifier/pointer/array/prototype links) accepted. */
export const MAX_CHAIN_DEPTH = 4096;

/** Options of {@link parseBtf}. */
export interface ParseBtfOptions {
  /**
   * Base BTF for a split BTF (a kernel module's `/sys/kernel/btf/<module>`): the blob's type ids and
   * string offsets continue after the base's.
   */
  readonly base?: Btf;
}

function invalid(message: string, details: Record<string, unknown>, hint?: string): BpfCompileError {
  return new BpfCompileError(ErrorCode.BTF_INVALID, message, {
    hint: hint ?? 'The BTF blob is malformed or truncated; regenerate it (pahole/clang -g) or check the file is really BTF.',
    details,
  });
}

/**
 * Decode and check the BTF header.
 *
 * @throws BpfCompileError `BTF_INVALID` for a bad magic/version, a short header, or sections outside the blob.
 */
export function parseHeader(data: Uint8Array): BtfHeader {
  if (data.length < 8) throw invalid(`BTF blob too short for a header (${data.length} bytes)`, { offset: 0, size: data.length });
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const magicLe = view.getUint16(0, true);
  let little: boolean;
  if (magicLe === BTF_MAGIC) little = true;
  else if (magicLe === 0x9feb) little = false;
  else throw invalid(`bad BTF magic 0x${magicLe.toString(16).padStart(4, '0')}`, { offset: 0, magic: magicLe });
  const version = view.getUint8(2);
  if (version !== 1) throw invalid(`unsupported BTF version ${version}`, { offset: 2, version });
  const flags = view.getUint8(3);
  const hdrLen = view.getUint32(4, little);
  if (hdrLen < BTF_HEADER_MIN) throw invalid(`BTF header length ${hdrLen} is shorter than ${BTF_HEADER_MIN}`, { offset: 4, hdrLen });
  if (hdrLen > data.length || data.length < BTF_HEADER_MIN) {
    throw invalid(`BTF header length ${hdrLen} exceeds the blob (${data.length} bytes)`, { offset: 4, hdrLen, size: data.length });
  }
  const typeOff = view.getUint32(8, little);
  const typeLen = view.getUint32(12, little);
  const strOff = view.getUint32(16, little);
  const strLen = view.getUint32(20, little);
  const body = data.length - hdrLen;
  if (typeOff + typeLen > body) throw invalid('BTF type section lies outside the blob', { offset: 8, typeOff, typeLen, size: data.length });
  if (strOff + strLen > body) throw invalid('BTF string section lies outside the blob', { offset: 16, strOff, strLen, size: data.length });
  if (typeLen % 4 !== 0) throw invalid(`BTF type section length ${typeLen} is not a multiple of 4`, { offset: 12, typeLen });
  if (typeLen > 0 && strLen > 0 && (typeOff < strOff ? typeOff + typeLen > strOff : strOff + strLen > typeOff)) {
    throw invalid('BTF type and string sections overlap', { offset: 8, typeOff, typeLen, strOff, strLen });
  }
  return { version, flags, hdrLen, typeOff, typeLen, strOff, strLen, byteOrder: little ? 'little' : 'big' };
}

function checkStrings(bytes: Uint8Array, split: boolean, at: number): void {
  if (split && bytes.length === 0) return;
  if (bytes.length === 0) throw invalid('BTF string section is empty', { offset: at });
  if (bytes[bytes.length - 1] !== 0) throw invalid('BTF string section does not end with NUL', { offset: at + bytes.length - 1 });
  if (!split && bytes[0] !== 0) throw invalid('BTF string section does not start with the empty string', { offset: at });
}

/** Copy the type section into host-order words after `prefix` leading words. */
function loadWords(data: Uint8Array, from: number, len: number, prefix: Uint32Array, little: boolean): Uint32Array {
  const words = new Uint32Array(prefix.length + len / 4);
  words.set(prefix);
  new Uint8Array(words.buffer, prefix.length * 4, len).set(data.subarray(from, from + len));
  if (little !== HOST_LITTLE_ENDIAN) {
    for (let i = prefix.length; i < words.length; i++) {
      const w = words[i]!;
      words[i] = ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);
    }
  }
  return words;
}

/**
 * Walk the records once: check each kind and length, and note where each record starts.
 * Returns the start word of each record (relative to `words`).
 */
function walkRecords(words: Uint32Array, first: number, sectionAt: number): Uint32Array {
  const starts = new Uint32Array(Math.floor((words.length - first) / 3));
  let n = 0;
  let w = first;
  const end = words.length;
  while (w < end) {
    const byteAt = sectionAt + (w - first) * 4;
    if (w + 3 > end) throw invalid(`truncated BTF type record at byte ${byteAt}`, { offset: byteAt, index: n });
    const info = words[w + 1]!;
    const kind = infoKind(info);
    if (kind === 0 || kind > MAX_KIND) {
      throw invalid(`unknown BTF kind ${kind} at byte ${byteAt}`, { offset: byteAt, kind, index: n });
    }
    const layout = KIND_LAYOUTS[kind]!;
    const vlen = info & 0xffff;
    const extra = layout.fixed + vlen * layout.perVlen;
    const recWords = 3 + extra / 4;
    if (w + recWords > end) {
      throw invalid(`truncated BTF ${layout.name} record at byte ${byteAt}: needs ${12 + extra} bytes, ${(end - w) * 4} left`, {
        offset: byteAt,
        kind: layout.name,
        vlen,
      });
    }
    starts[n++] = w;
    w += recWords;
  }
  return starts.subarray(0, n);
}

/**
 * Check type references and name offsets of the records `[from, table.count)`. The hot loop only compares;
 * the first failure is re-examined by {@link explain} to build the error.
 */
function checkReferences(table: TypeTable, from: number, strings: StringTable, sectionAt: number, baseWords: number): void {
  const { words, start, count } = table;
  const strLen = strings.length;
  for (let id = from; id < count; id++) {
    const s = start[id]!;
    const info = words[s + 1]!;
    const kind = infoKind(info);
    const vlen = info & 0xffff;
    let ok = words[s]! < strLen;
    const d = s + 3;
    switch (kind) {
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
      case BtfKind.VAR:
      case BtfKind.DECL_TAG:
        ok &&= words[s + 2]! < count;
        break;
      case BtfKind.FUNC: {
        const proto = words[s + 2]!;
        ok &&= proto < count && recordKind(words, start[proto]!) === BtfKind.FUNC_PROTO;
        break;
      }
      case BtfKind.ARRAY:
        ok &&= words[d]! < count && words[d + 1]! < count;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
      case BtfKind.DATASEC:
      case BtfKind.ENUM64:
        for (let i = 0; i < vlen && ok; i++) {
          const e = d + i * 3;
          // struct: name, type; datasec: type; enum64: name
          if (kind === BtfKind.DATASEC) ok = words[e]! < count;
          else if (kind === BtfKind.ENUM64) ok = words[e]! < strLen;
          else ok = words[e]! < strLen && words[e + 1]! < count;
        }
        break;
      case BtfKind.ENUM:
        for (let i = 0; i < vlen && ok; i++) ok = words[d + i * 2]! < strLen;
        break;
      case BtfKind.FUNC_PROTO:
        ok &&= words[s + 2]! < count;
        for (let i = 0; i < vlen && ok; i++) ok = words[d + i * 2]! < strLen && words[d + i * 2 + 1]! < count;
        break;
      default:
        break;
    }
    if (!ok) explain(table, id, strLen, sectionAt, baseWords);
  }
}

/** Throw the error describing what is wrong with record `id` (which {@link checkReferences} found bad). */
function explain(table: TypeTable, id: number, strLen: number, sectionAt: number, baseWords: number): never {
  const { words, start, count } = table;
  const s = start[id]!;
  const info = words[s + 1]!;
  const kindNum = infoKind(info);
  const kind = KIND_LAYOUTS[kindNum]!.name;
  const vlen = info & 0xffff;
  const offset = sectionAt + (s - baseWords) * 4;
  const fail = (what: string, extra: Record<string, unknown>): never => {
    throw invalid(`BTF type [${id}] (${kind}) at byte ${offset}: ${what}`, { offset, kind, id, ...extra });
  };
  const name = (off: number): void => {
    if (off >= strLen) fail(`name offset ${off} outside the string table (${strLen} bytes)`, { nameOff: off });
  };
  const ref = (target: number, what: string): void => {
    if (target >= count) fail(`${what} refers to missing type [${target}]`, { target });
  };
  name(words[s]!);
  const d = s + 3;
  switch (kindNum) {
    case BtfKind.FUNC: {
      const proto = words[s + 2]!;
      ref(proto, 'type');
      fail(`type [${proto}] is not a func_proto`, { target: proto });
      break;
    }
    case BtfKind.ARRAY:
      ref(words[d]!, 'element type');
      ref(words[d + 1]!, 'index type');
      break;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
      for (let i = 0; i < vlen; i++) {
        name(words[d + i * 3]!);
        ref(words[d + i * 3 + 1]!, `member ${i}`);
      }
      break;
    case BtfKind.DATASEC:
      for (let i = 0; i < vlen; i++) ref(words[d + i * 3]!, `variable ${i}`);
      break;
    case BtfKind.ENUM64:
      for (let i = 0; i < vlen; i++) name(words[d + i * 3]!);
      break;
    case BtfKind.ENUM:
      for (let i = 0; i < vlen; i++) name(words[d + i * 2]!);
      break;
    case BtfKind.FUNC_PROTO:
      ref(words[s + 2]!, 'return type');
      for (let i = 0; i < vlen; i++) {
        name(words[d + i * 2]!);
        ref(words[d + i * 2 + 1]!, `parameter ${i}`);
      }
      break;
    default:
      ref(words[s + 2]!, 'type');
  }
  return fail('invalid record', {});
}

/**
 * Outgoing reference `k` of `id` in the "declarator graph" (links that C needs resolved without a struct
 * boundary in between), or -1 when there are no more. Structs, unions and datasecs are sinks.
 */
function edge(table: TypeTable, id: number, k: number): number {
  const s = table.start[id]!;
  const info = table.words[s + 1]!;
  switch (infoKind(info)) {
    case BtfKind.PTR:
    case BtfKind.TYPEDEF:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
    case BtfKind.FUNC:
    case BtfKind.VAR:
    case BtfKind.DECL_TAG:
      return k === 0 ? table.words[s + 2]! : -1;
    case BtfKind.ARRAY:
      return k < 2 ? table.words[s + 3 + k]! : -1;
    case BtfKind.FUNC_PROTO:
      if (k === 0) return table.words[s + 2]!;
      return k <= (info & 0xffff) ? table.words[s + 3 + (k - 1) * 2 + 1]! : -1;
    default:
      return -1;
  }
}

/** Reject reference cycles that do not pass through a struct/union, and absurdly deep chains. Iterative DFS. */
function checkChains(table: TypeTable, from: number, sectionAt: number, baseWords: number): void {
  const n = table.count;
  // 0 = unvisited, 1 = on stack, 2 = done
  const state = new Uint8Array(n);
  const depth = new Uint16Array(n);
  state.fill(2, 0, from);
  const stackId = new Uint32Array(n);
  const stackK = new Uint32Array(n);
  for (let root = from; root < n; root++) {
    if (state[root] !== 0) continue;
    let sp = 0;
    stackId[0] = root;
    stackK[0] = 0;
    state[root] = 1;
    while (sp >= 0) {
      const id = stackId[sp]!;
      const k = stackK[sp]!;
      const next = edge(table, id, k);
      if (next < 0) {
        // finished: raise the parent's depth
        state[id] = 2;
        sp--;
        if (sp >= 0) {
          const parent = stackId[sp]!;
          if (depth[id]! + 1 > depth[parent]!) depth[parent] = depth[id]! + 1;
        }
        continue;
      }
      stackK[sp] = k + 1;
      const st = state[next];
      if (st === 1) {
        const offset = sectionAt + (table.start[id]! - baseWords) * 4;
        throw invalid(`BTF reference cycle through type [${next}] not broken by a struct or union`, { offset, id, target: next });
      }
      const reach = st === 0 ? sp + 1 : sp + 1 + depth[next]!;
      if (reach > MAX_CHAIN_DEPTH) {
        const offset = sectionAt + (table.start[id]! - baseWords) * 4;
        throw invalid(`BTF reference chain deeper than ${MAX_CHAIN_DEPTH} at type [${id}]`, { offset, id });
      }
      if (st === 0) {
        state[next] = 1;
        sp++;
        stackId[sp] = next;
        stackK[sp] = 0;
      } else if (depth[next]! + 1 > depth[id]!) {
        depth[id] = depth[next]! + 1;
      }
    }
  }
}

/**
 * Parse a raw BTF blob (the contents of `/sys/kernel/btf/vmlinux`, or a `.BTF` ELF section).
 *
 * Both byte orders are accepted; the header's `hdr_len` is honoured, so headers longer than today's are read.
 * With `opts.base`, the blob is split BTF (a kernel module) on top of that base.
 *
 * @throws BpfCompileError `BTF_INVALID` naming the offset and kind of the first problem found.
 */
export function parseBtf(data: Uint8Array, opts: ParseBtfOptions = {}): Btf {
  const header = parseHeader(data);
  const base = opts.base;
  const little = header.byteOrder === 'little';
  if (base !== undefined && base.byteOrder !== header.byteOrder) {
    throw invalid('split BTF byte order differs from its base', { offset: 0, base: base.byteOrder, split: header.byteOrder });
  }
  const typeAt = header.hdrLen + header.typeOff;
  const strAt = header.hdrLen + header.strOff;
  const strBytes = data.subarray(strAt, strAt + header.strLen);
  checkStrings(strBytes, base !== undefined, strAt);
  const strings = new StringTable(strBytes, base?.strings);

  const baseTable = base?.table;
  const prefix = baseTable === undefined ? new Uint32Array(3) : baseTable.words;
  const words = loadWords(data, typeAt, header.typeLen, prefix, little);
  const starts = walkRecords(words, prefix.length, typeAt);
  const baseCount = baseTable === undefined ? 1 : baseTable.count;
  const start = new Uint32Array(baseCount + starts.length);
  if (baseTable !== undefined) start.set(baseTable.start);
  start.set(starts, baseCount);
  const table: TypeTable = { words, start, count: start.length };
  checkReferences(table, baseCount, strings, typeAt, prefix.length);
  checkChains(table, baseCount, typeAt, prefix.length);
  return new Btf({ table, strings, header, base, firstId: baseCount });
}
