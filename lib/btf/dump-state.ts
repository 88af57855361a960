/**
 * Shared state of one C dump: per-type ordering/emission flags, the unique-name registry and the output
 * buffer. The ordering phase (`order.ts`) and the emitting phase (`emit.ts`) both work on a {@link DumpState}.
 *
 * A state can be *extended* for a split BTF ({@link DumpState.forSplit}): the base types keep the flags they
 * got while the base was dumped (so nothing is emitted twice) and the name registry is shared (so a module's
 * `struct foo` that clashes with vmlinux's becomes `foo___2`).
 */
import type { Btf } from './btf.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { NameCounter, type ByteSink, type StringTable } from './strings.js';
import { BtfKind } from './types.js';
import { arrayElemType, arrayIndexType, infoKind, infoVlen, kindOf, memberType, nameOffOf, paramType, type TypeTable, varsecType, vlenOf } from './table.js';

/** Ordering state of a type (topological sort). */
export const Order = { NOT_ORDERED: 0, ORDERING: 1, ORDERED: 2 } as const;

/** Emission state of a type. */
export const Emit = { NOT_EMITTED: 0, EMITTING: 1, EMITTED: 2 } as const;

/**
 * The output buffer: bytes appended to a growing `Uint8Array`, decoded once at the end. Names are copied
 * straight from the BTF string table, so a whole vmlinux dump creates few JS strings.
 */
export class Writer implements ByteSink {
  #buf = new Uint8Array(1 << 20);
  #len = 0;
  readonly #limit: number;

  /** @param limit - Output size beyond which the input is taken as hostile (`BTF_INVALID`). */
  constructor(limit = 1 << 30) {
    this.#limit = limit;
  }

