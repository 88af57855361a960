/**
 * The BTF dumper against a checked-in fixture (`test/fixtures/btf/`): `sample.btf` is the `.BTF` of `sample.c`
 * (structs, unions, bitfields, packed, anonymous members, enums and enum64, typedefs, function pointers, arrays of
 * them, const/volatile, forward declarations); `sample.vmlinux.h` is the exact text the dumper must write. It equals
 * `bpftool btf dump … format c` (7.1) but for the documented additions (kfunc section, `__ksym`/`__weak` defines, an
 * enum's `mode(word)`). Needs neither /sys/kernel/btf nor bpftool nor clang.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dumpCHeader, parseBtf } from '../../lib/btf/index.js';

const DIR = path.resolve(import.meta.dirname, '../fixtures/btf');

test('sample.btf dumps to exactly the golden sample.vmlinux.h', () => {
  const btf = parseBtf(fs.readFileSync(path.join(DIR, 'sample.btf')));
  assert.equal(dumpCHeader(btf), fs.readFileSync(path.join(DIR, 'sample.vmlinux.h'), 'utf8'));
});

test('the golden header is valid C for clang -target bpf', (t) => {
  if (spawnSync('clang', ['--version']).status !== 0) return t.skip('clang is not installed');
  const tu = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-golden-')), 'tu.c');
  fs.writeFileSync(tu, `#include "${path.join(DIR, 'sample.vmlinux.h')}"\nint f(struct node *n) { return n->point.x + (int)n->f.b + (int)n->pp.x; }\n`);
  const r = spawnSync('clang', ['-target', 'bpf', '-fsyntax-only', '-Wall', tu], { encoding: 'utf8' });
  fs.rmSync(path.dirname(tu), { recursive: true, force: true });
  assert.equal(r.status, 0, r.stderr);
});
