/**
 * Phase 3 of the C dump: write C text for ordered types (libbpf `btf_dump.c` conventions, so the output matches
 * `bpftool btf dump … format c`).
 *
 * - {@link emitType} writes one queued definition, first writing forward declarations for whatever it uses
 *   weakly (through a pointer) and has not been defined yet.
 * - {@link emitTypeDecl} writes a declarator: the BTF chain `typedef → array → ptr → const → int` becomes
 *   `const int *name[N]`. The chain is pushed on a stack up to its terminal type (int, struct, enum, typedef…)
 *   and unwound innermost-first, because C puts qualifiers right of `*` but left of base types, and wraps
 *   pointers to arrays and functions in parentheses.
 * - Struct bodies get explicit padding (`long: 64;`, `int: 0;`) wherever member offsets are not where natural
 *   alignment would put them, and `__attribute__((packed))` when natural alignment cannot hold the layout.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';
import { type DumpState, Emit, NameState } from './dump-state.js';
import { BtfKind } from './types.js';
import {
  arrayElemType,
  arrayNelems,
  enum64Words,
  enumNameOff,
  enumValue32,
  infoKflag,
  infoKind,
  infoVlen,
  memberBitfieldSize,
  memberBitOffset,
  memberNameOff,
  memberOffsetWord,
  memberType,
  paramNameOff,
  paramType,
  recordKind,
} from './table.js';

/**
 * A declarator name: a string-table offset (member and parameter names, copied as bytes) or a ready string
 * (typedef names that needed a `___N` suffix).
 */
type DeclName = number | string;

/** Builtin typedef names libbpf aliases to base types because some compilers emit them without definition. */
const MISSING_BASE_TYPES: ReadonlyMap<string, string> = new Map([
  ['__Poly8_t', 'unsigned char'],
  ['__Poly16_t', 'unsigned short'],
  ['__Poly64_t', 'unsigned long long'],
  ['__Poly128_t', 'unsigned __int128'],
]);

function isBlacklisted(s: DumpState, id: number): boolean {
  // a compiler builtin: redefining it breaks compilation
  return s.rawName(id) === '__builtin_va_list';
}

function kindAt(s: DumpState, id: number): number {
  return recordKind(s.table.words, s.table.start[id]!);
}

/**
 * Emit type `id` as a top-level definition (`contId` = 0) or as needed from inside container `contId`.
 * Only definitions and needed forward declarations are written; modifiers and pointers recurse to their target.
 */
export function emitType(s: DumpState, id: number, contId: number): void {
  const es = s.emit[id];
  if (es === Emit.EMITTED) return;
  const { words, start } = s.table;
  const st = start[id]!;
  const info = words[st + 1]!;
  const kind = infoKind(info);
  const named = words[st]! !== 0;
  const out = s.out;
  const topLevel = contId === 0;

  if (es === Emit.EMITTING) {
    if (s.fwdEmitted[id] === 1) return;
    if (kind === BtfKind.STRUCT || kind === BtfKind.UNION) {
      // referring to the struct we are inside of: no forward declaration needed
      if (id === contId || !named) return;
      emitStructFwd(s, id);
      out.put(';\n\n');
      s.fwdEmitted[id] = 1;
    } else if (kind === BtfKind.TYPEDEF) {
      // the typedef can serve weak (through-pointer) users before its target is complete
      if (!isBlacklisted(s, id)) {
        emitTypedefDef(s, id, 0);
        out.put(';\n\n');
      }
      s.fwdEmitted[id] = 1;
    }
    return;
  }

  switch (kind) {
    case BtfKind.INT: {
      if (named) {
        const alias = MISSING_BASE_TYPES.get(s.rawName(id));
        if (alias !== undefined) out.put(`typedef ${alias} ${s.typeName(id)};\n\n`);
      }
      s.emit[id] = Emit.EMITTED;
      break;
    }
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
      if (topLevel) {
        emitEnumDef(s, id, 0);
        out.put(';\n\n');
      }
      s.emit[id] = Emit.EMITTED;
      break;
    case BtfKind.PTR:
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
      emitType(s, words[st + 2]!, contId);
      break;
    case BtfKind.ARRAY:
      emitType(s, arrayElemType(words, st), contId);
      break;
    case BtfKind.FWD:
      emitFwdDef(s, id);
      out.put(';\n\n');
      s.emit[id] = Emit.EMITTED;
      break;
    case BtfKind.TYPEDEF:
      s.emit[id] = Emit.EMITTING;
      emitType(s, words[st + 2]!, id);
      if (s.fwdEmitted[id] === 0 && !isBlacklisted(s, id)) {
        emitTypedefDef(s, id, 0);
        out.put(';\n\n');
      }
      s.emit[id] = Emit.EMITTED;
      break;
    case BtfKind.STRUCT:
    case BtfKind.UNION:
      s.emit[id] = Emit.EMITTING;
      // a definition (top level, or anonymous and so inline) needs its members' forward declarations
      if (topLevel || !named) {
        const vlen = infoVlen(info);
        const cont = named ? id : contId;
        for (let i = 0; i < vlen; i++) emitType(s, memberType(words, st, i), cont);
      } else if (s.fwdEmitted[id] === 0 && id !== contId) {
        emitStructFwd(s, id);
        out.put(';\n\n');
        s.fwdEmitted[id] = 1;
      }
      if (topLevel) {
        emitStructDef(s, id, 0);
        out.put(';\n\n');
        s.emit[id] = Emit.EMITTED;
      } else {
        s.emit[id] = Emit.NOT_EMITTED;
      }
      break;
    case BtfKind.FUNC_PROTO: {
      emitType(s, words[st + 2]!, contId);
      const vlen = infoVlen(info);
      for (let i = 0; i < vlen; i++) emitType(s, paramType(words, st, i), contId);
      break;
    }
    default:
      break;
  }
}