  #grow(need: number): void {
    if (this.#len + need > this.#limit) {
      throw new BpfCompileError(ErrorCode.BTF_INVALID, `C output would exceed ${this.#limit} bytes`, {
        hint: 'The BTF is implausibly large for its size (corrupt or hostile input).',
        details: { limit: this.#limit },
      });
    }
    let cap = this.#buf.length * 2;
    while (cap < this.#len + need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Append text (UTF-8 encoded). */
  put(s: string): void {
    const n = s.length;
    if (this.#len + n * 3 > this.#buf.length) this.#grow(n * 3);
    const buf = this.#buf;
    let len = this.#len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        // rare: non-ASCII text; encode the whole string properly
        len = this.#len;
        len += Buffer.from(buf.buffer, buf.byteOffset + len, buf.length - len).write(s, 'utf8');
        this.#len = len;
        return;
      }
      buf[len++] = c;
    }
    this.#len = len;
  }

  /** Append one ASCII character code. */
  putChar(c: number): void {
    if (this.#len + 1 > this.#buf.length) this.#grow(1);
    this.#buf[this.#len++] = c;
  }

  /** Append raw bytes. */
  putBytes(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    if (this.#len + n > this.#buf.length) this.#grow(n);
    if (n < 32) {
      const buf = this.#buf;
      let len = this.#len;
      for (let i = from; i < to; i++) buf[len++] = src[i]!;
      this.#len = len;
    } else {
      this.#buf.set(src.subarray(from, to), this.#len);
      this.#len += n;
    }
  }

  /** Append `lvl` tabs (capped at 13, like libbpf). */
  putTabs(lvl: number): void {
    const n = lvl > 13 ? 13 : lvl;
    if (this.#len + n > this.#buf.length) this.#grow(n);
    for (let i = 0; i < n; i++) this.#buf[this.#len++] = 9;
  }

  /** The bytes written so far (a view). */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  /** Everything written so far, decoded. */
  text(): string {
    return Buffer.from(this.#buf.buffer, this.#buf.byteOffset, this.#len).toString('utf8');
  }
}

/** A reusable list of type ids (the emit queue of one ordering pass). */
export class IdQueue {
  ids = new Uint32Array(1024);
  length = 0;

  /** Empty the queue. */
  reset(): void {
    this.length = 0;
  }

  /** Append `id`. */
  push(id: number): void {
    if (this.length === this.ids.length) {
      const bigger = new Uint32Array(this.ids.length * 2);
      bigger.set(this.ids);
      this.ids = bigger;
    }
    this.ids[this.length++] = id;
  }
}

/** Per-dump state over one BTF. */
export class DumpState {
  readonly btf: Btf;
  readonly table: TypeTable;
  readonly strings: StringTable;
  /** Pointer size of the target, for padding (`long: N`). */
  readonly ptrSize: number;
  readonly order: Uint8Array;
  readonly emit: Uint8Array;
  readonly fwdEmitted: Uint8Array;
  /** Type is referenced from some other type (tells top-level anonymous enums from inline ones). */
  readonly referenced: Uint8Array;
  /** Per type id: a {@link NameState} (whether its name was looked at, and whether it is printed renamed). */
  readonly nameResolved: Uint8Array;
  /** Names that needed a `___N` suffix, by type id. */
  readonly uniqueNames: Map<number, string>;
  /** Occurrences so far of struct/union/enum tag names. */
  readonly typeNames: NameCounter;
  /** Occurrences so far of typedef and enumerator identifiers. */
  readonly identNames: NameCounter;
  readonly out: Writer;
  /** Emit queue of the ordering phase. */
  readonly queue = new IdQueue();
  /** Shared declarator stack of `emitTypeDecl` (frames nest; see emit.ts). */
  declStack = new Uint32Array(256);
  /** Top of {@link declStack}. */
  declTop = 0;

  constructor(btf: Btf, out: Writer, parent?: DumpState) {
    this.btf = btf;
    this.table = btf.table;
    this.strings = btf.strings;
    this.ptrSize = btf.pointerSize;
    const n = btf.count;
    this.order = new Uint8Array(n);
    this.emit = new Uint8Array(n);
    this.fwdEmitted = new Uint8Array(n);
    this.referenced = new Uint8Array(n);
    this.nameResolved = new Uint8Array(n);
    this.out = out;
    let from = 1;
    if (parent !== undefined) {
      const m = Math.min(parent.order.length, n);
      this.order.set(parent.order.subarray(0, m));
      this.emit.set(parent.emit.subarray(0, m));
      this.fwdEmitted.set(parent.fwdEmitted.subarray(0, m));
      this.referenced.set(parent.referenced.subarray(0, m));
      this.nameResolved.set(parent.nameResolved.subarray(0, m));
      this.uniqueNames = new Map([...parent.uniqueNames].filter(([id]) => id < m));
      this.typeNames = parent.typeNames;
      this.identNames = parent.identNames;
      this.typeNames.use(btf.strings);
      this.identNames.use(btf.strings);
      from = m;
    } else {
      this.uniqueNames = new Map();
      // a vmlinux names about one type in six (21,807 of 125,828 in the larger table on 6.18): sized for one
      // in four, neither table grows while the kernel's BTF is dumped
      this.typeNames = new NameCounter(btf.strings, n >> 2);
      this.identNames = new NameCounter(btf.strings, n >> 2);
      // void is always ordered and emitted
      this.order[0] = Order.ORDERED;
      this.emit[0] = Emit.EMITTED;
    }
    markReferenced(this, from);
  }

  /** A state for the split BTF `split` (whose base is this state's BTF), continuing this dump. */
  forSplit(split: Btf): DumpState {
    return new DumpState(split, this.out, this);
  }

  /** Raw name of a type. */
  rawName(id: number): string {
    return this.strings.get(nameOffOf(this.table, id));
  }

  /** Name of a struct/union/enum/fwd, made unique across tags (`name___N`). */
  typeName(id: number): string {
    return resolveName(this, id, this.typeNames);
  }

  /** Name of a typedef, made unique across identifiers (`name___N`). */
  identName(id: number): string {
    return resolveName(this, id, this.identNames);
  }

  /** Write the unique tag name of a struct/union/enum/fwd. */
  putTypeName(id: number): void {
    this.#putResolved(id, this.typeNames);
  }

  /** Write the unique identifier of a typedef. */
  putIdentName(id: number): void {
    this.#putResolved(id, this.identNames);
  }

  /** Write the string at string-table offset `off`. */
  putString(off: number): void {
    this.strings.copyTo(off, this.out);
  }

  #putResolved(id: number, map: NameCounter): void {
    const off = nameOffOf(this.table, id);
    if (off === 0) return;
    resolve(this, id, map);
    if (this.nameResolved[id] === NameState.RENAMED) this.out.put(this.uniqueNames.get(id)!);
    else this.strings.copyTo(off, this.out);
  }
}

/** What `DumpState.nameResolved[id]` holds. */
export const NameState = {
  /** Not looked at yet. */
  UNRESOLVED: 0,
  /** Printed under its own name. */
  OWN: 1,
  /** Printed as `name___N` (`uniqueNames`): another type of that name came first. */
  RENAMED: 2,
} as const;

/** Give type `id` its unique name on first use (counting it in `names`); later calls do nothing. */
function resolve(s: DumpState, id: number, names: NameCounter): void {
  if (s.nameResolved[id] !== NameState.UNRESOLVED) return;
  const t = s.table;
  const off = nameOffOf(t, id);
  if (off === 0) return;
  s.nameResolved[id] = NameState.OWN;
  const kind = kindOf(t, id);
  // forward declarations and empty enums declare nothing new: never renamed
  if (kind === BtfKind.FWD || (kind === BtfKind.ENUM && vlenOf(t, id) === 0)) return;
  const dups = names.bump(off);
  if (dups > 1) {
    s.uniqueNames.set(id, `${s.strings.get(off)}___${dups}`);
    s.nameResolved[id] = NameState.RENAMED;
  }
}

function resolveName(s: DumpState, id: number, names: NameCounter): string {
  const off = nameOffOf(s.table, id);
  if (off === 0) return '';
  resolve(s, id, names);
  return s.nameResolved[id] === NameState.RENAMED ? s.uniqueNames.get(id)! : s.strings.get(off);
}

/** Mark every type referenced from another type, for ids `from..count-1`. */
function markReferenced(s: DumpState, from: number): void {
  const { words, start, count } = s.table;
  const ref = s.referenced;
  for (let id = from; id < count; id++) {
    const st = start[id]!;
    const info = words[st + 1]!;
    const vlen = infoVlen(info);
    switch (infoKind(info)) {
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.PTR:
      case BtfKind.TYPEDEF:
      case BtfKind.FUNC:
      case BtfKind.VAR:
      case BtfKind.DECL_TAG:
      case BtfKind.TYPE_TAG:
        ref[words[st + 2]!] = 1;
        break;
      case BtfKind.ARRAY:
        ref[arrayElemType(words, st)] = 1;
        ref[arrayIndexType(words, st)] = 1;
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        for (let i = 0; i < vlen; i++) ref[memberType(words, st, i)] = 1;
        break;
      case BtfKind.FUNC_PROTO:
        for (let i = 0; i < vlen; i++) ref[paramType(words, st, i)] = 1;
        break;
      case BtfKind.DATASEC:
        for (let i = 0; i < vlen; i++) ref[varsecType(words, st, i)] = 1;
        break;
      default:
        break;
    }
  }
}
