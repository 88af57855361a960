import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { extractPackagesInto } from '../../lib/archive/extract.js';
import { classifyPackageEntry, rerootSymlinkTarget } from '../../lib/archive/policy.js';
import { DEFAULT_LIMITS } from '../../lib/archive/limits.js';
import { ErrorCode, isBpfCompileError } from '../../lib/errors.js';
import { aptToolsSkipReason, buildDeb, writeAr } from '../helpers/apt-repo.js';
import { rawTar, xz } from '../helpers/hostile-archives.js';

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-deb-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => {
  const d = path.join(work, `out-${n++}`);
  fs.mkdirSync(d);
  return d;
};
const POLICY = {
  keep: [
    ['usr', 'src'],
    ['lib', 'modules'],
  ],
  onlyArch: { under: [['usr', 'src']], srcarch: 'x86' },
};

describe('package policy (pure)', () => {
  test('absolute links are re-rooted relative to the link; entries outside the kept dirs and other arches are skipped', () => {
    assert.equal(rerootSymlinkTarget(['lib', 'modules', 'r', 'build'], '/usr/src/linux-headers-r'), '../../../usr/src/linux-headers-r');
    assert.equal(rerootSymlinkTarget(['a'], '/'), '.');
    const c = (name: string, type = 'file', linkname: string | null = null) => classifyPackageEntry({ name, type, size: 0, linkname }, DEFAULT_LIMITS, POLICY);
    assert.deepEqual(c('./usr/share/doc/x/changelog.gz'), { kind: 'skip' });
    assert.deepEqual(c('./usr/src/t/arch/arm64/include/asm/a.h'), { kind: 'skip' });
    assert.equal(c('./usr/src/t/arch/x86/include/asm/a.h').kind, 'file');
    assert.deepEqual(c('./lib/modules/r/build', 'symlink', '/usr/src/t'), { kind: 'symlink', parts: ['lib', 'modules', 'r', 'build'], target: '../../../usr/src/t' });
    assert.throws(
      () => c('./usr/src/t/../../etc/x'),
      (e: unknown) => isBpfCompileError(e, ErrorCode.ARCHIVE_UNSAFE),
    );
    assert.throws(
      () => c('./usr/src/t/dev', 'character-device'),
      (e: unknown) => isBpfCompileError(e, ErrorCode.ARCHIVE_UNSAFE),
    );
    assert.throws(
      () => c('./usr/src/t/up', 'symlink', '../../../../x'),
      (e: unknown) => isBpfCompileError(e, ErrorCode.ARCHIVE_UNSAFE),
    );
  });
});

describe('.deb unpacking', { skip: aptToolsSkipReason() }, () => {
  for (const compression of ['xz', 'zstd', 'gzip'] as const) {
    test(`a ${compression} package set: kept dirs only, links re-rooted, dangling links dropped`, async () => {
      const out = path.join(work, `debs-${compression}`);
      fs.mkdirSync(out);
      const a = buildDeb(
        {
          name: 'a',
          version: '1',
          arch: 'amd64',
          compression,
          files: [
            { path: 'usr/src/t-amd64/include/generated/autoconf.h', content: '#define X 1\n' },
            { path: 'usr/src/t-amd64/scripts', symlink: '../../lib/linux-kbuild/scripts' },
            { path: 'lib/modules/r/build', symlink: '/usr/src/t-amd64' },
            { path: 'lib/modules/r/source', symlink: '/usr/src/t-common' },
            { path: 'usr/share/doc/a/copyright', content: 'x' },
          ],
        },
        out,
      );
      const b = buildDeb(
        {
          name: 'b',
          version: '1',
          arch: 'all',
          compression,
          files: [
            { path: 'usr/src/t-common/include/linux/kconfig.h', content: '' },
            { path: 'usr/src/t-common/arch/x86/include/asm/a.h', content: '' },
            { path: 'usr/src/t-common/arch/arm64/include/asm/a.h', content: '' },
          ],
        },
        out,
      );
      const dir = fresh();
      const r = await extractPackagesInto(
        [
          { source: a, format: 'deb' },
          { source: b, format: 'deb' },
        ],
        dir,
        POLICY,
      );
      assert.deepEqual(
        r.packages.map((p) => p.decoder),
        [`deb+${compression}`, `deb+${compression}`],
      );
      assert.deepEqual(r.droppedSymlinks, ['usr/src/t-amd64/scripts']);
      assert.equal(fs.readlinkSync(path.join(dir, 'lib/modules/r/build')), '../../../usr/src/t-amd64');
      assert.ok(fs.existsSync(path.join(dir, 'lib/modules/r/source/include/linux/kconfig.h')));
      assert.ok(fs.existsSync(path.join(dir, 'usr/src/t-common/arch/x86/include/asm/a.h')));
      assert.equal(fs.existsSync(path.join(dir, 'usr/src/t-common/arch/arm64')), false, 'other arches left out');
      assert.equal(fs.existsSync(path.join(dir, 'usr/share')), false, 'docs skipped');
    });
  }

  const corrupt = async (name: string, bytes: Buffer, pattern: RegExp): Promise<void> => {
    const f = path.join(work, `${name}.deb`);
    fs.writeFileSync(f, bytes);
    await assert.rejects(extractPackagesInto([{ source: f, format: 'deb' }], fresh(), POLICY), (e: unknown) => {
      assert.ok(isBpfCompileError(e, ErrorCode.ARCHIVE_CORRUPT), String(e));
      assert.match((e as Error).message, pattern);
      return true;
    });
  };

  test('not an ar archive, a truncated member, no data member, a wrong debian-binary: ARCHIVE_CORRUPT', async () => {
    const data = xz(rawTar([{ name: './usr/src/t/a.h', type: '0', content: 'x' }]));
    await corrupt('magic', Buffer.from('PK\x03\x04 not a deb at all, not at all'), /no !<arch> magic/);
    const good = path.join(work, 'good.deb');
    writeAr(good, [
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar.xz', data: xz(rawTar([])) },
      { name: 'data.tar.xz', data },
    ]);
    const bytes = fs.readFileSync(good);
    await corrupt('truncated', bytes.subarray(0, bytes.length - 40), /truncated|not a valid/);
    const nodata = path.join(work, 'nodata.deb');
    writeAr(nodata, [
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar.xz', data: xz(rawTar([])) },
    ]);
    await corrupt('nodata', fs.readFileSync(nodata), /no data\.tar member/);
    const v3 = path.join(work, 'v3.deb');
    writeAr(v3, [
      { name: 'debian-binary', data: Buffer.from('3.0\n') },
      { name: 'data.tar.xz', data },
    ]);
    await corrupt('v3', fs.readFileSync(v3), /not 2\.x/);
    const first = path.join(work, 'first.deb');
    writeAr(first, [{ name: 'data.tar.xz', data }]);
    await corrupt('first', fs.readFileSync(first), /first member is "data\.tar\.xz"/);
  });
});
