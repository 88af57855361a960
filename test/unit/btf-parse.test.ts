import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isBpfCompileError, ErrorCode } from '../../lib/errors.js';
import { dumpCHeader, loadBtfFile, parseBtf, parseBtfFromElf, type Btf } from '../../lib/btf/index.js';
import { BtfBuilder, compileC, findClang, wrapInElf } from '../helpers/btf-builder.js';

/** A blob using every kind 1–19. */
function allKinds(): { b: BtfBuilder; ids: Record<string, number> } {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const ch = b.int('char', 1, { signed: true, char: true });
  const ptr = b.ptr(int);
  const arr = b.array(ch, 16, int);
  const st = b.struct('s', 24, [
    { name: 'a', type: int, bitOffset: 0 },
    { name: 'bits', type: int, bitOffset: 32, bitfieldSize: 5 },
    { name: 'p', type: ptr, bitOffset: 64 },
  ]);
  const un = b.union('u', 16, [{ name: 'c', type: arr, bitOffset: 0 }]);
  const en = b.enum(
    'e',
    [
      ['E_NEG', -3],
      ['E_ONE', 1],
    ],
    { signed: true },
  );
  const fwd = b.fwd('later', true);
  const td = b.typedef('s_t', st);
  const vol = b.volatile(int);
  const cst = b.const(vol);
  const rst = b.restrict(ptr);
  const proto = b.funcProto(int, [{ name: 'x', type: int }, { type: 0 }]);
  const fn = b.func('f', proto, 2);
  const v = b.var('g', int, 1);
  const ds = b.datasec('.data', 4, [{ type: v, offset: 0, size: 4 }]);
  const fl = b.float('double', 8);
  const dt = b.declTag('tag', st, 1);
  const tt = b.typeTag('user', int);
  const e64 = b.enum64(
    'e64',
    [
      ['BIG', 1n << 40n],
      ['NEG', -2n],
    ],
    { signed: true },
  );
  return { b, ids: { int, ch, ptr, arr, st, un, en, fwd, td, vol, cst, rst, proto, fn, v, ds, fl, dt, tt, e64 } };
}

function expectInvalid(fn: () => unknown, re?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isBpfCompileError(err, ErrorCode.BTF_INVALID), `expected BTF_INVALID, got ${String(err)}`);
    if (re !== undefined) assert.match(err.message, re);
    return true;
  });
}

