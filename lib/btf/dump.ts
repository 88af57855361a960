/**
 * The C header dumper: BTF → a `vmlinux.h` like `bpftool btf dump file … format c` writes.
 *
 * Phases, per type id in id order: order the type and its dependencies (`order.ts`), then emit the queued
 * definitions (`emit.ts`). Module BTFs continue the same dump on top of the base: base types already written are
 * not repeated, clashing names get `___N` suffixes. Last come `extern … __weak __ksym;` prototypes of the kfuncs
 * (functions carrying a `bpf_kfunc` decl tag), sorted by name, as bpftool ≥ 7.5 writes them.
 *
 * The output is deterministic: the same BTF gives the same bytes.
 */
import { isUtf8 } from 'node:buffer';
import { BpfCompileError, ErrorCode } from '../errors.js';
import type { Btf } from './btf.js';
import { DumpState, Writer } from './dump-state.js';
import { emitType, emitTypeDecl } from './emit.js';
import { orderType } from './order.js';
import { BtfKind } from './types.js';
import { declTagComponent, recordKind } from './table.js';

/** Options of {@link dumpCHeader}. */
export interface DumpCHeaderOptions {
  /** Include-guard macro. Default `__VMLINUX_H__` (what CO-RE programs and bpftool use). */
  readonly guard?: string;
  /**
   * Write `extern <prototype> __weak __ksym;` for every function with a `bpf_kfunc` decl tag, under
   * `#ifndef BPF_NO_KFUNC_PROTOTYPES`, plus the `__ksym`/`__weak`/`__bpf_fastcall` fallback macros — what
   * bpftool ≥ 7.5 writes. Default `true`. With `false` the output has bpftool 7.1's shape.
   */
  readonly kfuncs?: boolean;
  /**
   * Split BTFs (kernel modules) built on `btf`: their own types are appended after the base's, and their kfuncs
   * join the kfunc list. Each must have `btf` as its `base`.
   */
  readonly modules?: readonly Btf[];
  /**
   * Dump only these type ids and what they depend on (like `bpftool btf dump … root_id`); no kfunc block.
   * Default: every type.
   */
  readonly rootIds?: readonly number[];
}

const KFUNC_TAG = 'bpf_kfunc';
const FASTCALL_TAG = 'bpf_fastcall';

const PRELUDE_KFUNC_MACROS = [
  '#ifndef __ksym',
  '#define __ksym __attribute__((section(".ksyms")))',
  '#endif',
  '',
  '#ifndef __weak',
  '#define __weak __attribute__((weak))',
  '#endif',
  '',
  '#ifndef __bpf_fastcall',
  '#if __has_attribute(bpf_fastcall)',
  '#define __bpf_fastcall __attribute__((bpf_fastcall))',
  '#else',
  '#define __bpf_fastcall',
  '#endif',
  '#endif',
  '',
  '',
].join('\n');

/** Order and emit every type id in `[from, count)` (or just `roots`). */
function dumpTypes(s: DumpState, from: number, roots?: readonly number[]): void {
  const ids = roots ?? null;
  const n = ids === null ? s.btf.count - from : ids.length;
  const queue = s.queue;
  for (let i = 0; i < n; i++) {
    const id = ids === null ? from + i : ids[i]!;
    queue.reset();
    orderType(s, id, false, queue);
    for (let q = 0; q < queue.length; q++) emitType(s, queue.ids[q]!, 0);
  }
}

interface Kfunc {
  readonly name: string;
  readonly state: DumpState;
  readonly func: number;
  readonly fastcall: boolean;
}

/** FUNCs of `s.btf`'s own types tagged `bpf_kfunc` (whole-function tags only). */
function collectKfuncs(s: DumpState, from: number, into: Kfunc[]): void {
  const { words, start, count } = s.table;
  const kfuncs: number[] = [];
  const fast = new Set<number>();
  for (let id = from; id < count; id++) {
    const st = start[id]!;
    if (recordKind(words, st) !== BtfKind.DECL_TAG) continue;
    if (declTagComponent(words, st) !== -1) continue;
    const target = words[st + 2]!;
    if (recordKind(words, start[target]!) !== BtfKind.FUNC) continue;
    const tag = s.rawName(id);
    if (tag === KFUNC_TAG) kfuncs.push(target);
    else if (tag === FASTCALL_TAG) fast.add(target);
  }
  for (const func of kfuncs) into.push({ name: s.rawName(func), state: s, func, fastcall: fast.has(func) });
}