/** True when a struct's layout cannot come from natural alignment (libbpf `btf_is_struct_packed`). */
function isStructPacked(s: DumpState, id: number): boolean {
  const { words, start } = s.table;
  const st = start[id]!;
  const info = words[st + 1]!;
  const vlen = infoVlen(info);
  const kflag = infoKflag(info);
  let maxAlign = 1;
  for (let i = 0; i < vlen; i++) {
    const align = s.btf.alignOf(memberType(words, st, i));
    const raw = memberOffsetWord(words, st, i);
    const bitSize = memberBitfieldSize(raw, kflag);
    const off = memberBitOffset(raw, kflag);
    if (align !== 0 && bitSize === 0 && off % (8 * align) !== 0) return true;
    if (align > maxAlign) maxAlign = align;
  }
  return words[st + 2]! % maxAlign !== 0;
}

function roundUp(x: number, to: number): number {
  return Math.ceil(x / to) * to;
}

/**
 * Fill the bit gap `[cur, next)` with anonymous bitfields, relying on natural alignment where it lands right
 * and forcing it with `<type>: 0` where it would not (libbpf `btf_dump_emit_bit_padding`).
 */
const PAD_NAMES = ['long', 'int', 'short', 'char'] as const;
/** Largest padding gap written out (1 MiB): more means corrupt BTF, and would only bloat the output. */
const MAX_PAD_BITS = 8 << 20;

/**
 * Fill the bit gap `[cur, next)` with anonymous bitfields, relying on natural alignment where it lands right
 * and forcing it with `<type>: 0` where it would not (libbpf `btf_dump_emit_bit_padding`).
 */
function emitBitPadding(s: DumpState, cur: number, next: number, nextAlign: number, inBitfield: boolean, lvl: number): void {
  if (cur >= next) return;
  if (next - cur > MAX_PAD_BITS) {
    throw new BpfCompileError(ErrorCode.BTF_INVALID, `a ${Math.floor((next - cur) / 8)}-byte padding gap is implausible`, {
      hint: 'A struct size or member offset in the BTF is corrupt.',
      details: { fromBit: cur, toBit: next },
    });
  }
  const padBitsOf = [s.ptrSize * 8, 32, 16, 8];
  let newOff = 0;
  let pad = 0;
  for (pad = 0; pad < 4; pad++) {
    newOff = roundUp(cur, padBitsOf[pad]!);
    if (newOff <= next) break;
  }
  if (pad === 4) pad = 3;
  const padBits = padBitsOf[pad]!;
  const out = s.out;
  const line = (name: string, bits: number): void => {
    out.putChar(10);
    out.putTabs(lvl);
    out.put(`${name}: ${bits};`);
  };
  if (newOff > cur && newOff <= next) {
    if (inBitfield || (newOff === next && roundUp(cur, nextAlign * 8) !== newOff) || (newOff !== next && next - newOff <= newOff - cur)) {
      line(PAD_NAMES[pad]!, inBitfield ? newOff - cur : 0);
    }
    cur = newOff;
  }
  while (cur !== next) {
    const bits = Math.min(next - cur, padBits);
    if (bits === padBits) {
      line(PAD_NAMES[pad]!, padBits);
      cur += bits;
      continue;
    }
    // the remainder: smallest type that holds it
    for (let i = 3; i >= 0; i--) {
      if (padBitsOf[i]! < bits) continue;
      line(PAD_NAMES[i]!, bits);
      cur += bits;
      break;
    }
  }
}

