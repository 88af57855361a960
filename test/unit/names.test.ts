// lib/system/names.ts: record-file names without node:crypto, random temp suffixes from the kernel.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nameHash, randomHex } from '../../lib/system/names.js';

test('nameHash: 32 hex digits, the same in every process and version (record files on disk are named by it)', () => {
  // pinned: a change of the function would orphan every record of every cache (each costs one recomputation)
  assert.equal(nameHash(''), 'ab3e7c0bbd0199a4de149fd46a118ac4');
  assert.equal(nameHash('/sys/kernel/kheaders.tar.xz'), '6c145a3efbad866f031d2310c2a41550');
  assert.equal(nameHash('/usr/bin/clang'), 'd1a7e7e3e1b7e3e56fa72883891f71e0');
  assert.match(nameHash('/ünïcødé/✓/path'), /^[0-9a-f]{32}$/);
});

test('nameHash: spreads names that differ in one character, anywhere, or only in length', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 50_000; i++) seen.add(nameHash(`/var/lib/bpf-compile/sources/p${i}.tar.xz`).slice(0, 12));
  assert.equal(seen.size, 50_000, 'no two of 50,000 similar paths share even the first 48 bits');
  const base = '/lib/modules/6.1.0-57-amd64/build';
  const variants = new Set([base, `${base}/`, base.replace('57', '58'), `X${base.slice(1)}`, base.slice(0, -1), `${base}\0`].map(nameHash));
  assert.equal(variants.size, 6);
  // every output digit varies: no lane is left constant by short inputs
  const digits = Array.from({ length: 32 }, () => new Set<string>());
  for (let i = 0; i < 200; i++) [...nameHash(String(i))].forEach((d, k) => digits[k]!.add(d));
  for (const [k, d] of digits.entries()) assert.ok(d.size >= 12, `digit ${k} takes ${d.size} values`);
});

test('randomHex: the length asked for, never the same twice', () => {
  assert.match(randomHex(6), /^[0-9a-f]{12}$/);
  assert.match(randomHex(1), /^[0-9a-f]{2}$/);
  const seen = new Set(Array.from({ length: 1000 }, () => randomHex(6)));
  assert.equal(seen.size, 1000);
});
