import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ARCHES, hostArch, knownArchNames, lookupArch } from '../../lib/arch.js';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';

/** Expected row for every `uname -m` name the issue lists: [name, SRCARCH, __TARGET_ARCH_, bpf target]. */
const EXPECTED: ReadonlyArray<readonly [string, string, string, string]> = [
  ['x86_64', 'x86', 'x86', 'bpfel'],
  ['i386', 'x86', 'x86', 'bpfel'],
  ['i686', 'x86', 'x86', 'bpfel'],
  ['aarch64', 'arm64', 'arm64', 'bpfel'],
  ['armv7l', 'arm', 'arm', 'bpfel'],
  ['armv6l', 'arm', 'arm', 'bpfel'],
  ['arm', 'arm', 'arm', 'bpfel'],
  ['s390x', 's390', 's390', 'bpfeb'],
  ['ppc64le', 'powerpc', 'powerpc', 'bpfel'],
  ['ppc64', 'powerpc', 'powerpc', 'bpfeb'],
  ['riscv64', 'riscv', 'riscv', 'bpfel'],
  ['mips', 'mips', 'mips', 'bpfeb'],
  ['mipsel', 'mips', 'mips', 'bpfel'],
  ['mips64', 'mips', 'mips', 'bpfeb'],
  ['mips64el', 'mips', 'mips', 'bpfel'],
  ['loongarch64', 'loongarch', 'loongarch', 'bpfel'],
  ['sparc64', 'sparc', 'sparc', 'bpfeb'],
];

for (const [name, srcarch, targetArch, bpf] of EXPECTED) {
  test(`arch table: ${name} → ${srcarch}/${targetArch}/${bpf}`, () => {
    const row = lookupArch(name);
    assert.equal(row.srcarch, srcarch);
    assert.equal(row.targetArch, targetArch);
    assert.equal(row.bpfTarget, bpf);
  });
}

test('SRCARCH names select the default row of their arch', () => {
  assert.equal(lookupArch('x86').machine, 'x86_64');
  assert.equal(lookupArch('arm64').machine, 'aarch64');
  assert.equal(lookupArch('s390').machine, 's390x');
  assert.equal(lookupArch('powerpc').machine, 'ppc64le');
  assert.equal(lookupArch('riscv').machine, 'riscv64');
  assert.equal(lookupArch('loongarch').machine, 'loongarch64');
  assert.equal(lookupArch('sparc').machine, 'sparc64');
  assert.equal(lookupArch('X86_64').machine, 'x86_64', 'case-insensitive');
});

test('every valid __TARGET_ARCH_ value is covered and nothing else', () => {
  const values = new Set(ARCHES.map((a) => a.targetArch));
  assert.deepEqual([...values].sort(), ['arm', 'arm64', 'loongarch', 'mips', 'powerpc', 'riscv', 's390', 'sparc', 'x86']);
  for (const srcarch of values) assert.equal(ARCHES.filter((a) => a.srcarch === srcarch && a.srcarchDefault).length, 1, srcarch);
});

test('unknown arch → UNKNOWN_ARCH listing the known names', () => {
  assert.throws(
    () => lookupArch('vax'),
    (err: unknown) => err instanceof BpfCompileError && err.code === ErrorCode.UNKNOWN_ARCH && /x86_64/.test(err.hint ?? '') && /aarch64/.test(err.hint ?? ''),
  );
  assert.ok(knownArchNames().includes('ppc64le'));
});

test('host arch is in the table', () => {
  assert.ok(ARCHES.includes(hostArch()));
});