function emitStructFwd(s: DumpState, id: number): void {
  s.out.put(kindAt(s, id) === BtfKind.STRUCT ? 'struct' : 'union');
  if (s.table.words[s.table.start[id]!]! !== 0) {
    s.out.putChar(32);
    s.putTypeName(id);
  }
}

/** Write `struct name { … }` (no trailing `;`). */
export function emitStructDef(s: DumpState, id: number, lvl: number): void {
  const { words, start } = s.table;
  const st = start[id]!;
  const info = words[st + 1]!;
  const isStruct = infoKind(info) === BtfKind.STRUCT;
  const vlen = infoVlen(info);
  const kflag = infoKflag(info);
  const size = words[st + 2]!;
  const align = s.btf.alignOf(id);
  const packed = isStruct ? isStructPacked(s, id) : false;
  const out = s.out;
  out.put(isStruct ? 'struct' : 'union');
  if (words[st]! !== 0) {
    out.putChar(32);
    s.putTypeName(id);
  }
  out.put(' {');
  let off = 0;
  let prevBitfield = false;
  for (let i = 0; i < vlen; i++) {
    const fname = memberNameOff(words, st, i);
    const mtype = memberType(words, st, i);
    const raw = memberOffsetWord(words, st, i);
    let mSize = memberBitfieldSize(raw, kflag);
    const mOff = memberBitOffset(raw, kflag);
    const mAlign = packed ? 1 : s.btf.alignOf(mtype);
    const inBitfield = prevBitfield && mSize !== 0;
    emitBitPadding(s, off, mOff, mAlign, inBitfield, lvl + 1);
    out.putChar(10);
    out.putTabs(lvl + 1);
    emitTypeDecl(s, mtype, fname, lvl + 1);
    if (mSize !== 0) {
      out.put(': ');
      out.put(String(mSize));
      off = mOff + mSize;
      prevBitfield = true;
    } else {
      mSize = Math.max(0, s.btf.resolveSize(mtype));
      off = mOff + mSize * 8;
      prevBitfield = false;
    }
    out.putChar(59);
  }
  if (isStruct) emitBitPadding(s, off, size * 8, align, false, lvl + 1);
  // keep `struct empty {}` on one line
  if (vlen !== 0 || size !== 0) {
    out.putChar(10);
    out.putTabs(lvl);
  }
  out.putChar(125);
  if (packed) out.put(' __attribute__((packed))');
}

/** Write `enum name { … }` with its size attribute, if any (no trailing `;`). */
export function emitEnumDef(s: DumpState, id: number, lvl: number): void {
  const { words, start } = s.table;
  const st = start[id]!;
  const info = words[st + 1]!;
  const is64 = infoKind(info) === BtfKind.ENUM64;
  const vlen = infoVlen(info);
  const signed = infoKflag(info);
  const size = words[st + 2]!;
  const out = s.out;
  out.put('enum');
  if (words[st]! !== 0) {
    out.putChar(32);
    s.putTypeName(id);
  }
  if (vlen === 0) return;
  out.put(' {');
  let hiAllZero = true;
  for (let i = 0; i < vlen; i++) {
    const nameOff = enumNameOff(words, st, i, is64);
    let value: string;
    if (is64) {
      const [lo, hi] = enum64Words(words, st, i);
      if (hi !== 0) hiAllZero = false;
      value = formatU64(lo, hi, signed) + (signed ? 'LL' : 'ULL');
    } else {
      const v = enumValue32(words, st, i);
      value = String(signed ? v | 0 : v);
    }
    out.putChar(10);
    out.putTabs(lvl + 1);
    s.putString(nameOff);
    // enumerators share the identifier namespace with typedefs
    const dups = s.identNames.bump(nameOff);
    if (dups > 1) {
      out.put('___');
      out.put(String(dups));
    }
    out.put(' = ');
    out.put(value);
    out.putChar(44);
  }
  out.putChar(10);
  out.putTabs(lvl);
  out.putChar(125);
  if (size === 1) {
    out.put(' __attribute__((mode(byte)))');
  } else if (size === 8 && s.ptrSize === 8) {
    // a 32-bit enum can only be 8 bytes with mode(word); an enum64 gets there by itself if a value needs it
    if (!is64 || hiAllZero) out.put(' __attribute__((mode(word)))');
  }
}

