/**
 * The {@link Btf} object: a parsed, validated BTF (base or split) and the queries on it — type by id, by name,
 * member walks with resolved offsets, sizes and alignments.
 *
 * Type objects ({@link BtfType}) are built on first access and cached; the C dumper and the queries below read
 * the compact table directly, so dumping a whole vmlinux never materialises them.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';
import type { StringTable } from './strings.js';
import {
  arrayElemType,
  arrayIndexType,
  arrayNelems,
  dataOf,
  declTagComponent,
  enum64Words,
  enumNameOff,
  enumValue32,
  intEncoding,
  kflagOf,
  kindOf,
  memberBitfieldSize,
  memberBitOffset,
  memberNameOff,
  memberOffsetWord,
  memberType,
  nameOffOf,
  paramNameOff,
  paramType,
  sizeTypeOf,
  type TypeTable,
  varLinkage,
  varsecOffset,
  varsecSize,
  varsecType,
  vlenOf,
} from './table.js';
import { BtfKind, KIND_LAYOUTS, LINKAGES, type BtfEnumValue, type BtfKindName, type BtfLinkage, type BtfMember, type BtfType, type ByteOrder, type BtfHeader } from './types.js';

/** Internal construction data, produced by the parser. */
export interface BtfInit {
  readonly table: TypeTable;
  readonly strings: StringTable;
  readonly header: BtfHeader;
  readonly base: Btf | undefined;
  readonly firstId: number;
}

/** One member reached by {@link Btf.walkMembers}. */
export interface MemberInfo {
  /** Dotted access path from the walked struct (`u.s.field`); anonymous levels add nothing. */
  readonly path: string;
  /** Member name (`''` only for anonymous members when not flattened). */
  readonly name: string;
  /** Member type id. */
  readonly type: number;
  /** Offset from the start of the walked struct, in bits. */
  readonly bitOffset: number;
  /** Offset from the start of the walked struct, in whole bytes (`bitOffset >> 3`). */
  readonly byteOffset: number;
  /** Bitfield width in bits; 0 when not a bitfield. */
  readonly bitfieldSize: number;
  /** Id of the struct/union that declares the member. */
  readonly parent: number;
  /** Nesting depth below the walked struct (0 for its own members). */
  readonly depth: number;
}

/** Options of {@link Btf.walkMembers}. */
export interface WalkMembersOptions {
  /** Descend into anonymous struct/union members and report their members instead. Default `true`. */
  readonly flattenAnonymous?: boolean;
  /** Also descend into named members whose type (after typedefs/qualifiers) is a struct/union. Default `false`. */
  readonly recurse?: boolean;
}

const MAX_RESOLVE_DEPTH = 64;
/** Most members {@link Btf.walkMembers} reports (a guard against exponential walks of hostile BTF). */
const MAX_WALK = 1_000_000;

/**
 * A parsed BTF. Create one with `parseBtf`, `parseBtfFromElf` or `loadBtfFile`.
 *
 * Type ids index everything: `btf.types[id]`, `btf.typeById(id)`. Id 0 is `void`. A split BTF (kernel module)
 * sees its base's types at their usual ids and its own from {@link Btf.firstId} on.
 */
export class Btf {
  /** Byte order of the blob this was parsed from. */
  readonly byteOrder: ByteOrder;
  /** The decoded header. */
  readonly header: BtfHeader;
  /** Base BTF, for split BTF. */
  readonly base: Btf | undefined;
  /** First type id defined by this blob (1 for base BTF, the base's {@link Btf.count} for split BTF). */
  readonly firstId: number;
  /** Number of type ids, including void and any base types (libbpf's `btf__type_cnt`). */
  readonly count: number;
  /** @internal Compact type records; see `table.ts`. */
  readonly table: TypeTable;
  /** @internal The string table. */
  readonly strings: StringTable;

  #types: (BtfType | undefined)[] | undefined;
  #all: readonly BtfType[] | undefined;
  #byName: Map<string, number[]> | undefined;
  #align: Int8Array | undefined;
  #ptrSize: number | undefined;

  /** @internal Use `parseBtf`. */
  constructor(init: BtfInit) {
    this.table = init.table;
    this.strings = init.strings;
    this.header = init.header;
    this.base = init.base;
    this.firstId = init.firstId;
    this.count = init.table.count;
    this.byteOrder = init.header.byteOrder;
  }

