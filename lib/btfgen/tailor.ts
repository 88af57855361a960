/**
 * Tailored BTF: from a kernel's BTF, only what a set of relocation outcomes needs — the algorithm of bpftool's
 * `gen min_core_btf` (BTFGen), so the result relocates exactly like the full BTF:
 *
 * - field relocations keep the root type and, for each struct/union the access passes through (anonymous ones
 *   included), only the member taken and that member's type; pointers are kept but not followed (their pointee
 *   becomes `void` unless something else keeps it);
 * - `type_exists`/`type_size`/`target_type_id` keep the type and everything it reaches, through pointers too,
 *   with structs and unions emptied of members; `type_matches` keeps structs and unions with all their members,
 *   stopping at composites behind pointers; enum relocations keep the whole enum;
 * - the kept types are written in their original order with new ids; an id that points at a dropped type
 *   becomes 0.
 *
 * One deliberate difference from bpftool: the caller marks every kernel candidate a relocation matches, not only the
 * first. libbpf narrows a type's candidate list to the matches of each relocation, so with only the first kept, a
 * later relocation of the same type could find nothing in the tailored BTF where the full one has a match. With
 * kernels whose BTF has one type per name (the normal case after deduplication) both keep the same types.
 */
import type { Btf } from '../btf/btf.js';
import { arrayElemType, arrayIndexType, infoKind, infoVlen, kindOf, MEMBER_WORDS, memberType, paramType, sizeTypeOf } from '../btf/table.js';
import { BtfKind } from '../btf/types.js';
import { BtfWriter, recordSlots } from '../btf/write.js';
import { isComposite, skipModsAndTypedefs } from './compat.js';
import { ReloKindNumber, RELO_KINDS } from './kinds.js';
import type { CoreSpec } from './spec.js';

/** What is kept of one kernel BTF. */
export class Marks {
  readonly kernel: Btf;
  readonly types: Uint8Array;
  /** Word index of every kept struct/union member (`start + 3 + i * 3`). */
  readonly members = new Set<number>();
  /** Structs/unions whose members {@link Marks.typeMatch} has kept already (hostile BTF may nest them in a cycle). */
  readonly #expanded = new Set<number>();

  constructor(kernel: Btf) {
    this.kernel = kernel;
    this.types = new Uint8Array(kernel.count);
  }

