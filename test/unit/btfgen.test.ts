/**
 * btfgen on handcrafted objects and kernel BTF: the .BTF.ext reader, the BTF writer, relocation matching as libbpf
 * does it (anonymous members, flavours, arrays, bitfields, enums, ambiguity, candidate pruning), what the tailored
 * BTF keeps, and that every relocation takes the same value against the tailored BTF as against the full one.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseBtf, type Btf } from '../../lib/btf/index.js';
import { BtfWriter, btfInfo } from '../../lib/btf/write.js';
import {
  btfgen,
  parseCoreRelos,
  readBpfObject,
  resolveRelos,
  CandidateIndex,
  relocatedNames,
  tailorBtf,
  expandKernelInputs,
  type BpfObjectRelos,
  type ReloOutcome,
} from '../../lib/btfgen/index.js';
import { ReloKindNumber as K } from '../../lib/btfgen/kinds.js';
import { ErrorCode, isBpfCompileError } from '../../lib/errors.js';
import { BtfBuilder, wrapInElf } from '../helpers/btf-builder.js';

interface ReloSpec {
  readonly typeId: number;
  readonly access: string;
  readonly kind: number;
  readonly insn?: number;
}

/** A `.BTF.ext` with one section `sec` holding `relos` (strings go into the object's builder). */
function btfExt(b: BtfBuilder, sec: string, relos: readonly ReloSpec[], o: { recordSize?: number; hdrLen?: number } = {}): Uint8Array {
  const recordSize = o.recordSize ?? 16;
  const hdrLen = o.hdrLen ?? 32;
  const body: number[] = [recordSize, b.str(sec), relos.length];
  relos.forEach((r, i) => {
    body.push((r.insn ?? i) * 8, r.typeId, b.str(r.access), r.kind);
    for (let w = 16; w < recordSize; w += 4) body.push(0);
  });
  const out = new Uint8Array(hdrLen + body.length * 4);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, hdrLen, true);
  if (hdrLen >= 32) {
    v.setUint32(24, 0, true);
    v.setUint32(28, body.length * 4, true);
  }
  body.forEach((w, i) => v.setUint32(hdrLen + i * 4, w, true));
  return out;
}

/** An object: local BTF built by `build`, relocations in section `kprobe/x`. */
function object(build: (b: BtfBuilder) => ReloSpec[]): BpfObjectRelos {
  const b = new BtfBuilder();
  const relos = build(b);
  const ext = btfExt(b, 'kprobe/x', relos);
  return readBpfObject(wrapInElf({ '.BTF': b.build(), '.BTF.ext': ext }), 'test.bpf.o');
}

function resolve(obj: BpfObjectRelos, kernel: Btf): ReloOutcome[] {
  return resolveRelos(obj, kernel, 'kernel', new CandidateIndex(kernel, relocatedNames([obj])));
}

function values(outcomes: readonly ReloOutcome[]): string[] {
  return outcomes.map((o) => (o.value.poison ? 'poison' : String(o.value.value)));
}

/** Tailor, re-parse, and check every relocation takes the same value (type ids: the same-named type). */
function tailorAndCompare(obj: BpfObjectRelos, kernel: Btf): Btf {
  const t = tailorBtf(kernel, 'kernel', [obj]);
  const tailored = parseBtf(t.bytes);
  const full = resolve(obj, kernel);
  const small = resolve(obj, tailored);
  full.forEach((f, i) => {
    const s = small[i]!;
    if (f.relo.kind === K.TYPE_ID_TARGET && !f.value.poison && !s.value.poison && f.value.value !== 0n) {
      assert.equal(tailored.nameOf(Number(s.value.value)), kernel.nameOf(Number(f.value.value)), `relo ${i}: target type id names`);
      assert.equal(tailored.kindOf(Number(s.value.value)), kernel.kindOf(Number(f.value.value)));
    } else {
      assert.deepEqual(s.value, f.value, `relo ${i} (${f.kindName} ${f.access}) takes the same value`);
    }
  });
  return tailored;
}