test('parses one type of every kind 1–19 into the model', () => {
  const { b, ids } = allKinds();
  const btf = parseBtf(b.build());
  assert.equal(btf.count, 21);
  assert.equal(btf.byteOrder, 'little');
  assert.deepEqual(btf.typeById(0), { kind: 'void', id: 0, name: '' });
  assert.deepEqual(btf.typeById(ids.int!), { kind: 'int', id: 1, name: 'int', size: 4, signed: true, char: false, bool: false, bitOffset: 0, bits: 32 });
  assert.deepEqual(btf.typeById(ids.arr!), { kind: 'array', id: ids.arr, name: '', type: ids.ch, indexType: ids.int, nelems: 16 });
  const s = btf.typeById(ids.st!);
  assert.equal(s?.kind, 'struct');
  if (s?.kind !== 'struct') return;
  assert.deepEqual(s.members, [
    { name: 'a', type: ids.int, bitOffset: 0, bitfieldSize: 0 },
    { name: 'bits', type: ids.int, bitOffset: 32, bitfieldSize: 5 },
    { name: 'p', type: ids.ptr, bitOffset: 64, bitfieldSize: 0 },
  ]);
  assert.deepEqual(btf.typeById(ids.en!), {
    kind: 'enum',
    id: ids.en,
    name: 'e',
    size: 4,
    signed: true,
    values: [
      { name: 'E_NEG', value: -3 },
      { name: 'E_ONE', value: 1 },
    ],
  });
  assert.deepEqual(btf.typeById(ids.e64!), {
    kind: 'enum64',
    id: ids.e64,
    name: 'e64',
    size: 8,
    signed: true,
    values: [
      { name: 'BIG', value: 1n << 40n },
      { name: 'NEG', value: -2n },
    ],
  });
  assert.deepEqual(btf.typeById(ids.fwd!), { kind: 'fwd', id: ids.fwd, name: 'later', fwdKind: 'union' });
  assert.deepEqual(btf.typeById(ids.proto!), {
    kind: 'func_proto',
    id: ids.proto,
    name: '',
    returnType: ids.int,
    params: [
      { name: 'x', type: ids.int },
      { name: '', type: 0 },
    ],
  });
  assert.deepEqual(btf.typeById(ids.fn!), { kind: 'func', id: ids.fn, name: 'f', type: ids.proto, linkage: 'extern' });
  assert.deepEqual(btf.typeById(ids.v!), { kind: 'var', id: ids.v, name: 'g', type: ids.int, linkage: 'global' });
  assert.deepEqual(btf.typeById(ids.ds!), { kind: 'datasec', id: ids.ds, name: '.data', size: 4, vars: [{ type: ids.v, offset: 0, size: 4 }] });
  assert.deepEqual(btf.typeById(ids.dt!), { kind: 'decl_tag', id: ids.dt, name: 'tag', type: ids.st, componentIdx: 1, attribute: false });
  assert.deepEqual(btf.typeById(ids.tt!), { kind: 'type_tag', id: ids.tt, name: 'user', type: ids.int, attribute: false });
  assert.equal(btf.typeById(ids.fl!)?.kind, 'float');
  assert.equal(btf.typeById(ids.rst!)?.kind, 'restrict');
  assert.equal(btf.types.length, btf.count);
  assert.deepEqual(
    btf.types.map((t) => t.kind),
    [
      'void',
      'int',
      'int',
      'ptr',
      'array',
      'struct',
      'union',
      'enum',
      'fwd',
      'typedef',
      'volatile',
      'const',
      'restrict',
      'func_proto',
      'func',
      'var',
      'datasec',
      'float',
      'decl_tag',
      'type_tag',
      'enum64',
    ],
  );
  assert.equal(btf.typeById(999), undefined);
});

test('big-endian blob parses to the same types and dumps the same C', () => {
  const { b } = allKinds();
  const le = parseBtf(b.build());
  const be = parseBtf(b.build({ endian: 'big' }));
  assert.equal(be.byteOrder, 'big');
  assert.deepEqual(be.types, le.types);
  assert.equal(dumpCHeader(be), dumpCHeader(le));
});

test('longer header: hdr_len is honoured, unknown trailing fields tolerated', () => {
  const { b } = allKinds();
  const long = parseBtf(b.build({ hdrLen: 40 }));
  assert.equal(long.header.hdrLen, 40);
  assert.deepEqual(long.types, parseBtf(b.build()).types);
});

test('findByName prefers definitions over fwd; kind filter; findAllByName', () => {
  const b = new BtfBuilder();
  const fwd = b.fwd('thing');
  const int = b.int('int', 4, { signed: true });
  const st = b.struct('thing', 4, [{ name: 'x', type: int, bitOffset: 0 }]);
  b.typedef('thing', st);
  const btf = parseBtf(b.build());
  assert.equal(btf.findByName('thing')?.id, st);
  assert.equal(btf.findByName('thing', 'fwd')?.id, fwd);
  assert.equal(btf.findByName('thing', 'typedef')?.kind, 'typedef');
  assert.equal(btf.findByName('nope'), undefined);
  assert.deepEqual(
    btf.findAllByName('thing').map((t) => t.kind),
    ['fwd', 'struct', 'typedef'],
  );
});

