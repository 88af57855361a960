/**
 * Resolving an object's CO-RE relocations against one kernel's BTF the way libbpf does at load time
 * (`bpf_core_calc_relo_insn` driven by `bpf_object__relocate_core`):
 *
 * 1. candidates for a local type are the kernel types of a compatible kind whose essential name (flavour suffix
 *    `___x` dropped) is the same, in id order ({@link CandidateIndex});
 * 2. each candidate is matched against the local spec; the first match gives the target spec, and every other
 *    match must give the same bit offset and value, else the relocation is ambiguous (libbpf refuses the load);
 * 3. the matching candidates replace the list for the next relocation of the same local type (libbpf prunes its
 *    per-object candidate cache this way, which decides which candidate later relocations see first);
 * 4. no match: the relocation takes its "missing" value — 0 for the existence/size/id kinds, a poisoned
 *    instruction otherwise.
 */
import type { Btf } from '../btf/btf.js';
import { infoKind, nameOffOf } from '../btf/table.js';
import { BtfKind } from '../btf/types.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { CalcError, reloValue, sameValue, type ReloValue } from './calc.js';
import { essentialName, kindAt, kindsCoreCompat } from './compat.js';
import type { CoreRelo } from './ext.js';
import { ReloKindNumber, RELO_KINDS } from './kinds.js';
import type { BpfObjectRelos } from './object.js';
import { formatSpec, matchSpec, parseLocalSpec, SpecError, type CoreSpec } from './spec.js';

/** One relocation's outcome against one kernel. */
export interface ReloOutcome {
  readonly relo: CoreRelo;
  /** The local type's name (`task_struct`, `task_struct___old`). */
  readonly typeName: string;
  /** libbpf's kind name (`byte_off`, …). */
  readonly kindName: string;
  /** The access as libbpf prints it, in the object's types (`task_struct.real_parent (0:61 @ offset 1280)`). */
  readonly access: string;
  /** The kernel spec the value comes from (the first matching candidate); `undefined` when none matched. */
  readonly target: CoreSpec | undefined;
  /** Every matching candidate's spec (the first is `target`): all agree, and all stay candidates for later relocations. */
  readonly matches: readonly CoreSpec[];
  /** The value libbpf patches in. */
  readonly value: ReloValue;
}

/** Functions, variables, sections and tags are never relocation candidates. */
function isCandidateKind(kind: number): boolean {
  return kind !== BtfKind.FUNC && kind !== BtfKind.VAR && kind !== BtfKind.DATASEC && kind !== BtfKind.DECL_TAG;
}

/** Kernel type ids by essential name, for the names some object relocates against (one scan of the kernel BTF). */
export class CandidateIndex {
  readonly #kernel: Btf;
  readonly #ids = new Map<string, number[]>();

  /** Index `kernel` for the essential `names` (the root type names of the relocations to resolve). */
  constructor(kernel: Btf, names: Iterable<string>) {
    this.#kernel = kernel;
    for (const n of names) this.#ids.set(n, []);
    if (kernel.base === undefined) this.#byOffsets();
    else this.#byNames();
  }