function formatU64(lo: number, hi: number, signed: boolean): string {
  if (hi === 0) return String(lo);
  const u = (BigInt(hi) << 32n) | BigInt(lo);
  return String(signed ? BigInt.asIntN(64, u) : u);
}

function emitFwdDef(s: DumpState, id: number): void {
  const isUnion = s.table.words[s.table.start[id]! + 1]! >>> 31 === 1;
  s.out.put(isUnion ? 'union ' : 'struct ');
  s.putTypeName(id);
}

/** Write `typedef <decl> name` (no trailing `;`). */
export function emitTypedefDef(s: DumpState, id: number, lvl: number): void {
  const name = s.identName(id);
  const target = s.table.words[s.table.start[id]! + 2]!;
  if (target === 0 && name === '__gnuc_va_list') {
    // old GCC emits this typedef to void
    s.out.put('typedef __builtin_va_list __gnuc_va_list');
    return;
  }
  s.out.put('typedef ');
  emitTypeDecl(s, target, s.nameResolved[id] === NameState.RENAMED ? name : s.table.words[s.table.start[id]!]!, lvl);
}

/** A view of a shared declarator stack: ids pushed outermost first; `cnt` shrinks as it is unwound. */
interface DeclStack {
  readonly ids: Uint32Array;
  /** Start of this frame in the shared stack. */
  readonly base: number;
  /** End of this frame (exclusive). */
  cnt: number;
}

/**
 * Write a declaration of `fname` with type `id` (a struct member, a parameter, a typedef body): e.g.
 * `int (*fname)(void *)`, `const char *fname[4]`.
 */
export function emitTypeDecl(s: DumpState, id: number, fname: DeclName, lvl: number): void {
  const { words, start } = s.table;
  const base = s.declTop;
  for (;;) {
    if (s.declTop === s.declStack.length) {
      const bigger = new Uint32Array(s.declStack.length * 2);
      bigger.set(s.declStack);
      s.declStack = bigger;
    }
    s.declStack[s.declTop++] = id;
    if (id === 0) break;
    const st = start[id]!;
    const kind = recordKind(words, st);
    if (kind === BtfKind.PTR || kind === BtfKind.VOLATILE || kind === BtfKind.CONST || kind === BtfKind.RESTRICT || kind === BtfKind.FUNC_PROTO || kind === BtfKind.TYPE_TAG) {
      id = words[st + 2]!;
    } else if (kind === BtfKind.ARRAY) {
      id = arrayElemType(words, st);
    } else {
      break;
    }
  }
  emitTypeChain(s, { ids: s.declStack, base, cnt: s.declTop }, fname, lvl);
  s.declTop = base;
}

function isMod(kind: number): boolean {
  return kind === BtfKind.VOLATILE || kind === BtfKind.CONST || kind === BtfKind.RESTRICT || kind === BtfKind.TYPE_TAG;
}

/** Write the qualifiers just outside the current position (`const volatile `), consuming them. */
function emitMods(s: DumpState, decls: DeclStack): void {
  while (decls.cnt > decls.base) {
    const id = decls.ids[decls.cnt - 1]!;
    const kind = id === 0 ? 0 : kindAt(s, id);
    if (kind === BtfKind.VOLATILE) s.out.put('volatile ');
    else if (kind === BtfKind.CONST) s.out.put('const ');
    else if (kind === BtfKind.RESTRICT) s.out.put('restrict ');
    else return;
    decls.cnt--;
  }
}

/** Drop qualifiers (and tags) outside an array or function: they mean nothing there in C. */
function dropMods(s: DumpState, decls: DeclStack): void {
  while (decls.cnt > decls.base) {
    const id = decls.ids[decls.cnt - 1]!;
    if (id === 0 || !isMod(kindAt(s, id))) return;
    decls.cnt--;
  }
}

function nameIsEmpty(s: DumpState, name: DeclName): boolean {
  return typeof name === 'number' ? s.strings.isEmpty(name) : name === '';
}