test('walkMembers flattens anonymous members with absolute offsets; recurse option', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const u8 = b.int('unsigned char', 1);
  const inner = b.struct('', 8, [
    { name: 'lo', type: int, bitOffset: 0 },
    { name: 'hi', type: int, bitOffset: 32 },
  ]);
  const un = b.union('', 8, [
    { type: inner, bitOffset: 0 },
    { name: 'raw', type: int, bitOffset: 0 },
  ]);
  const pt = b.struct('point', 8, [
    { name: 'x', type: int, bitOffset: 0 },
    { name: 'y', type: int, bitOffset: 32 },
  ]);
  const outer = b.struct('outer', 24, [
    { name: 'flag', type: u8, bitOffset: 0, bitfieldSize: 3 },
    { type: un, bitOffset: 32 },
    { name: 'pt', type: pt, bitOffset: 96 },
  ]);
  b.typedef('outer_t', outer);
  const btf = parseBtf(b.build());
  const flat = btf.walkMembers('outer').map((m) => [m.path, m.bitOffset, m.byteOffset, m.bitfieldSize]);
  assert.deepEqual(flat, [
    ['flag', 0, 0, 3],
    ['lo', 32, 4, 0],
    ['hi', 64, 8, 0],
    ['raw', 32, 4, 0],
    ['pt', 96, 12, 0],
  ]);
  const deep = btf.walkMembers('outer_t', { recurse: true }).map((m) => [m.path, m.byteOffset]);
  assert.deepEqual(deep.slice(-3), [
    ['pt', 12],
    ['pt.x', 12],
    ['pt.y', 16],
  ]);
  const nested = btf.walkMembers(outer, { flattenAnonymous: false }).map((m) => m.path);
  assert.deepEqual(nested, ['flag', '', 'pt']);
  assert.throws(() => btf.walkMembers(int), TypeError);
});

test('resolveSize and alignOf follow typedefs, arrays and qualifiers; packed layouts align to 1', () => {
  const b = new BtfBuilder();
  const int = b.int('int', 4, { signed: true });
  const long = b.int('long', 8, { signed: true });
  const arr = b.array(b.const(int), 6);
  const td = b.typedef('arr_t', b.array(arr, 2));
  const packed = b.struct('p', 5, [
    { name: 'c', type: b.int('char', 1), bitOffset: 0 },
    { name: 'i', type: int, bitOffset: 8 },
  ]);
  const normal = b.struct('n', 16, [
    { name: 'l', type: long, bitOffset: 0 },
    { name: 'i', type: int, bitOffset: 64 },
  ]);
  const btf = parseBtf(b.build());
  assert.equal(btf.resolveSize(td), 48);
  assert.equal(btf.alignOf(td), 4);
  assert.equal(btf.alignOf(packed), 1);
  assert.equal(btf.alignOf(normal), 8);
  assert.equal(btf.resolveSize(b.count), -1);
  assert.equal(btf.pointerSize, 8);
});

test('split BTF: ids and string offsets continue after the base', () => {
  const base = new BtfBuilder();
  const int = base.int('int', 4, { signed: true });
  const sk = base.struct('sk_buff', 8, [{ name: 'len', type: int, bitOffset: 0 }]);
  const baseBtf = parseBtf(base.build());
  const mod = new BtfBuilder(base);
  const p = mod.ptr(sk);
  const conn = mod.struct('nf_conn', 16, [
    { name: 'skb', type: p, bitOffset: 0 },
    { name: 'mark', type: int, bitOffset: 64 },
  ]);
  assert.equal(p, baseBtf.count);
  const modBtf = parseBtf(mod.build(), { base: baseBtf });
  assert.equal(modBtf.firstId, baseBtf.count);
  assert.equal(modBtf.base, baseBtf);
  assert.equal(modBtf.typeById(conn)?.name, 'nf_conn');
  assert.equal(modBtf.findByName('sk_buff')?.id, sk);
  assert.deepEqual(
    modBtf.walkMembers('nf_conn').map((m) => m.name),
    ['skb', 'mark'],
  );
  // a split blob alone refers to types it does not have
  expectInvalid(() => parseBtf(mod.build()));
  // byte orders must agree
  expectInvalid(() => parseBtf(mod.build({ endian: 'big' }), { base: baseBtf }), /byte order/);
});