  /**
   * Index without reading every name: find where each wanted name lies in the string table — as a whole string
   * (`name\0`), or as the essential part before a flavour separator (`name___x`, libbpf's `X___Y` rule, last one per
   * string) — then match types by name offset. A string table has few flavoured names, so this is a few native
   * searches and one pass over the type records.
   */
  #byOffsets(): void {
    const own = this.#kernel.strings.ownBytes;
    const bytes = Buffer.from(own.buffer, own.byteOffset, own.byteLength);
    const seps: number[] = [];
    for (let at = bytes.indexOf('___'); at >= 0; at = bytes.indexOf('___', at + 1)) {
      const before = bytes[at - 1];
      const after = bytes[at + 3];
      if (before === undefined || before === 0x5f || before === 0 || after === 0x5f || after === 0 || after === undefined) continue;
      const last = seps[seps.length - 1];
      if (last !== undefined && bytes.indexOf(0, last) > at) seps[seps.length - 1] = at - 1;
      else seps.push(at - 1);
    }
    const lists: number[][] = [];
    // slot[off] = 1 + index in `lists` of the essential name of the string at offset `off`
    const slot = new Uint16Array(bytes.length);
    for (const [name, list] of this.#ids) {
      if (name === '' || lists.length === 0xfffe) continue;
      lists.push(list);
      const needle = Buffer.from(`${name}\0`, 'utf8');
      for (let at = bytes.indexOf(needle); at >= 0; at = bytes.indexOf(needle, at + 1)) slot[at] = lists.length;
      const len = needle.length - 1;
      for (const i of seps) {
        const q = i + 1 - len;
        if (q >= 0 && bytes.compare(needle, 0, len, q, i + 1) === 0) slot[q] = lists.length;
      }
    }
    const { words, start, count } = this.#kernel.table;
    for (let id = 1; id < count; id++) {
      const st = start[id]!;
      const s = slot[words[st]!]!;
      if (s !== 0 && isCandidateKind(infoKind(words[st + 1]!))) lists[s - 1]!.push(id);
    }
  }

  #byNames(): void {
    const kernel = this.#kernel;
    const strings = kernel.strings;
    const table = kernel.table;
    for (let id = 1; id < kernel.count; id++) {
      const off = nameOffOf(table, id);
      if (off === 0 || !isCandidateKind(kindAt(kernel, id))) continue;
      const list = this.#ids.get(essentialName(strings.get(off)));
      if (list !== undefined) list.push(id);
    }
  }

  /** Candidates for local type `localId` of `local` (`bpf_core_add_cands`), in id order. */
  candidates(local: Btf, localId: number): number[] {
    const all = this.#ids.get(essentialName(local.strings.get(nameOffOf(local.table, localId)))) ?? [];
    const lk = kindAt(local, localId);
    return all.filter((id) => kindsCoreCompat(kindAt(this.#kernel, id), lk));
  }
}

/** The essential names of the local root types of these objects' relocations (for {@link CandidateIndex}). */
export function relocatedNames(objects: readonly BpfObjectRelos[]): Set<string> {
  const names = new Set<string>();
  for (const o of objects) {
    for (const r of o.relos) if (r.typeId > 0 && r.typeId < o.btf.count) names.add(essentialName(o.btf.nameOf(r.typeId)));
  }
  return names;
}

function failure(obj: BpfObjectRelos, kernelName: string, relo: CoreRelo, message: string): BpfCompileError {
  return new BpfCompileError(ErrorCode.CORE_RELOCATION, `${obj.path}: ${relo.section} relo #${relo.index}: ${message} (kernel BTF ${kernelName})`, {
    hint: 'libbpf would refuse to load this object on that kernel too; fix the access in the program (e.g. a flavour type ___x) and rebuild.',
    details: { object: obj.path, kernel: kernelName, section: relo.section, index: relo.index },
  });
}

/**
 * Resolve every CO-RE relocation of `obj` against `kernel`.
 *
 * @throws BpfCompileError `CORE_RELOCATION` when a relocation is malformed, ambiguous, or cannot be computed —
 *   the cases where libbpf fails the whole load.
 */
export function resolveRelos(obj: BpfObjectRelos, kernel: Btf, kernelName: string, index: CandidateIndex): ReloOutcome[] {
  const cands = new Map<number, number[]>();
  const out: ReloOutcome[] = [];
  for (const relo of obj.relos) {
    const local = obj.btf;
    const kindName = RELO_KINDS[relo.kind]!.name;
    if (relo.typeId <= 0 || relo.typeId >= local.count) throw failure(obj, kernelName, relo, `type id ${relo.typeId} is not in the object's BTF`);
    if (!local.strings.has(relo.accessStrOff)) throw failure(obj, kernelName, relo, `access string offset ${relo.accessStrOff} is not in the object's BTF`);
    const typeName = local.nameOf(relo.typeId);
    let spec: CoreSpec;
    try {
      spec = parseLocalSpec(local, relo.typeId, relo.kind, local.strings.get(relo.accessStrOff));
    } catch (err) {
      if (err instanceof SpecError) throw failure(obj, kernelName, relo, `${kindName} on [${relo.typeId}] ${typeName || '<anon>'}: ${err.message}`);
      throw err;
    }
    const access = formatSpec(spec, typeName || '<anon>');
    try {
      if (relo.kind === ReloKindNumber.TYPE_ID_LOCAL) {
        out.push({ relo, typeName, kindName, access, target: undefined, matches: [], value: reloValue(relo.kind, spec) });
        continue;
      }
      if (typeName === '') throw failure(obj, kernelName, relo, `${kindName} relocations of anonymous types are not supported by libbpf`);
      let list = cands.get(relo.typeId);
      if (list === undefined) {
        list = index.candidates(local, relo.typeId);
        cands.set(relo.typeId, list);
      }
      const kept: number[] = [];
      const matches: CoreSpec[] = [];
      let target: CoreSpec | undefined;
      let value: ReloValue | undefined;
      for (const id of list) {
        const m = matchSpec(spec, kernel, id);
        if (m === -1) throw failure(obj, kernelName, relo, `error matching candidate [${id}] ${kernel.nameOf(id)} (nesting too deep)`);
        if (m === null) continue;
        const v = reloValue(relo.kind, m);
        if (target === undefined) {
          target = m;
          value = v;
        } else if (m.bitOffset !== target.bitOffset) {
          throw failure(
            obj,
            kernelName,
            relo,
            `${access}: field offset ambiguity between kernel types [${target.rootTypeId}] and [${id}]: ${m.bitOffset} != ${target.bitOffset} bits`,
          );
        } else if (!sameValue(v, value!)) {
          throw failure(obj, kernelName, relo, `${access}: relocation decision ambiguity between kernel types [${target.rootTypeId}] and [${id}]`);
        }
        kept.push(id);
        matches.push(m);
      }
      if (kept.length > 0) cands.set(relo.typeId, kept);
      // libbpf computes the local side too (and fails on what it cannot compute); the value is the target's.
      reloValue(relo.kind, spec);
      out.push({ relo, typeName, kindName, access, target, matches, value: value ?? reloValue(relo.kind, undefined) });
    } catch (err) {
      if (err instanceof CalcError) throw failure(obj, kernelName, relo, `${access}: ${err.message}`);
      throw err;
    }
  }
  return out;
}