function compareKfuncs(a: Kfunc, b: Kfunc): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.func - b.func;
}

/**
 * Write BTF as a C header (`vmlinux.h`).
 *
 * @param btf - The BTF to dump (normally vmlinux).
 * @param opts - See {@link DumpCHeaderOptions}.
 * @returns The header text, starting `#ifndef __VMLINUX_H__`.
 * @throws BpfCompileError `BTF_INVALID` when the types cannot be written as C (impossible cycles, absurd nesting).
 */
export function dumpCHeader(btf: Btf, opts: DumpCHeaderOptions = {}): string {
  return writeCHeader(btf, opts).text();
}

/**
 * {@link dumpCHeader}, as the UTF-8 bytes of the header: what a caller writing it to a file needs, without decoding
 * ~3 MB to a string and encoding it back. The bytes are exactly `Buffer.from(dumpCHeader(btf, opts), 'utf8')`: names
 * are copied from the BTF string table as they are, so when one is not valid UTF-8 the text goes through decoding
 * (its bad bytes become U+FFFD, as in the string).
 *
 * @throws as {@link dumpCHeader}.
 */
export function dumpCHeaderBytes(btf: Btf, opts: DumpCHeaderOptions = {}): Uint8Array {
  const out = writeCHeader(btf, opts);
  const bytes = out.bytes();
  return isUtf8(bytes) ? bytes : Buffer.from(out.text(), 'utf8');
}

function writeCHeader(btf: Btf, opts: DumpCHeaderOptions): Writer {
  const guard = opts.guard ?? '__VMLINUX_H__';
  const withKfuncs = (opts.kfuncs ?? true) && opts.rootIds === undefined;
  const modules = opts.modules ?? [];
  for (const m of modules) {
    if (m.base !== btf) {
      throw new BpfCompileError(ErrorCode.USAGE, 'dumpCHeader: a module BTF was not parsed on top of the BTF being dumped', {
        hint: 'Parse module BTF with parseBtf(data, { base }) using the same base Btf object.',
      });
    }
  }
  // output is proportional to the input; far more means hostile input (e.g. huge padding everywhere)
  let words = btf.table.words.length;
  for (const m of modules) words += m.table.words.length - btf.table.words.length;
  const out = new Writer(64 * 1024 * 1024 + words * 4 * 64);
  out.put(`#ifndef ${guard}\n#define ${guard}\n\n`);
  out.put('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n');
  out.put('#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n');
  out.put('#endif\n\n');
  if (withKfuncs) out.put(PRELUDE_KFUNC_MACROS);
  try {
    const base = new DumpState(btf, out);
    if (opts.rootIds !== undefined) {
      for (const id of opts.rootIds) {
        if (!Number.isInteger(id) || id < 0 || id >= btf.count) {
          throw new BpfCompileError(ErrorCode.USAGE, `dumpCHeader: root type id ${id} does not exist`, { details: { id, count: btf.count } });
        }
      }
      dumpTypes(base, 1, opts.rootIds);
    } else {
      dumpTypes(base, 1);
    }
    const kfuncs: Kfunc[] = [];
    if (withKfuncs) collectKfuncs(base, 1, kfuncs);
    if (opts.rootIds === undefined) {
      for (const m of modules) {
        const ms = base.forSplit(m);
        dumpTypes(ms, m.firstId);
        if (withKfuncs) collectKfuncs(ms, m.firstId, kfuncs);
      }
    }
    if (withKfuncs) {
      kfuncs.sort(compareKfuncs);
      out.put('\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n');
      for (const k of kfuncs) {
        out.put(k.fastcall ? 'extern __bpf_fastcall ' : 'extern ');
        emitTypeDecl(k.state, k.state.table.words[k.state.table.start[k.func]! + 2]!, k.name, 0);
        out.put(' __weak __ksym;\n');
      }
      out.put('#endif\n\n');
    }
  } catch (err) {
    if (err instanceof RangeError) {
      throw new BpfCompileError(ErrorCode.BTF_INVALID, 'BTF types are nested too deeply to write as C', {
        hint: 'The BTF is corrupt or hostile (thousands of nested anonymous types).',
        cause: err,
      });
    }
    throw err;
  }
  out.put('#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n');
  out.put(`#endif /* ${guard} */\n`);
  return out;
}
