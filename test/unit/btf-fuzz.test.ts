import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isBpfCompileError, ErrorCode } from '../../lib/errors.js';
import { dumpCHeader, parseBtf, parseBtfAuto, type Btf } from '../../lib/btf/index.js';
import { BtfBuilder, wrapInElf } from '../helpers/btf-builder.js';
import { prng } from '../helpers/prng.js';

/** A seed blob rich in kinds and cross references. */
function seedBlob(): BtfBuilder {
  const b = new BtfBuilder();
  const i32 = b.int('int', 4, { signed: true });
  const ch = b.int('char', 1, { signed: true, char: true });
  const p = b.ptr(7);
  const arr = b.array(ch, 4, i32);
  const inner = b.union('', 4, [
    { name: 'i', type: i32, bitOffset: 0 },
    { name: 'c', type: arr, bitOffset: 0 },
  ]);
  const en = b.enum(
    '',
    [
      ['A', 1],
      ['B', -2],
    ],
    { signed: true },
  );
  const st = b.struct('node', 24, [
    { name: 'next', type: p, bitOffset: 0 },
    { type: inner, bitOffset: 64 },
    { name: 'e', type: en, bitOffset: 96, bitfieldSize: 3 },
    { name: 'f', type: i32, bitOffset: 128 },
  ]);
  const td = b.typedef('node_t', st);
  const proto = b.funcProto(i32, [{ name: 'n', type: b.ptr(b.const(td)) }, { type: 0 }]);
  const fn = b.func('kf', proto);
  b.declTag('bpf_kfunc', fn);
  b.typeTag('user', b.ptr(b.volatile(i32)));
  b.enum64('big', [['X', 1n << 33n]]);
  b.fwd('opaque');
  b.float('double', 8);
  const v = b.var('g', st);
  b.datasec('.bss', 24, [{ type: v, offset: 0, size: 24 }]);
  return b;
}

/** Use a parsed BTF every way the API allows; only BTF_INVALID may escape. */
function exercise(btf: Btf): void {
  for (const t of btf.types) {
    btf.resolveSize(t.id);
    btf.alignOf(t.id);
    if (t.kind === 'struct' || t.kind === 'union') btf.walkMembers(t.id, { recurse: true });
    if (t.name !== '') btf.findByName(t.name);
  }
  const h = dumpCHeader(btf);
  assert.ok(h.startsWith('#ifndef __VMLINUX_H__'));
}

function check(data: Uint8Array): 'ok' | 'invalid' {
  try {
    exercise(parseBtfAuto(data));
    return 'ok';
  } catch (err) {
    if (isBpfCompileError(err, ErrorCode.BTF_INVALID)) return 'invalid';
    throw new Error(`fuzz input raised a non-BTF_INVALID error: ${String(err)}\ninput: ${Buffer.from(data).toString('hex').slice(0, 400)}`, { cause: err });
  }
}

test('fuzz: random and mutated blobs give BTF_INVALID or a usable result, never another error or a hang', { timeout: 120_000 }, () => {
  const rnd = prng(0xb7f);
  const int = (n: number): number => Math.floor(rnd() * n);
  const seed = seedBlob();
  const le = seed.build();
  const be = seed.build({ endian: 'big' });
  const typeWords = (le.length - 24 - (le.length - 24 - new DataView(le.buffer).getUint32(12, true))) / 4;
  const tally = { ok: 0, invalid: 0 };
  const record = (r: 'ok' | 'invalid'): void => {
    tally[r]++;
  };
  for (let i = 0; i < 4000; i++) {
    const mode = i % 8;
    let data: Uint8Array;
    if (mode === 0) {
      // pure noise, sometimes behind a valid magic/version
      data = Uint8Array.from({ length: int(200) }, () => int(256));
      if (rnd() < 0.5 && data.length >= 4) data.set([0x9f, 0xeb, 1, 0]);
    } else if (mode <= 3) {
      // flip a few bytes anywhere
      data = Uint8Array.from(rnd() < 0.5 ? le : be);
      for (let k = 1 + int(4); k > 0; k--) data[int(data.length)] = int(256);
    } else if (mode <= 6) {
      // structure-aware: set type-section words to small numbers (valid-looking ids, kinds, vlens, offsets)
      data = Uint8Array.from(le);
      const v = new DataView(data.buffer);
      for (let k = 1 + int(3); k > 0; k--) {
        const w = 24 + 4 * int(typeWords);
        const choice = int(4);
        const value = choice === 0 ? int(40) : choice === 1 ? (int(21) << 24) | int(4) : choice === 2 ? ((1 << 31) | (int(20) << 24) | int(3)) >>> 0 : int(0x10000);
        v.setUint32(w, value >>> 0, true);
      }
    } else {
      // truncation or an ELF wrapper around a mutated blob
      data = Uint8Array.from(le);
      data[24 + int(data.length - 24)] = int(256);
      data = rnd() < 0.5 ? data.subarray(0, int(data.length)) : wrapInElf({ '.BTF': data }, { bits: rnd() < 0.5 ? 32 : 64, endian: rnd() < 0.5 ? 'little' : 'big' });
    }
    record(check(data));
  }
  // both outcomes must really happen, or the test proves nothing
  assert.ok(tally.ok > 200, `too few usable results: ${JSON.stringify(tally)}`);
  assert.ok(tally.invalid > 200, `too few rejections: ${JSON.stringify(tally)}`);
});

test('fuzz: split BTF mutations on a fixed base', () => {
  const rnd = prng(42);
  const base = new BtfBuilder();
  const i32 = base.int('int', 4, { signed: true });
  base.struct('sk_buff', 4, [{ name: 'len', type: i32, bitOffset: 0 }]);
  const baseBtf = parseBtf(base.build());
  const mod = new BtfBuilder(base);
  const s = mod.struct('m', 16, [
    { name: 'p', type: mod.count + 1, bitOffset: 0 },
    { name: 'x', type: i32, bitOffset: 64 },
  ]);
  mod.ptr(2);
  mod.typedef('m_t', s);
  const blob = mod.build();
  let ok = 0;
  for (let i = 0; i < 1000; i++) {
    const d = Uint8Array.from(blob);
    d[24 + Math.floor(rnd() * (d.length - 24))] = Math.floor(rnd() * 8);
    try {
      const m = parseBtf(d, { base: baseBtf });
      dumpCHeader(baseBtf, { modules: [m] });
      ok++;
    } catch (err) {
      assert.ok(isBpfCompileError(err, ErrorCode.BTF_INVALID), String(err));
    }
  }
  assert.ok(ok > 50, `only ${ok} usable`);
});