/** The kernel used by most tests: task with fields inside an anonymous union, bitfields, arrays, enums. */
function kernel(): { btf: Btf; ids: { task: number } } {
  const b = new BtfBuilder();
  const uint = b.int('unsigned int', 4);
  const int = b.int('int', 4, { signed: true });
  const char = b.int('char', 1, { signed: true, char: true });
  const long = b.int('long', 8, { signed: true });
  const pidT = b.typedef('pid_t', int);
  const comm = b.array(char, 16, int);
  const flex = b.array(int, 0, int);
  const taskPtr = b.ptr(0);
  const inner = b.struct('', 8, [
    { name: 'pid', type: pidT, bitOffset: 0 },
    { name: 'tgid', type: pidT, bitOffset: 32 },
  ]);
  const anon = b.union('', 8, [
    { name: '', type: inner, bitOffset: 0 },
    { name: 'both', type: long, bitOffset: 0 },
  ]);
  const task = b.struct('task', 48, [
    { name: 'state', type: long, bitOffset: 0 },
    { name: '', type: anon, bitOffset: 64 },
    { name: 'parent', type: taskPtr, bitOffset: 128 },
    { name: 'in_exec', type: uint, bitOffset: 195, bitfieldSize: 1 },
    { name: 'prio', type: int, bitOffset: 196, bitfieldSize: 5 },
    { name: 'comm', type: comm, bitOffset: 256 },
    { name: 'tail', type: flex, bitOffset: 384 },
  ]);
  b.records[taskPtr - 1]![2] = task;
  b.struct('unrelated', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
  b.enum('state_e', [
    ['S_RUN', 0],
    ['S_SLEEP', 1],
    ['S_DEAD', -1],
  ]);
  b.enum64('big_e', [['BIG', 1n << 40n]], { size: 8 });
  const fn = b.funcProto(int, [{ type: taskPtr }]);
  b.struct('ops', 8, [{ name: 'run', type: b.ptr(fn), bitOffset: 0 }]);
  return { btf: parseBtf(b.build()), ids: { task } };
}

/** The program's view: its own (smaller, reordered) task. */
function localTask(b: BtfBuilder): { task: number } {
  const int = b.int('int', 4, { signed: true });
  const uint = b.int('unsigned int', 4);
  const char = b.int('char', 1, { signed: true, char: true });
  const comm = b.array(char, 16, int);
  const ptr = b.ptr(0);
  const task = b.struct('task', 40, [
    { name: 'tgid', type: int, bitOffset: 0 },
    { name: 'parent', type: ptr, bitOffset: 64 },
    { name: 'comm', type: comm, bitOffset: 128 },
    { name: 'in_exec', type: uint, bitOffset: 256, bitfieldSize: 1 },
    { name: 'prio', type: int, bitOffset: 257, bitfieldSize: 5 },
    { name: 'pid', type: int, bitOffset: 288 },
  ]);
  b.records[ptr - 1]![2] = task;
  return { task };
}

describe('.BTF.ext reader', () => {
  it('reads core_relo records with their section, index and kind, and longer records', () => {
    const b = new BtfBuilder();
    const ext = btfExt(
      b,
      'tp/sched/x',
      [
        { typeId: 3, access: '0:1', kind: K.FIELD_BYTE_OFFSET, insn: 4 },
        { typeId: 5, access: '0', kind: K.TYPE_EXISTS, insn: 9 },
      ],
      { recordSize: 24 },
    );
    const strs = parseBtf(b.build()).strings;
    const relos = parseCoreRelos(ext, (off) => (strs.has(off) ? strs.get(off) : undefined));
    assert.deepEqual(
      relos.map((r) => [r.section, r.index, r.insnOff, r.typeId, strs.get(r.accessStrOff), r.kind]),
      [
        ['tp/sched/x', 0, 32, 3, '0:1', 0],
        ['tp/sched/x', 1, 72, 5, '0', 8],
      ],
    );
  });

  it('an old header without core_relo fields means no relocations', () => {
    const b = new BtfBuilder();
    assert.deepEqual(
      parseCoreRelos(btfExt(b, 's', [], { hdrLen: 24 }).subarray(0, 24), () => 's'),
      [],
    );
  });

  it('rejects bad magic, a truncated subsection, unknown kinds and bad section names with BTF_INVALID', () => {
    const b = new BtfBuilder();
    const good = btfExt(b, 'sec', [{ typeId: 1, access: '0', kind: K.TYPE_SIZE }]);
    const strs = parseBtf(b.build()).strings;
    const name = (off: number): string | undefined => (strs.has(off) ? strs.get(off) : undefined);
    const bad = (bytes: Uint8Array, re: RegExp): void =>
      assert.throws(
        () => parseCoreRelos(bytes, name),
        (e: unknown) => isBpfCompileError(e, ErrorCode.BTF_INVALID) && re.test(e.message),
      );
    const magic = Uint8Array.from(good);
    magic[0] = 0;
    bad(magic, /bad magic/);
    bad(good.subarray(0, good.length - 4), /outside the section|do not fit/);
    const kind = Uint8Array.from(good);
    new DataView(kind.buffer).setUint32(good.length - 4, 99, true);
    bad(kind, /unknown relocation kind 99/);
    const sec = Uint8Array.from(good);
    new DataView(sec.buffer).setUint32(36, 1 << 20, true);
    bad(sec, /section name offset/);
    bad(good.subarray(0, 6), /too short/);
  });

  it('rejects what is not a BPF object', () => {
    const b = new BtfBuilder();
    b.int('int', 4);
    assert.throws(
      () => readBpfObject(Buffer.from('hello'), 'x.o'),
      (e: unknown) => isBpfCompileError(e, ErrorCode.BTF_INVALID) && /not an ELF/.test(e.message),
    );
    assert.throws(
      () => readBpfObject(wrapInElf({ '.text': new Uint8Array(8) }), 'x.o'),
      (e: unknown) => isBpfCompileError(e, ErrorCode.BTF_INVALID) && /no \.BTF/.test(e.message),
    );
    const elf = wrapInElf({ '.BTF': b.build() });
    new DataView(elf.buffer).setUint16(18, 62, true);
    assert.throws(
      () => readBpfObject(elf, 'x.o'),
      (e: unknown) => isBpfCompileError(e, ErrorCode.BTF_INVALID) && /not a BPF object/.test(e.message),
    );
    assert.deepEqual(readBpfObject(wrapInElf({ '.BTF': b.build() }), 'x.o').relos, []);
  });
});

describe('BTF writer', () => {
  it('writes records that parse back, in either byte order, with shared string suffixes', () => {
    for (const order of ['little', 'big'] as const) {
      const w = new BtfWriter();
      const int = w.add([w.string('int'), btfInfo(1), 4, (1 << 24) | 32]);
      const st = w.add([w.string('task'), btfInfo(4, 2), 8, w.string('tgid'), int, 0, w.string('old_pid'), int, 32]);
      w.add([0, btfInfo(2), st]);
      w.add([w.string('e'), btfInfo(6, 1), 4, w.string('E_PID'), 7]);
      const bytes = w.toBytes(order);
      const btf = parseBtf(bytes);
      assert.equal(btf.byteOrder, order);
      assert.equal(btf.count, 5);
      const task = btf.typeById(2);
      assert.ok(task?.kind === 'struct');
      assert.deepEqual(
        task.members.map((m) => [m.name, m.type, m.bitOffset]),
        [
          ['tgid', 1, 0],
          ['old_pid', 1, 32],
        ],
      );
      const e = btf.typeById(4);
      assert.equal(e?.kind === 'enum' ? e.values[0]?.name : undefined, 'E_PID');
      assert.equal(btf.typeById(3)?.kind === 'ptr' && btf.typeById(3)?.name, '');
      // a string that ends another one ('pid' of 'old_pid') points into it
      const w2 = new BtfWriter();
      w2.add([w2.string('old_pid'), btfInfo(1), 4, 32]);
      w2.add([w2.string('pid'), btfInfo(1), 4, 32]);
      const two = parseBtf(w2.toBytes(order));
      assert.equal(two.header.strLen, Buffer.byteLength('\0old_pid\0'));
      assert.deepEqual([two.nameOf(1), two.nameOf(2)], ['old_pid', 'pid']);
      assert.equal(btf.header.strLen, Buffer.byteLength('\0int\0task\0tgid\0old_pid\0e\0E_PID\0'));
    }
  });

  it('an empty BTF (nothing relocated) is valid', () => {
    const btf = parseBtf(new BtfWriter().toBytes());
    assert.equal(btf.count, 1);
    assert.equal(btf.header.typeLen, 0);
  });

  it('refuses records whose length does not fit their kind', () => {
    const w = new BtfWriter();
    assert.throws(() => w.add([0, btfInfo(4, 2), 8, 0, 1, 0]), RangeError);
    assert.throws(() => w.add([99, btfInfo(1), 4, 32]), RangeError);
  });
});

describe('relocations resolved as libbpf does', () => {
  const { btf: kern, ids } = kernel();

  it("finds a field through the kernel's anonymous union and struct, and keeps only that path", () => {
    const obj = object((b) => {
      const l = localTask(b);
      return [{ typeId: l.task, access: '0:0', kind: K.FIELD_BYTE_OFFSET }];
    });
    const [o] = resolve(obj, kern);
    assert.deepEqual(o!.target?.raw, [0, 1, 0, 1], 'task → (anon union) → (anon struct) → tgid');
    assert.equal(o!.target?.bitOffset, 64 + 32);
    assert.deepEqual(values([o!]), ['12']);
    const t = tailorAndCompare(obj, kern);
    const task = t.findByName('task', 'struct');
    assert.ok(task?.kind === 'struct');
    assert.deepEqual(
      task.members.map((m) => m.name),
      [''],
      'only the anonymous member leading to tgid',
    );
    assert.equal(t.types.filter((x) => x.kind === 'union').length, 1);
    assert.equal(t.findByName('unrelated'), undefined);
  });

  it('computes bitfield relocations (byte_sz, lshift, rshift, signed) like libbpf', () => {
    const obj = object((b) => {
      const l = localTask(b);
      return [K.FIELD_BYTE_OFFSET, K.FIELD_BYTE_SIZE, K.FIELD_LSHIFT_U64, K.FIELD_RSHIFT_U64, K.FIELD_SIGNED].flatMap((kind) => [
        { typeId: l.task, access: '0:3', kind },
        { typeId: l.task, access: '0:4', kind },
      ]);
    });
    // in_exec: bit 195 (1 bit, unsigned) → 4-byte load at 24: lshift 64-(195+1-192)=60; prio: bits 196..200, signed
    assert.deepEqual(values(resolve(obj, kern)), ['24', '24', '4', '4', '60', '55', '63', '59', '0', '1']);
    tailorAndCompare(obj, kern);
  });

  it('follows array indexes, accepts a flexible array, refuses an index past the end', () => {
    const obj = object((b) => {
      const int = b.int('int', 4, { signed: true });
      const char = b.int('char', 1, { signed: true });
      const arr = b.array(char, 32, int);
      const flex = b.array(int, 0, int);
      const task = b.struct('task', 64, [
        { name: 'comm', type: arr, bitOffset: 0 },
        { name: 'tail', type: flex, bitOffset: 256 },
      ]);
      return [
        { typeId: task, access: '0:0:3', kind: K.FIELD_BYTE_OFFSET },
        { typeId: task, access: '0:1:5', kind: K.FIELD_BYTE_OFFSET },
        { typeId: task, access: '0:0:20', kind: K.FIELD_EXISTS },
        { typeId: task, access: '1:0', kind: K.FIELD_BYTE_OFFSET },
      ];
    });
    const out = resolve(obj, kern);
    assert.deepEqual(values(out), ['35', '68', '0', '80'], 'comm[3] at 32+3; tail[5] at 48+20; comm[20] does not fit 16; task[1].comm');
    tailorAndCompare(obj, kern);
  });

  it('a flavour (___old) matches the kernel type; a field it lacks is 0 for field_exists and poisons the read', () => {
    const obj = object((b) => {
      const long = b.int('long', 8, { signed: true });
      const old = b.struct('task___old', 8, [{ name: 'gone', type: long, bitOffset: 0 }]);
      const okf = b.struct('task___new', 8, [{ name: 'state', type: long, bitOffset: 0 }]);
      return [
        { typeId: old, access: '0:0', kind: K.FIELD_EXISTS },
        { typeId: old, access: '0:0', kind: K.FIELD_BYTE_OFFSET },
        { typeId: okf, access: '0:0', kind: K.FIELD_EXISTS },
      ];
    });
    const out = resolve(obj, kern);
    assert.deepEqual(values(out), ['0', 'poison', '1']);
    const t = tailorBtf(kern, 'kernel', [obj]);
    assert.deepEqual(
      t.unresolved.map((u) => [u.kind, u.outcome]),
      [
        ['field_exists', 'zero'],
        ['byte_off', 'poisoned'],
      ],
    );
    tailorAndCompare(obj, kern);
  });

  it('refuses incompatible field types (an int where the kernel has a struct) as not matching', () => {
    const obj = object((b) => {
      const int = b.int('int', 4, { signed: true });
      const task = b.struct('task', 8, [{ name: 'comm', type: int, bitOffset: 0 }]);
      return [{ typeId: task, access: '0:0', kind: K.FIELD_EXISTS }];
    });
    assert.deepEqual(values(resolve(obj, kern)), ['0']);
  });

  it('type relocations: exists, size, target id; the type is kept without members, pointers followed', () => {
    const obj = object((b) => {
      const l = localTask(b);
      const missing = b.struct('nope', 4, []);
      const ops = b.struct('ops', 8, []);
      return [
        { typeId: l.task, access: '0', kind: K.TYPE_EXISTS },
        { typeId: l.task, access: '0', kind: K.TYPE_SIZE },
        { typeId: l.task, access: '0', kind: K.TYPE_ID_TARGET },
        { typeId: missing, access: '0', kind: K.TYPE_EXISTS },
        { typeId: missing, access: '0', kind: K.TYPE_SIZE },
        { typeId: ops, access: '0', kind: K.TYPE_ID_LOCAL },
      ];
    });
    assert.deepEqual(values(resolve(obj, kern)), ['1', '48', String(ids.task), '0', '0', String(obj.btf.count - 1)]);
    const t = tailorAndCompare(obj, kern);
    const task = t.findByName('task', 'struct');
    assert.ok(task?.kind === 'struct' && task.members.length === 0, 'type relocations keep no members');
    assert.equal(t.findByName('ops'), undefined, 'local_type_id needs no kernel type');
  });

  it('enum relocations keep the whole enum; values of ENUM (sign-extended) and ENUM64', () => {
    const obj = object((b) => {
      const e = b.enum('state_e___mine', [
        ['S_DEAD', 5],
        ['S_GONE', 6],
      ]);
      const e64 = b.enum64('big_e', [['BIG', 0n]], { size: 8 });
      return [
        { typeId: e, access: '0', kind: K.ENUMVAL_VALUE },
        { typeId: e, access: '0', kind: K.ENUMVAL_EXISTS },
        { typeId: e, access: '1', kind: K.ENUMVAL_EXISTS },
        { typeId: e, access: '1', kind: K.ENUMVAL_VALUE },
        { typeId: e64, access: '0', kind: K.ENUMVAL_VALUE },
      ];
    });
    assert.deepEqual(values(resolve(obj, kern)), ['-1', '1', '0', 'poison', String(1n << 40n)]);
    const t = tailorAndCompare(obj, kern);
    const e = t.findByName('state_e');
    assert.ok(e?.kind === 'enum' && e.values.length === 3);
  });

  it('type_matches keeps members and stops at composites behind pointers', () => {
    const obj = object((b) => {
      const int = b.int('int', 4, { signed: true });
      const proto = b.funcProto(int, [{ type: b.ptr(b.fwd('task')) }]);
      const ops = b.struct('ops', 8, [{ name: 'run', type: b.ptr(proto), bitOffset: 0 }]);
      return [{ typeId: ops, access: '0', kind: K.TYPE_MATCHES }];
    });
    assert.deepEqual(values(resolve(obj, kern)), ['1']);
    const t = tailorAndCompare(obj, kern);
    const ops = t.findByName('ops');
    assert.ok(ops?.kind === 'struct' && ops.members.length === 1);
    const task = t.findByName('task', 'struct');
    assert.ok(task?.kind === 'struct' && task.members.length === 0, 'task behind a pointer: kept, not expanded');
  });

  it('hostile kernel BTF: structs nesting each other by value do not hang or overflow type_matches', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    const a = b.struct('ring', 8, [{ name: 'x', type: int, bitOffset: 0 }]);
    const c = b.struct('other', 8, [{ name: 'r', type: a, bitOffset: 0 }]);
    b.records[a - 1]!.push(b.str('o'), c, 32);
    b.records[a - 1]![1] = (4 << 24) | 2;
    const k = parseBtf(b.build());
    const obj = object((o) => {
      const i = o.int('int', 4, { signed: true });
      return [{ typeId: o.struct('ring', 8, [{ name: 'x', type: i, bitOffset: 0 }]), access: '0', kind: K.TYPE_MATCHES }];
    });
    assert.deepEqual(values(resolve(obj, k)), ['1']);
    const t = parseBtf(tailorBtf(k, 'k', [obj]).bytes);
    assert.deepEqual(
      t.types.slice(1).map((x) => x.name),
      ['int', 'ring', 'other'],
    );
  });

  it('hostile BTF: type_matches on self-containing structs stops at a work budget with CORE_RELOCATION', { timeout: 60_000 }, () => {
    const selfish = (b: BtfBuilder): number => {
      const id = b.struct('knot', 8, []);
      const rec = b.records[id - 1]!;
      for (let i = 0; i < 12; i++) rec.push(b.str('m'), id, 0);
      rec[1] = (4 << 24) | 12;
      return id;
    };
    const kb = new BtfBuilder();
    selfish(kb);
    const k = parseBtf(kb.build());
    const obj = object((o) => [{ typeId: selfish(o), access: '0', kind: K.TYPE_MATCHES }]);
    assert.throws(
      () => resolve(obj, k),
      (e: unknown) => isBpfCompileError(e, ErrorCode.CORE_RELOCATION),
    );
  });

  it('a relocation ambiguous between two kernel candidates is CORE_RELOCATION; agreeing duplicates are fine and pruned', () => {
    const b = new BtfBuilder();
    const int = b.int('int', 4, { signed: true });
    b.struct('dup', 8, [{ name: 'x', type: int, bitOffset: 0 }]);
    b.struct('dup', 8, [{ name: 'x', type: int, bitOffset: 32 }]);
    b.struct('same', 8, [{ name: 'y', type: int, bitOffset: 32 }]);
    b.struct('same', 8, [
      { name: 'y', type: int, bitOffset: 32 },
      { name: 'z', type: int, bitOffset: 0 },
    ]);
    const k2 = parseBtf(b.build());
    const amb = object((o) => {
      const i = o.int('int', 4, { signed: true });
      return [{ typeId: o.struct('dup', 8, [{ name: 'x', type: i, bitOffset: 0 }]), access: '0:0', kind: K.FIELD_BYTE_OFFSET }];
    });
    assert.throws(
      () => resolve(amb, k2),
      (e: unknown) => isBpfCompileError(e, ErrorCode.CORE_RELOCATION) && /ambiguity/.test(e.message) && e.details['index'] === 0,
    );
    const ok = object((o) => {
      const i = o.int('int', 4, { signed: true });
      const same = o.struct('same', 8, [
        { name: 'y', type: i, bitOffset: 0 },
        { name: 'z', type: i, bitOffset: 32 },
      ]);
      return [
        { typeId: same, access: '0:0', kind: K.FIELD_BYTE_OFFSET },
        { typeId: same, access: '0:1', kind: K.FIELD_BYTE_OFFSET },
      ];
    });
    // y matches both candidates (same offset); z exists only in the second, which pruning keeps
    assert.deepEqual(values(resolve(ok, k2)), ['4', '0']);
    // bpftool would keep only the first candidate of `y`, so z's candidate list would shrink to it and z would be
    // poisoned against the tailored BTF; both matching candidates are kept, and z relocates as with the full BTF
    const t = tailorAndCompare(ok, k2);
    assert.equal(t.findAllByName('same').length, 2);
  });

  it('malformed access strings and anonymous roots are CORE_RELOCATION naming the object, section and relocation', () => {
    for (const [access, re] of [
      ['0:9', /member 9/],
      ['x', /bad access string/],
      ['', /empty access string/],
    ] as const) {
      const obj = object((b) => {
        const l = localTask(b);
        return [{ typeId: l.task, access, kind: K.FIELD_BYTE_OFFSET }];
      });
      assert.throws(
        () => resolve(obj, kern),
        (e: unknown) => isBpfCompileError(e, ErrorCode.CORE_RELOCATION) && re.test(e.message) && /kprobe\/x relo #0/.test(e.message) && e.details['object'] === 'test.bpf.o',
      );
    }
    const anon = object((b) => {
      const int = b.int('int', 4);
      return [{ typeId: b.struct('', 4, [{ name: 'a', type: int, bitOffset: 0 }]), access: '0:0', kind: K.FIELD_BYTE_OFFSET }];
    });
    assert.throws(
      () => resolve(anon, kern),
      (e: unknown) => isBpfCompileError(e, ErrorCode.CORE_RELOCATION) && /anonymous/.test(e.message),
    );
  });
});

