/**
 * Phase 2 of the C dump: order type definitions so that C accepts them (the topological sort of libbpf's
 * `btf_dump.c`).
 *
 * A type needed *by value* (embedded member, array element, typedef target) must be complete before its user:
 * a *strong* dependency. A named struct/union reached through a pointer only needs a forward declaration: a
 * *weak* dependency. The rule: a path from X to Y is weak when it contains a pointer and Y (or a named type on
 * the way) can stand alone; anonymous structs/unions are defined inline, so whatever they embed stays strong
 * even behind a pointer.
 *
 * {@link orderType} walks depth-first from one type and appends to `queue` every definition that must precede
 * it, in a valid order, each at most once over the whole dump. Guarantee: emitting the queue in order, with
 * forward declarations for the weak links (done by `emit.ts`), compiles. A cycle of strong links (a struct
 * containing itself by value, or anonymous types referring to each other) cannot be written in C and is
 * reported as `BTF_INVALID`.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';
import { Order, type DumpState, type IdQueue } from './dump-state.js';
import { BtfKind } from './types.js';
import { arrayElemType, infoKind, infoVlen, memberType, paramType } from './table.js';

/**
 * Order `id` and its dependencies, appending standalone definitions to `queue`.
 *
 * @param throughPtr - Reached through a pointer (so a named composite is only a weak dependency).
 * @returns `true` when `id` is part of a strong link (must be fully defined first), `false` for a weak one.
 * @throws BpfCompileError `BTF_INVALID` on a cycle C cannot express.
 */
export function orderType(s: DumpState, id: number, throughPtr: boolean, queue: IdQueue): boolean {
  const state = s.order[id];
  if (state === Order.ORDERED) return true;
  const { words, start } = s.table;
  const st = start[id]!;
  const info = words[st + 1]!;
  const kind = infoKind(info);
  const named = words[st]! !== 0;
  if (state === Order.ORDERING) {
    if ((kind === BtfKind.STRUCT || kind === BtfKind.UNION) && throughPtr && named) return false;
    throw new BpfCompileError(ErrorCode.BTF_INVALID, `BTF type [${id}] is part of a cycle that C cannot express`, {
      hint: 'A struct/union contains itself by value, or anonymous types refer to each other; the BTF is corrupt.',
      details: { id, kind },
    });
  }
  switch (kind) {
    case BtfKind.INT:
    case BtfKind.FLOAT:
      s.order[id] = Order.ORDERED;
      return false;
    case BtfKind.PTR: {
      const strong = orderType(s, words[st + 2]!, true, queue);
      s.order[id] = Order.ORDERED;
      return strong;
    }
    case BtfKind.ARRAY:
      return orderType(s, arrayElemType(words, st), false, queue);
    case BtfKind.STRUCT:
    case BtfKind.UNION: {
      // only embedded (no pointer on the path) or anonymous (defined inline) composites are strong
      if (throughPtr && named) return false;
      s.order[id] = Order.ORDERING;
      const vlen = infoVlen(info);
      for (let i = 0; i < vlen; i++) orderType(s, memberType(words, st, i), false, queue);
      if (named) queue.push(id);
      s.order[id] = Order.ORDERED;
      return true;
    }
    case BtfKind.ENUM:
    case BtfKind.ENUM64:
    case BtfKind.FWD:
      // named or never-referenced (top-level anonymous) enums are standalone definitions
      if (named || s.referenced[id] === 0) queue.push(id);
      s.order[id] = Order.ORDERED;
      return true;
    case BtfKind.TYPEDEF: {
      const strong = orderType(s, words[st + 2]!, throughPtr, queue);
      if (throughPtr && !strong) return false;
      queue.push(id);
      s.order[id] = Order.ORDERED;
      return true;
    }
    case BtfKind.VOLATILE:
    case BtfKind.CONST:
    case BtfKind.RESTRICT:
    case BtfKind.TYPE_TAG:
      return orderType(s, words[st + 2]!, throughPtr, queue);
    case BtfKind.FUNC_PROTO: {
      let strong = orderType(s, words[st + 2]!, throughPtr, queue);
      const vlen = infoVlen(info);
      for (let i = 0; i < vlen; i++) {
        if (orderType(s, paramType(words, st, i), throughPtr, queue)) strong = true;
      }
      return strong;
    }
    default:
      // FUNC, VAR, DATASEC, DECL_TAG: not part of a C type definition
      s.order[id] = Order.ORDERED;
      return false;
  }
}