  /** All types indexed by id (index 0 is void), including base types for split BTF. Built on first access. */
  get types(): readonly BtfType[] {
    if (this.#all === undefined) {
      const out: BtfType[] = [];
      for (let id = 0; id < this.count; id++) out.push(this.#materialize(id));
      this.#all = out;
    }
    return this.#all;
  }

  /** The type with this id, or `undefined` when out of range. */
  typeById(id: number): BtfType | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.count) return undefined;
    return this.#materialize(id);
  }

  /** Kind name of a type id (`undefined` when out of range). */
  kindOf(id: number): BtfKindName | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.count) return undefined;
    return KIND_LAYOUTS[kindOf(this.table, id)]!.name;
  }

  /** Name of a type id (`''` when anonymous or out of range). */
  nameOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.count) return '';
    return this.strings.get(nameOffOf(this.table, id));
  }

  /**
   * The first type called `name`, optionally of one kind. Without `kind`, a full definition is preferred over
   * a `fwd`. Searches base types too.
   */
  findByName(name: string, kind?: BtfKindName): BtfType | undefined {
    const ids = this.#nameIndex().get(name);
    if (ids === undefined) return undefined;
    let fwd: number | undefined;
    for (const id of ids) {
      const k = KIND_LAYOUTS[kindOf(this.table, id)]!.name;
      if (kind !== undefined ? k === kind : k !== 'fwd') return this.#materialize(id);
      if (k === 'fwd' && fwd === undefined) fwd = id;
    }
    return kind === undefined && fwd !== undefined ? this.#materialize(fwd) : undefined;
  }

  /** Every type called `name` (optionally of one kind), in id order. */
  findAllByName(name: string, kind?: BtfKindName): BtfType[] {
    const ids = this.#nameIndex().get(name) ?? [];
    const out: BtfType[] = [];
    for (const id of ids) {
      if (kind === undefined || KIND_LAYOUTS[kindOf(this.table, id)]!.name === kind) out.push(this.#materialize(id));
    }
    return out;
  }

  /** Follow typedefs (when `typedefs`), const/volatile/restrict and type tags to the underlying type id. */
  skipQualifiers(id: number, typedefs = true): number {
    for (let i = 0; i < MAX_RESOLVE_DEPTH && id > 0 && id < this.count; i++) {
      const k = kindOf(this.table, id);
      if (k === BtfKind.CONST || k === BtfKind.VOLATILE || k === BtfKind.RESTRICT || k === BtfKind.TYPE_TAG || (typedefs && k === BtfKind.TYPEDEF)) {
        id = sizeTypeOf(this.table, id);
      } else {
        break;
      }
    }
    return id;
  }

  /**
   * Walk the members of a struct/union (given by id, name or object; typedefs are followed), with offsets
   * resolved relative to it. Anonymous struct/union members are flattened by default, so every reported
   * member is reachable in C as `outer.path`.
   *
   * @throws TypeError when the type is not a struct or union.
   */
  walkMembers(type: number | string | BtfType, opts: WalkMembersOptions = {}): MemberInfo[] {
    let id: number;
    if (typeof type === 'number') id = type;
    else if (typeof type === 'string') {
      const found = this.findByName(type, 'struct') ?? this.findByName(type, 'union') ?? this.findByName(type, 'typedef');
      if (found === undefined) throw new TypeError(`walkMembers: no struct, union or typedef named ${type}`);
      id = found.id;
    } else id = type.id;
    id = this.skipQualifiers(id);
    const k = id > 0 && id < this.count ? kindOf(this.table, id) : 0;
    if (k !== BtfKind.STRUCT && k !== BtfKind.UNION) throw new TypeError(`walkMembers: type [${id}] is not a struct or union`);
    const flatten = opts.flattenAnonymous ?? true;
    const recurse = opts.recurse ?? false;
    const out: MemberInfo[] = [];
    const active = new Set<number>();
    const walk = (sid: number, base: number, prefix: string, depth: number): void => {
      if (active.has(sid)) return;
      active.add(sid);
      const t = this.table;
      const vlen = vlenOf(t, sid);
      const kflag = kflagOf(t, sid);
      const rs = t.start[sid]!;
      for (let i = 0; i < vlen; i++) {
        const name = this.strings.get(memberNameOff(t.words, rs, i));
        const mtype = memberType(t.words, rs, i);
        const raw = memberOffsetWord(t.words, rs, i);
        const bitOffset = base + memberBitOffset(raw, kflag);
        const bitfieldSize = memberBitfieldSize(raw, kflag);
        const inner = this.skipQualifiers(mtype);
        const ik = inner > 0 ? kindOf(t, inner) : 0;
        const composite = ik === BtfKind.STRUCT || ik === BtfKind.UNION;
        if (name === '' && composite && flatten) {
          walk(inner, bitOffset, prefix, depth + 1);
          continue;
        }
        const path = prefix + name;
        if (out.length >= MAX_WALK) {
          throw new BpfCompileError(ErrorCode.BTF_INVALID, `walkMembers: more than ${MAX_WALK} members reached from type [${id}]`, {
            hint: 'The struct graph is implausibly wide or deep (corrupt BTF).',
            details: { id },
          });
        }
        out.push({ path, name, type: mtype, bitOffset, byteOffset: Math.floor(bitOffset / 8), bitfieldSize, parent: sid, depth });
        if (recurse && composite && name !== '') walk(inner, bitOffset, `${path}.`, depth + 1);
      }
      active.delete(sid);
    };
    walk(id, 0, '', 0);
    return out;
  }

  /** Pointer size in bytes, guessed like libbpf from the size of `long` (8 when there is no `long`). */
  get pointerSize(): number {
    if (this.#ptrSize === undefined) {
      let size = 8;
      const longs = new Set(['long', 'long int', 'unsigned long', 'long unsigned int', 'unsigned long int', 'long unsigned']);
      for (let id = 1; id < this.count; id++) {
        if (kindOf(this.table, id) !== BtfKind.INT) continue;
        const s = sizeTypeOf(this.table, id);
        if ((s === 4 || s === 8) && longs.has(this.strings.get(nameOffOf(this.table, id)))) {
          size = s;
          break;
        }
      }
      this.#ptrSize = size;
    }
    return this.#ptrSize;
  }

  /** Size of a type in bytes (arrays multiplied out, typedefs/qualifiers followed); -1 when it has none (void, fwd, functions). */
  resolveSize(id: number): number {
    let mult = 1;
    const t = this.table;
    for (let i = 0; i < MAX_RESOLVE_DEPTH && id > 0 && id < this.count; i++) {
      switch (kindOf(t, id)) {
        case BtfKind.INT:
        case BtfKind.FLOAT:
        case BtfKind.ENUM:
        case BtfKind.ENUM64:
        case BtfKind.STRUCT:
        case BtfKind.UNION:
        case BtfKind.DATASEC:
          return mult * sizeTypeOf(t, id);
        case BtfKind.PTR:
          return mult * this.pointerSize;
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.TYPE_TAG:
        case BtfKind.VAR:
          id = sizeTypeOf(t, id);
          break;
        case BtfKind.ARRAY: {
          const d = dataOf(t, id);
          mult *= t.words[d + 2]!;
          id = t.words[d]!;
          break;
        }
        default:
          return -1;
      }
    }
    return -1;
  }

  /**
   * Natural alignment of a type in bytes, as C would give it (libbpf's `btf__align_of`): a struct whose member
   * offsets or size contradict natural alignment is taken as packed (1). 0 when unknown (void, fwd, functions).
   */
  alignOf(id: number): number {
    if (id <= 0 || id >= this.count) return 0;
    let cache = this.#align;
    if (cache === undefined) {
      cache = new Int8Array(this.count).fill(-1);
      this.#align = cache;
    }
    const hit = cache[id]!;
    if (hit >= 0) return hit;
    if (hit === -2) return 1; // by-value cycle in hostile input: stop here
    cache[id] = -2;
    const a = this.#computeAlign(id);
    cache[id] = a;
    return a;
  }

  #computeAlign(id: number): number {
    const t = this.table;
    switch (kindOf(t, id)) {
      case BtfKind.INT:
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
      case BtfKind.FLOAT:
        return Math.min(this.pointerSize, sizeTypeOf(t, id));
      case BtfKind.PTR:
        return this.pointerSize;
      case BtfKind.TYPEDEF:
      case BtfKind.VOLATILE:
      case BtfKind.CONST:
      case BtfKind.RESTRICT:
      case BtfKind.TYPE_TAG:
        return this.alignOf(sizeTypeOf(t, id));
      case BtfKind.ARRAY:
        return this.alignOf(t.words[dataOf(t, id)]!);
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const vlen = vlenOf(t, id);
        const kflag = kflagOf(t, id);
        const rs = t.start[id]!;
        let max = 1;
        for (let i = 0; i < vlen; i++) {
          const a = this.alignOf(memberType(t.words, rs, i));
          if (a <= 0) return 0;
          if (a > max) max = a;
          const raw = memberOffsetWord(t.words, rs, i);
          const bitfield = memberBitfieldSize(raw, kflag);
          const off = memberBitOffset(raw, kflag);
          if (bitfield === 0 && off % (8 * a) !== 0) return 1;
        }
        if (sizeTypeOf(t, id) % max !== 0) return 1;
        return max;
      }
      default:
        return 0;
    }
  }

  #nameIndex(): Map<string, number[]> {
    if (this.#byName === undefined) {
      const map = new Map<string, number[]>();
      for (let id = 1; id < this.count; id++) {
        const off = nameOffOf(this.table, id);
        if (off === 0) continue;
        const name = this.strings.get(off);
        const list = map.get(name);
        if (list === undefined) map.set(name, [id]);
        else list.push(id);
      }
      this.#byName = map;
    }
    return this.#byName;
  }

  #materialize(id: number): BtfType {
    let cache = this.#types;
    if (cache === undefined) {
      cache = new Array<BtfType | undefined>(this.count);
      this.#types = cache;
    }
    const hit = cache[id];
    if (hit !== undefined) return hit;
    const made = this.#build(id);
    cache[id] = made;
    return made;
  }

  #build(id: number): BtfType {
    const t = this.table;
    const w = t.words;
    const str = (off: number): string => this.strings.get(off);
    const name = id === 0 ? '' : str(nameOffOf(t, id));
    const kind = id === 0 ? 0 : kindOf(t, id);
    const st = sizeTypeOf(t, id);
    const vlen = vlenOf(t, id);
    const kflag = kflagOf(t, id);
    const rs = t.start[id]!;
    const linkage = (n: number): BtfLinkage | number => LINKAGES[n] ?? n;
    switch (kind) {
      case BtfKind.INT: {
        const enc = intEncoding(w, rs);
        const e = (enc >>> 24) & 0x0f;
        return { kind: 'int', id, name, size: st, signed: (e & 1) !== 0, char: (e & 2) !== 0, bool: (e & 4) !== 0, bitOffset: (enc >>> 16) & 0xff, bits: enc & 0xff };
      }
      case BtfKind.PTR:
        return { kind: 'ptr', id, name, type: st };
      case BtfKind.ARRAY:
        return { kind: 'array', id, name, type: arrayElemType(w, rs), indexType: arrayIndexType(w, rs), nelems: arrayNelems(w, rs) };
      case BtfKind.STRUCT:
      case BtfKind.UNION: {
        const members: BtfMember[] = [];
        for (let i = 0; i < vlen; i++) {
          const raw = memberOffsetWord(w, rs, i);
          members.push({
            name: str(memberNameOff(w, rs, i)),
            type: memberType(w, rs, i),
            bitOffset: memberBitOffset(raw, kflag),
            bitfieldSize: memberBitfieldSize(raw, kflag),
          });
        }
        return { kind: kind === BtfKind.STRUCT ? 'struct' : 'union', id, name, size: st, members };
      }
      case BtfKind.ENUM: {
        const values: BtfEnumValue<number>[] = [];
        for (let i = 0; i < vlen; i++) {
          const v = enumValue32(w, rs, i);
          values.push({ name: str(enumNameOff(w, rs, i, false)), value: kflag ? v | 0 : v });
        }
        return { kind: 'enum', id, name, size: st, signed: kflag, values };
      }
      case BtfKind.ENUM64: {
        const values: BtfEnumValue<bigint>[] = [];
        for (let i = 0; i < vlen; i++) {
          const [lo, hi] = enum64Words(w, rs, i);
          const u = (BigInt(hi) << 32n) | BigInt(lo);
          values.push({ name: str(enumNameOff(w, rs, i, true)), value: kflag ? BigInt.asIntN(64, u) : u });
        }
        return { kind: 'enum64', id, name, size: st, signed: kflag, values };
      }
      case BtfKind.FWD:
        return { kind: 'fwd', id, name, fwdKind: kflag ? 'union' : 'struct' };
      case BtfKind.TYPEDEF:
        return { kind: 'typedef', id, name, type: st };
      case BtfKind.VOLATILE:
        return { kind: 'volatile', id, name, type: st };
      case BtfKind.CONST:
        return { kind: 'const', id, name, type: st };
      case BtfKind.RESTRICT:
        return { kind: 'restrict', id, name, type: st };
      case BtfKind.TYPE_TAG:
        return { kind: 'type_tag', id, name, type: st, attribute: kflag };
      case BtfKind.FUNC:
        return { kind: 'func', id, name, type: st, linkage: linkage(vlen) };
      case BtfKind.FUNC_PROTO: {
        const params = [];
        for (let i = 0; i < vlen; i++) params.push({ name: str(paramNameOff(w, rs, i)), type: paramType(w, rs, i) });
        return { kind: 'func_proto', id, name, returnType: st, params };
      }
      case BtfKind.VAR:
        return { kind: 'var', id, name, type: st, linkage: linkage(varLinkage(w, rs)) };
      case BtfKind.DATASEC: {
        const vars = [];
        for (let i = 0; i < vlen; i++) vars.push({ type: varsecType(w, rs, i), offset: varsecOffset(w, rs, i), size: varsecSize(w, rs, i) });
        return { kind: 'datasec', id, name, size: st, vars };
      }
      case BtfKind.FLOAT:
        return { kind: 'float', id, name, size: st };
      case BtfKind.DECL_TAG:
        return { kind: 'decl_tag', id, name, type: st, componentIdx: declTagComponent(w, rs), attribute: kflag };
      default:
        return { kind: 'void', id: 0, name: '' };
    }
  }
}