function putName(s: DumpState, name: DeclName): void {
  if (typeof name === 'number') s.putString(name);
  else s.out.put(name);
}

function emitName(s: DumpState, name: DeclName, lastWasPtr: boolean): void {
  if (nameIsEmpty(s, name)) return;
  if (!lastWasPtr) s.out.putChar(32);
  putName(s, name);
}

function emitTypeChain(s: DumpState, decls: DeclStack, fname: DeclName, lvl: number): void {
  // `int ***p`, not `int * * * p`: no space between consecutive stars and before the name after a star
  let lastWasPtr = true;
  const out = s.out;
  const { words, start } = s.table;
  while (decls.cnt > decls.base) {
    const id = decls.ids[--decls.cnt]!;
    if (id === 0) {
      emitMods(s, decls);
      out.put('void');
      lastWasPtr = false;
      continue;
    }
    const st = start[id]!;
    const info = words[st + 1]!;
    const kind = infoKind(info);
    switch (kind) {
      case BtfKind.INT:
      case BtfKind.FLOAT:
        emitMods(s, decls);
        s.putString(words[st]!);
        break;
      case BtfKind.STRUCT:
      case BtfKind.UNION:
        emitMods(s, decls);
        if (words[st]! === 0) emitStructDef(s, id, lvl);
        else emitStructFwd(s, id);
        break;
      case BtfKind.ENUM:
      case BtfKind.ENUM64:
        emitMods(s, decls);
        if (words[st]! === 0) emitEnumDef(s, id, lvl);
        else {
          out.put('enum ');
          s.putTypeName(id);
        }
        break;
      case BtfKind.FWD:
        emitMods(s, decls);
        emitFwdDef(s, id);
        break;
      case BtfKind.TYPEDEF:
        emitMods(s, decls);
        s.putIdentName(id);
        break;
      case BtfKind.PTR:
        out.put(lastWasPtr ? '*' : ' *');
        break;
      case BtfKind.VOLATILE:
        out.put(' volatile');
        break;
      case BtfKind.CONST:
        out.put(' const');
        break;
      case BtfKind.RESTRICT:
        out.put(' restrict');
        break;
      case BtfKind.TYPE_TAG: {
        emitMods(s, decls);
        if (infoKflag(info)) {
          out.put(' __attribute__((');
          s.putString(words[st]!);
          out.put('))');
        } else {
          out.put(' __attribute__((btf_type_tag("');
          s.putString(words[st]!);
          out.put('")))');
        }
        break;
      }
      case BtfKind.ARRAY: {
        const nelems = arrayNelems(words, st);
        // qualifiers on an array type (a GCC quirk) mean nothing: skip them
        dropMods(s, decls);
        if (decls.cnt === decls.base) {
          emitName(s, fname, lastWasPtr);
          out.put(`[${nelems}]`);
          return;
        }
        const next = decls.ids[decls.cnt - 1]!;
        const multidim = next !== 0 && kindAt(s, next) === BtfKind.ARRAY;
        if (!lastWasPtr && !nameIsEmpty(s, fname)) out.putChar(32);
        if (!multidim) out.put('(');
        emitTypeChain(s, decls, fname, lvl);
        if (!multidim) out.put(')');
        out.put(`[${nelems}]`);
        return;
      }
      case BtfKind.FUNC_PROTO: {
        const vlen = infoVlen(info);
        // qualifiers on a function type (GCC's noreturn quirk) mean nothing: skip them
        dropMods(s, decls);
        if (decls.cnt > decls.base) {
          out.put(' (');
          emitTypeChain(s, decls, fname, lvl);
          out.put(')');
        } else {
          emitName(s, fname, lastWasPtr);
        }
        out.put('(');
        if (vlen === 0 || (vlen === 1 && paramType(words, st, 0) === 0)) {
          out.put('void)');
          return;
        }
        for (let i = 0; i < vlen; i++) {
          if (i > 0) out.put(', ');
          const ptype = paramType(words, st, i);
          // a trailing void parameter means varargs
          if (i === vlen - 1 && ptype === 0) {
            out.put('...');
            break;
          }
          emitTypeDecl(s, ptype, paramNameOff(words, st, i), lvl);
        }
        out.put(')');
        return;
      }
      default:
        // not part of a declarator (func, var, datasec, decl_tag): write nothing more
        return;
    }
    lastWasPtr = kind === BtfKind.PTR;
  }
  emitName(s, fname, lastWasPtr);
}