test('ELF: .BTF found in ELF64/ELF32 of either byte order; loadBtfFile tells raw from ELF', async () => {
  const { b } = allKinds();
  const ref = parseBtf(b.build()).types;
  for (const bits of [32, 64] as const) {
    for (const endian of ['little', 'big'] as const) {
      const elf = wrapInElf({ '.text': new Uint8Array(8), '.BTF': b.build({ endian }), '.BTF.ext': new Uint8Array(4) }, { bits, endian });
      assert.deepEqual(parseBtfFromElf(elf).types, ref, `ELF${bits} ${endian}`);
    }
  }
  expectInvalid(() => parseBtfFromElf(wrapInElf({ '.text': new Uint8Array(4) })), /no \.BTF/);
  expectInvalid(() => parseBtfFromElf(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 9])));
  const dir = mkdtempSync(path.join(tmpdir(), 'btf-load-'));
  try {
    writeFileSync(path.join(dir, 'raw.btf'), b.build());
    writeFileSync(path.join(dir, 'obj.o'), wrapInElf({ '.BTF': b.build() }));
    assert.deepEqual((await loadBtfFile(path.join(dir, 'raw.btf'))).types, ref);
    assert.deepEqual((await loadBtfFile(path.join(dir, 'obj.o'))).types, ref);
    await assert.rejects(loadBtfFile(path.join(dir, 'missing')), (e: unknown) => isBpfCompileError(e, ErrorCode.INPUT_UNREADABLE));
    writeFileSync(path.join(dir, 'junk'), 'not btf at all');
    await assert.rejects(loadBtfFile(path.join(dir, 'junk')), (e: unknown) => isBpfCompileError(e, ErrorCode.BTF_INVALID) && e.details['path'] !== undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a real clang -g -target bpf object: .BTF with FUNC, VAR, DATASEC parses', (t) => {
  const clang = findClang();
  if (clang === undefined) return t.skip('clang not installed');
  const dir = mkdtempSync(path.join(tmpdir(), 'btf-obj-'));
  try {
    const obj = path.join(dir, 'p.o');
    const src =
      'struct pt { int x; long y; } __attribute__((aligned(16)));\nstruct pt g_pt;\nint counter = 3;\nint __attribute__((section("tp/x"))) prog(void *ctx) { return g_pt.x + counter; }\n';
    const r = compileC(clang, src, {}, ['-g', '-O2'], obj);
    assert.ok(r.ok, r.stderr);
    const btf: Btf = parseBtfFromElf(readFileSync(obj));
    assert.equal(btf.findByName('pt', 'struct')?.kind, 'struct');
    assert.equal(btf.findByName('prog', 'func')?.kind, 'func');
    assert.equal(btf.findByName('counter', 'var')?.kind, 'var');
    assert.ok(btf.types.some((x) => x.kind === 'datasec'));
    assert.deepEqual(
      btf.walkMembers('pt').map((m) => m.byteOffset),
      [0, 8],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed headers and sections are BTF_INVALID with an offset', () => {
  const good = allKinds().b.build();
  const patch = (at: number, bytes: number[]): Uint8Array => {
    const c = Uint8Array.from(good);
    c.set(bytes, at);
    return c;
  };
  expectInvalid(() => parseBtf(new Uint8Array(0)), /too short/);
  expectInvalid(() => parseBtf(patch(0, [0x12, 0x34])), /magic/);
  expectInvalid(() => parseBtf(patch(2, [2])), /version/);
  expectInvalid(() => parseBtf(patch(4, [8, 0, 0, 0])), /header length/);
  expectInvalid(() => parseBtf(patch(4, [0xff, 0xff, 0, 0])), /exceeds/);
  expectInvalid(() => parseBtf(patch(12, [0xff, 0xff, 0xff, 0])), /outside/);
  expectInvalid(() => parseBtf(patch(20, [0xff, 0xff, 0xff, 0])), /outside/);
  expectInvalid(() => parseBtf(patch(12, [2, 0, 0, 0])), /multiple of 4|overlap/);
  try {
    parseBtf(patch(0, [0, 0]));
  } catch (e) {
    assert.ok(isBpfCompileError(e, ErrorCode.BTF_INVALID));
    assert.equal(e.details['offset'], 0);
  }
});

test('every truncation of a valid blob is BTF_INVALID, never another error', () => {
  const good = allKinds().b.build();
  for (let len = 0; len < good.length; len++) {
    expectInvalid(() => parseBtf(good.subarray(0, len)));
  }
  // also with the header's lengths kept consistent: a type section cut mid-record
  const b = allKinds().b;
  const blob = b.build();
  const v = new DataView(blob.buffer);
  const typeLen = v.getUint32(12, true);
  for (let cut = 4; cut < typeLen; cut += 4) {
    const c = Uint8Array.from(blob);
    const cv = new DataView(c.buffer);
    cv.setUint32(12, cut, true);
    // records that happen to end at the cut parse fine (dangling refs are then caught); others are truncated
    try {
      parseBtf(c);
    } catch (e) {
      assert.ok(isBpfCompileError(e, ErrorCode.BTF_INVALID), String(e));
    }
  }
});

test('record-level corruption: unknown kinds, dangling refs, bad names, bad strings, FUNC without proto', () => {
  const mk = (f: (b: BtfBuilder) => void): Uint8Array => {
    const b = new BtfBuilder();
    f(b);
    return b.build();
  };
  for (const kind of [0, 20, 31]) {
    const blob = mk((b) => {
      b.int('int', 4);
      b.raw([0, (kind << 24) >>> 0, 0]);
    });
    expectInvalid(() => parseBtf(blob), new RegExp(`unknown BTF kind ${kind} at byte 40`));
    try {
      parseBtf(blob);
    } catch (e) {
      assert.ok(isBpfCompileError(e));
      assert.equal(e.details['kind'], kind);
      assert.equal(e.details['offset'], 24 + 16);
    }
  }
  // vlen promising more members than bytes left: rejected before anything is allocated
  expectInvalid(() => parseBtf(mk((b) => b.raw([0, ((4 << 24) | 0xffff) >>> 0, 8]))), /truncated BTF struct/);
  expectInvalid(() => parseBtf(mk((b) => b.ptr(7))), /missing type \[7\]/);
  expectInvalid(() => parseBtf(mk((b) => b.struct('s', 4, [{ name: 'm', type: 42, bitOffset: 0 }]))), /member 0 refers to missing/);
  expectInvalid(() => parseBtf(mk((b) => b.raw([9999, 1 << 24, 4, 32]))), /name offset 9999/);
  expectInvalid(() => parseBtf(mk((b) => b.func('f', b.int('int', 4)))), /not a func_proto/);
  expectInvalid(() => parseBtf(mk((b) => b.array(1, 2, 77))), /index type/);
  // string section must end in NUL and start with the empty string
  const blob = mk((b) => b.int('int', 4));
  const noNul = Uint8Array.from(blob);
  noNul[noNul.length - 1] = 0x41;
  expectInvalid(() => parseBtf(noNul), /NUL/);
  const noEmpty = Uint8Array.from(blob);
  noEmpty[24 + 16] = 0x41;
  expectInvalid(() => parseBtf(noEmpty), /empty string/);
});

test('reference cycles not broken by a struct, and absurdly deep chains, are rejected', () => {
  const cyc = new BtfBuilder();
  cyc.const(2);
  cyc.volatile(1);
  expectInvalid(() => parseBtf(cyc.build()), /cycle/);
  const self = new BtfBuilder();
  self.typedef('t', 2);
  self.ptr(1);
  expectInvalid(() => parseBtf(self.build()), /cycle/);
  const proto = new BtfBuilder();
  proto.funcProto(0, [{ type: 2 }]);
  proto.ptr(1);
  expectInvalid(() => parseBtf(proto.build()), /cycle/);
  // a cycle through a struct is fine: struct list { struct list *next; }
  const ok = new BtfBuilder();
  ok.struct('list', 8, [{ name: 'next', type: 2, bitOffset: 0 }]);
  ok.ptr(1);
  assert.equal(parseBtf(ok.build()).count, 3);
  const deep = new BtfBuilder();
  deep.int('int', 4);
  for (let i = 0; i < 5000; i++) deep.const(deep.count - 1);
  expectInvalid(() => parseBtf(deep.build()), /deeper than/);
});