describe('btfgen() with files', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-btfgen-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('mirrors a directory tree, writes one file per kernel, and reports a broken kernel without writing it', async () => {
    const b = new BtfBuilder();
    const l = localTask(b);
    const ext = btfExt(b, 'kprobe/x', [{ typeId: l.task, access: '0:1', kind: K.FIELD_BYTE_OFFSET }]);
    const obj = path.join(tmp, 'p.bpf.o');
    fs.writeFileSync(obj, wrapInElf({ '.BTF': b.build(), '.BTF.ext': ext }));
    const tree = path.join(tmp, 'hub');
    fs.mkdirSync(path.join(tree, 'distro/1.0/x86_64'), { recursive: true });
    const kb = new BtfBuilder();
    const kInt = kb.int('int', 4, { signed: true });
    const kPtr = kb.ptr(0);
    const kTask = kb.struct('task', 16, [
      { name: 'x', type: kInt, bitOffset: 0 },
      { name: 'parent', type: kPtr, bitOffset: 64 },
    ]);
    kb.records[kPtr - 1]![2] = kTask;
    fs.writeFileSync(path.join(tree, 'distro/1.0/x86_64/5.4.0-1.btf'), kb.build());
    fs.writeFileSync(path.join(tree, 'distro/1.0/x86_64/5.4.0-2.btf'), Buffer.from('not btf'));
    fs.writeFileSync(path.join(tree, 'distro/1.0/x86_64/README'), 'ignored');
    const out = path.join(tmp, 'out');
    const r = await btfgen({ objects: [obj], btf: [tree], outDir: out });
    assert.equal(r.ok, false);
    assert.equal(r.kernels.length, 2);
    const [good, bad] = r.kernels;
    assert.ok(good?.ok);
    assert.equal(good.output, path.join(out, 'distro/1.0/x86_64/5.4.0-1.btf'));
    assert.equal(good.types, 2, 'task (one member) and the pointer');
    assert.ok(bad !== undefined && !bad.ok && bad.error.code === ErrorCode.BTF_INVALID);
    assert.deepEqual(fs.readdirSync(path.join(out, 'distro/1.0/x86_64')), ['5.4.0-1.btf']);
    const t = parseBtf(fs.readFileSync(good.output));
    assert.deepEqual(
      t.types.map((x) => x.kind),
      ['void', 'ptr', 'struct'],
    );
  });

  it('a rerun skips kernels whose input, objects and output are unchanged, and redoes the rest', async () => {
    const b = new BtfBuilder();
    const l = localTask(b);
    const obj = path.join(tmp, 'u.bpf.o');
    const ext = btfExt(b, 'kprobe/x', [{ typeId: l.task, access: '0:0', kind: K.FIELD_BYTE_OFFSET }]);
    const objBytes = wrapInElf({ '.BTF': b.build(), '.BTF.ext': ext });
    fs.writeFileSync(obj, objBytes);
    const dir = path.join(tmp, 'kernels');
    fs.mkdirSync(dir);
    const kb = new BtfBuilder();
    const kInt = kb.int('int', 4, { signed: true });
    kb.struct('task', 8, [{ name: 'tgid', type: kInt, bitOffset: 32 }]);
    for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(dir, `${n}.btf`), kb.build());
    const out = path.join(tmp, 'u-out');
    const run = async (force = false): Promise<string[]> => {
      const r = await btfgen({ objects: [obj], btf: [dir], outDir: out, force });
      return r.kernels.map((k) => (k.ok ? `${path.basename(k.output)}:${k.upToDate ? 'kept' : 'made'}` : 'failed'));
    };
    assert.deepEqual(await run(), ['a.btf:made', 'b.btf:made', 'c.btf:made']);
    const first = fs.readFileSync(path.join(out, 'a.btf'));
    assert.deepEqual(await run(), ['a.btf:kept', 'b.btf:kept', 'c.btf:kept']);
    // a changed input, a damaged output: only those are made again
    const bBtf = path.join(dir, 'b.btf');
    fs.utimesSync(bBtf, new Date(), new Date(Date.now() + 5000));
    fs.appendFileSync(path.join(out, 'c.btf'), 'x');
    assert.deepEqual(await run(), ['a.btf:kept', 'b.btf:made', 'c.btf:made']);
    assert.deepEqual(fs.readFileSync(path.join(out, 'c.btf')), first);
    assert.deepEqual(await run(true), ['a.btf:made', 'b.btf:made', 'c.btf:made']);
    // another object set, or a torn state file: everything again
    fs.writeFileSync(obj, Buffer.concat([objBytes, Buffer.alloc(8)]));
    assert.deepEqual(await run(), ['a.btf:made', 'b.btf:made', 'c.btf:made']);
    fs.writeFileSync(path.join(out, '.btfgen-state.json'), '{"format":1,');
    assert.deepEqual(await run(), ['a.btf:made', 'b.btf:made', 'c.btf:made']);
    assert.deepEqual(await run(), ['a.btf:kept', 'b.btf:kept', 'c.btf:kept']);
  });

  it('refuses inputs that would be written to the same file, and directories without BTF', () => {
    const a = path.join(tmp, 'a');
    const c = path.join(tmp, 'c');
    fs.mkdirSync(a);
    fs.mkdirSync(c);
    fs.writeFileSync(path.join(a, 'k.btf'), '');
    fs.writeFileSync(path.join(c, 'k.btf.tar.xz'), '');
    assert.throws(
      () => expandKernelInputs([path.join(a, 'k.btf'), path.join(c, 'k.btf.tar.xz')]),
      (e: unknown) => isBpfCompileError(e, ErrorCode.USAGE) && /both be written as k\.btf/.test(e.message),
    );
    fs.mkdirSync(path.join(tmp, 'empty'));
    assert.throws(
      () => expandKernelInputs([path.join(tmp, 'empty')]),
      (e: unknown) => isBpfCompileError(e, ErrorCode.USAGE),
    );
    assert.throws(
      () => expandKernelInputs([path.join(tmp, 'missing')]),
      (e: unknown) => isBpfCompileError(e, ErrorCode.INPUT_UNREADABLE),
    );
  });
});
