/**
 * Integration: a real `kheaders.ko` built with kbuild from 6.1's `kernel/kheaders.c` around archives we
 * made, then read back from `.ko`, `.ko.xz` and `.ko.gz` and compared byte for byte.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { findKheadersModule } from '../../lib/kmod/find.js';
import { extractKheadersFromModule, readKheadersFromModuleFile, sniffKheadersFile } from '../../lib/kmod/kheaders-module.js';
import { tempDir } from '../helpers/fake-kernel.js';
import { buildSyntheticArchive } from '../helpers/kheaders-fixture.js';
import { buildKheadersModule, kheadersModuleSkipReason } from '../helpers/kheaders-module.js';
import type { BuiltKheadersModule } from '../helpers/kheaders-module.js';

const skipReason = kheadersModuleSkipReason();
const RELEASE = '6.1.0-kmodtest';
let tmp: { dir: string; cleanup: () => Promise<void> };
/** A small gen_kheaders-style archive, and a ~1.5 MB one (incompressible payload). */
let small: BuiltKheadersModule;
let large: BuiltKheadersModule;

/** Skip with the reason when the module cannot be built here; true when skipped. */
function skipped(t: TestContext): boolean {
  if (skipReason === undefined) return false;
  t.skip(skipReason);
  return true;
}

before(async () => {
  tmp = await tempDir('bpfc-kmod-int-');
  if (skipReason !== undefined) return;
  const smallArchive = buildSyntheticArchive(path.join(tmp.dir, 'small.tar.xz'), { release: RELEASE });
  const largeArchive = buildSyntheticArchive(path.join(tmp.dir, 'large.tar.xz'), {
    entries: [
      { type: 'file', name: 'include/generated/utsrelease.h', content: `#define UTS_RELEASE "${RELEASE}"\n` },
      { type: 'file', name: 'include/blob.h', content: randomBytes(1536 * 1024) },
    ],
  });
  [small, large] = await Promise.all([
    buildKheadersModule(smallArchive, path.join(tmp.dir, 'small-module')),
    buildKheadersModule(largeArchive, path.join(tmp.dir, 'large-module')),
  ]);
});
after(async () => tmp.cleanup());

describe('real kheaders.ko built with kbuild', () => {
  test('the archive read from .ko, .ko.xz and .ko.gz is byte-identical to the one embedded', async (t) => {
    if (skipped(t)) return;
    for (const built of [small, large]) {
      const want = await fs.readFile(built.archive);
      for (const file of [built.ko, built.koXz, built.koGz]) {
        const got = await readKheadersFromModuleFile(file);
        assert.equal(got.length, want.length, file);
        assert.ok(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(want), `${file}: bytes differ`);
      }
    }
  });

  test('extraction from the plain .ko is a view of the file, and the result is a valid kheaders tar', async (t) => {
    if (skipped(t)) return;
    const ko = await fs.readFile(small.ko);
    const archive = extractKheadersFromModule(ko);
    assert.equal(archive.buffer, ko.buffer);
    const listing = execFileSync('tar', ['-tJf', '-'], { input: archive, encoding: 'utf8' });
    assert.match(listing, /\.\/include\/generated\/utsrelease\.h/);
    const uts = execFileSync('tar', ['-xJOf', '-', './include/generated/utsrelease.h'], { input: archive, encoding: 'utf8' });
    assert.match(uts, new RegExp(`"${RELEASE}"`));
  });

  test('sniffKheadersFile tells the archive from the module files', async (t) => {
    if (skipped(t)) return;
    assert.equal(await sniffKheadersFile(await fs.readFile(small.archive)), 'archive');
    assert.equal(await sniffKheadersFile(await fs.readFile(large.archive)), 'archive');
    for (const file of [small.ko, small.koXz, small.koGz, large.koXz]) {
      assert.equal(await sniffKheadersFile(await fs.readFile(file)), 'module', file);
    }
  });

  test('.ko.zst is refused with a hint to decompress it', async (t) => {
    if (skipped(t)) return;
    if (small.koZst === undefined) {
      t.skip('zstd is not installed');
      return;
    }
    await assert.rejects(readKheadersFromModuleFile(small.koZst), (err: unknown) => {
      assert.ok(err instanceof BpfCompileError);
      assert.equal(err.code, ErrorCode.MODULE_INVALID);
      assert.match(err.hint ?? '', /zstd -d/);
      return true;
    });
  });

  test('found through modules.dep in a fake root, then read', async (t) => {
    if (skipped(t)) return;
    const root = path.join(tmp.dir, 'root');
    const modDir = path.join(root, 'lib/modules', RELEASE);
    await fs.mkdir(path.join(modDir, 'kernel/kernel'), { recursive: true });
    await fs.copyFile(small.koXz, path.join(modDir, 'kernel/kernel/kheaders.ko.xz'));
    await fs.writeFile(path.join(modDir, 'modules.dep'), 'kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz\nkernel/kernel/kheaders.ko.xz:\n');
    const r = await findKheadersModule(root, RELEASE);
    assert.ok('path' in r, 'reason' in r ? r.reason : '');
    assert.equal(r.via, 'modules.dep');
    const got = await readKheadersFromModuleFile(r.path);
    assert.ok(Buffer.from(got).equals(await fs.readFile(small.archive)));
  });
});
