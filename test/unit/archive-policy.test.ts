import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LIMITS, parseUtsRelease, resolveLimits } from '../../lib/archive/index.js';
import { classifyEntry, normalizeEntryName } from '../../lib/archive/policy.js';
import { isBpfCompileError } from '../../lib/errors.js';
import { stripComments } from '../helpers/kheaders-fixture.js';

const L = DEFAULT_LIMITS;
const unsafe = (fn: () => unknown): void => {
  assert.throws(fn, (err: unknown) => isBpfCompileError(err, 'ARCHIVE_UNSAFE'));
};

describe('archive entry policy', () => {
  it('normalises ./ names', () => {
    assert.deepEqual(normalizeEntryName('./include/linux/a.h', L), ['include', 'linux', 'a.h']);
    assert.deepEqual(normalizeEntryName('./', L), []);
    assert.deepEqual(normalizeEntryName('include//./x.h', L), ['include', 'x.h']);
  });
  it('refuses absolute, .., NUL, over-long and too deep names', () => {
    unsafe(() => normalizeEntryName('/etc/passwd', L));
    unsafe(() => normalizeEntryName('a/../../b', L));
    unsafe(() => normalizeEntryName('a/..', L));
    unsafe(() => normalizeEntryName('a\0b', L));
    unsafe(() => normalizeEntryName('x'.repeat(2000), L));
    unsafe(() => normalizeEntryName(`${'n'.repeat(256)}`, L));
    unsafe(() => normalizeEntryName('d/'.repeat(65) + 'f', L));
  });
  it('an archive of headers that are links to the build machine (Android Kleaf, bcc #4503) names the cause and the fix', () => {
    assert.throws(
      () => classifyEntry({ name: './include/linux/types.h', type: 'symlink', linkname: '/home/build/kernel/common/include/linux/types.h' }, L),
      (err: unknown) =>
        isBpfCompileError(err, 'ARCHIVE_UNSAFE') && /Bazel\/Kleaf/.test(err.hint ?? '') && /bcc #4503/.test(err.hint ?? '') && /--kernel-source|pack|BTF/.test(err.hint ?? ''),
    );
    assert.throws(
      () => classifyEntry({ name: './tmp/link', type: 'symlink', linkname: '/etc/passwd' }, L),
      (err: unknown) => isBpfCompileError(err, 'ARCHIVE_UNSAFE') && !/Kleaf/.test(err.hint ?? ''),
    );
  });
  it('classifies types', () => {
    assert.deepEqual(classifyEntry({ name: './', type: 'directory' }, L), { kind: 'root' });
    assert.equal(classifyEntry({ name: 'a.h', type: 'file', size: 3 }, L).kind, 'file');
    assert.equal(classifyEntry({ name: 'a.h', type: 'contiguous-file', size: 3 }, L).kind, 'file');
    assert.equal(classifyEntry({ name: 'x/l.h', type: 'symlink', linkname: '../y.h' }, L).kind, 'symlink');
    for (const type of ['link', 'character-device', 'block-device', 'fifo', null, 'gnu-sparse']) {
      unsafe(() => classifyEntry({ name: 'x', type, linkname: 'y' }, L));
    }
    unsafe(() => classifyEntry({ name: 'x/l', type: 'symlink', linkname: '../../y' }, L));
    unsafe(() => classifyEntry({ name: 'l', type: 'symlink', linkname: '/etc' }, L));
    unsafe(() => classifyEntry({ name: 'l', type: 'symlink', linkname: '' }, L));
    unsafe(() => classifyEntry({ name: './', type: 'file', size: 0 }, L));
  });
  it('validates limits', () => {
    assert.equal(resolveLimits({ maxEntries: 5 }).maxEntries, 5);
    assert.throws(() => resolveLimits({ maxBytes: -1 }), TypeError);
  });
});

describe('utsrelease.h', () => {
  it('parses UTS_RELEASE', () => {
    assert.equal(parseUtsRelease('#define UTS_RELEASE "6.1.0-56-amd64"\n'), '6.1.0-56-amd64');
    assert.equal(parseUtsRelease('/* x */\n# define  UTS_RELEASE\t"5.15.0"'), '5.15.0');
    assert.equal(parseUtsRelease('#define UTS_VERSION "x"'), undefined);
  });
});

describe('fixture comment stripper (gen_kheaders-like)', () => {
  it('strips block comments but keeps SPDX ones', () => {
    assert.equal(stripComments('/* SPDX-License-Identifier: GPL-2.0 */\nint a; /* c */\n'), '/* SPDX-License-Identifier: GPL-2.0 */\nint a; \n');
    assert.equal(stripComments('a /* multi\nline */ b'), 'a  b');
  });
  it('does not strip inside strings, chars or // comments', () => {
    assert.equal(stripComments('char *s = "/* not */";'), 'char *s = "/* not */";');
    assert.equal(stripComments("c = '/'; /* x */"), "c = '/'; ");
    assert.equal(stripComments('// a /* b\nint x; /* y */'), '// a /* b\nint x; ');
    assert.equal(stripComments("#error don't\n/* gone */x"), "#error don't\nx");
  });
});