  #member(id: number, i: number): void {
    this.members.add(this.kernel.table.start[id]! + 3 + i * MEMBER_WORDS);
  }

  /** bpftool's `btfgen_mark_type`. */
  type(id: number, followPointers: boolean): void {
    const t = this.kernel.table;
    for (let depth = 0; id !== 0 && depth < 4096; depth++) {
      this.types[id] = 1;
      const st = t.start[id]!;
      switch (kindOf(t, id)) {
        case BtfKind.PTR:
          if (!followPointers) return;
          id = sizeTypeOf(t, id);
          continue;
        case BtfKind.CONST:
        case BtfKind.RESTRICT:
        case BtfKind.VOLATILE:
        case BtfKind.TYPEDEF:
        case BtfKind.TYPE_TAG:
          id = sizeTypeOf(t, id);
          continue;
        case BtfKind.ARRAY:
          this.type(arrayIndexType(t.words, st), followPointers);
          id = arrayElemType(t.words, st);
          continue;
        case BtfKind.FUNC_PROTO: {
          const n = infoVlen(t.words[st + 1]!);
          for (let i = 0; i < n; i++) this.type(paramType(t.words, st, i), followPointers);
          id = sizeTypeOf(t, id);
          continue;
        }
        default:
          return;
      }
    }
  }

  /** bpftool's `btfgen_mark_type_match`. */
  typeMatch(id: number, behindPtr: boolean): void {
    const t = this.kernel.table;
    for (let depth = 0; id !== 0 && depth < 4096; depth++) {
      this.types[id] = 1;
      const st = t.start[id]!;
      switch (kindOf(t, id)) {
        case BtfKind.STRUCT:
        case BtfKind.UNION: {
          if (behindPtr || this.#expanded.has(id)) return;
          this.#expanded.add(id);
          const n = infoVlen(t.words[st + 1]!);
          for (let i = 0; i < n; i++) {
            this.#member(id, i);
            this.typeMatch(memberType(t.words, st, i), false);
          }
          return;
        }
        case BtfKind.CONST:
        case BtfKind.FWD:
        case BtfKind.RESTRICT:
        case BtfKind.TYPEDEF:
        case BtfKind.VOLATILE:
        case BtfKind.TYPE_TAG:
          id = sizeTypeOf(t, id);
          continue;
        case BtfKind.PTR:
          behindPtr = true;
          id = sizeTypeOf(t, id);
          continue;
        case BtfKind.ARRAY:
          this.typeMatch(arrayIndexType(t.words, st), false);
          id = arrayElemType(t.words, st);
          behindPtr = false;
          continue;
        case BtfKind.FUNC_PROTO: {
          const n = infoVlen(t.words[st + 1]!);
          for (let i = 0; i < n; i++) this.typeMatch(paramType(t.words, st, i), false);
          id = sizeTypeOf(t, id);
          behindPtr = false;
          continue;
        }
        default:
          return;
      }
    }
  }

  /** bpftool's `btfgen_record_field_relo`: the root, then each member the raw access passes through. */
  field(spec: CoreSpec): void {
    const btf = this.kernel;
    let id = spec.rootTypeId;
    this.type(id, false);
    for (let i = 1; i < spec.raw.length; i++) {
      id = skipModsAndTypedefs(btf, id);
      const st = btf.table.start[id]!;
      const k = kindOf(btf.table, id);
      if (isComposite(k)) {
        const idx = spec.raw[i]!;
        this.#member(id, idx);
        id = memberType(btf.table.words, st, idx);
        this.type(id, false);
      } else if (k === BtfKind.ARRAY) {
        id = arrayElemType(btf.table.words, st);
      }
    }
  }

  /** Keep what the relocation's target spec needs. */
  record(spec: CoreSpec): void {
    const cls = RELO_KINDS[spec.kind]!.class;
    if (cls === 'field') this.field(spec);
    else if (cls === 'enumval') this.type(spec.rootTypeId, false);
    else if (spec.kind === ReloKindNumber.TYPE_MATCHES) this.typeMatch(spec.rootTypeId, false);
    else if (spec.kind !== ReloKindNumber.TYPE_ID_LOCAL) this.type(spec.rootTypeId, true);
  }
}

/** The tailored BTF blob of these marks, in the kernel BTF's byte order, and how many types it holds. */
export function writeTailored(marks: Marks): { bytes: Uint8Array; types: number } {
  const kernel = marks.kernel;
  const { words, start } = kernel.table;
  const strings = kernel.strings;
  const w = new BtfWriter();
  const ids = new Uint32Array(kernel.count);
  for (let id = 1; id < kernel.count; id++) {
    if (marks.types[id] !== 1) continue;
    const st = start[id]!;
    const info = words[st + 1]!;
    const slots = recordSlots(info);
    let rec: number[];
    if (isComposite(infoKind(info))) {
      rec = [w.string(strings.get(words[st]!)), 0, words[st + 2]!];
      let kept = 0;
      for (let i = 0; i < infoVlen(info); i++) {
        const m = st + 3 + i * MEMBER_WORDS;
        if (!marks.members.has(m)) continue;
        rec.push(w.string(strings.get(words[m]!)), words[m + 1]!, words[m + 2]!);
        kept++;
      }
      rec[1] = ((info & 0xffff0000) | kept) >>> 0;
    } else {
      rec = Array.from(words.subarray(st, st + slots.words));
      for (const n of slots.names) rec[n] = w.string(strings.get(words[st + n]!));
    }
    ids[id] = w.add(rec);
  }
  w.remapTypes((old) => ids[old] ?? 0);
  return { bytes: w.toBytes(kernel.byteOrder), types: w.count - 1 };
}
