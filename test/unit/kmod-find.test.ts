/** Unit tests of lib/kmod/find.ts on fake roots. */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findKheadersModule, kheadersEntryOfModulesDep } from '../../lib/kmod/find.js';
import type { KheadersModuleFound, KheadersModuleNotFound } from '../../lib/kmod/find.js';
import { tempDir } from '../helpers/fake-kernel.js';

const REL = '6.1.0-99-amd64';
let tmp: { dir: string; cleanup: () => Promise<void> };
let n = 0;

before(async () => {
  tmp = await tempDir('bpfc-kmod-find-');
});
after(async () => tmp.cleanup());

/** A fresh fake root with `/lib/modules/REL` and the given files (relative to it; '' content). */
async function fakeRoot(files: Record<string, string> = {}, withModDir = true): Promise<string> {
  const root = path.join(tmp.dir, `root${n++}`);
  const modDir = path.join(root, 'lib/modules', REL);
  if (withModDir) await fs.mkdir(modDir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(modDir, rel);
    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, content);
  }
  return root;
}

function found(r: KheadersModuleFound | KheadersModuleNotFound): KheadersModuleFound {
  assert.ok('path' in r, `not found: ${'reason' in r ? r.reason : ''}`);
  return r;
}

function notFound(r: KheadersModuleFound | KheadersModuleNotFound): KheadersModuleNotFound {
  assert.ok('reason' in r, `unexpectedly found ${'path' in r ? r.path : ''}`);
  return r;
}

const DEP = [
  'kernel/arch/x86/kvm/kvm-intel.ko.xz: kernel/arch/x86/kvm/kvm.ko.xz kernel/virt/lib/irqbypass.ko.xz',
  'kernel/lib/notkheaders.ko.xz:',
  'kernel/kernel/kheaders.ko.xz:',
  'kernel/fs/ext4/ext4.ko.xz: kernel/lib/crc16.ko.xz kernel/fs/mbcache.ko.xz kernel/fs/jbd2/jbd2.ko.xz',
  '',
].join('\n');

describe('kheadersEntryOfModulesDep', () => {
  test('finds the kheaders line by basename, ignoring dependencies and look-alikes', () => {
    assert.equal(kheadersEntryOfModulesDep(DEP), 'kernel/kernel/kheaders.ko.xz');
    assert.equal(kheadersEntryOfModulesDep('kernel/lib/xkheaders.ko:\nfoo.ko: kernel/kernel/kheaders.ko\n'), undefined);
    assert.equal(kheadersEntryOfModulesDep('/lib/modules/x/kernel/kernel/kheaders.ko.zst:\n'), '/lib/modules/x/kernel/kernel/kheaders.ko.zst');
    assert.equal(kheadersEntryOfModulesDep(''), undefined);
  });
});

describe('findKheadersModule', () => {
  test('from modules.dep', async () => {
    const root = await fakeRoot({ 'modules.dep': DEP, 'kernel/kernel/kheaders.ko.xz': '' });
    const r = found(await findKheadersModule(root, REL));
    assert.equal(r.path, path.join(root, 'lib/modules', REL, 'kernel/kernel/kheaders.ko.xz'));
    assert.equal(r.via, 'modules.dep');
  });

  test('modules.dep pointing somewhere unusual (updates/, .ko.zst)', async () => {
    const root = await fakeRoot({ 'modules.dep': 'updates/dkms/kheaders.ko.zst:\n', 'updates/dkms/kheaders.ko.zst': '', 'kernel/kernel/kheaders.ko': '' });
    const r = found(await findKheadersModule(root, REL));
    assert.equal(r.path, path.join(root, 'lib/modules', REL, 'updates/dkms/kheaders.ko.zst'));
    assert.equal(r.via, 'modules.dep');
  });

  test('an absolute modules.dep entry is mapped under the root', async () => {
    const root = await fakeRoot({ 'modules.dep': `/lib/modules/${REL}/extra/kheaders.ko.gz:\n`, 'extra/kheaders.ko.gz': '' });
    assert.equal(found(await findKheadersModule(root, REL)).path, path.join(root, 'lib/modules', REL, 'extra/kheaders.ko.gz'));
  });

  test('no modules.dep: the default path, every compression', async () => {
    for (const name of ['kheaders.ko', 'kheaders.ko.xz', 'kheaders.ko.gz', 'kheaders.ko.zst']) {
      const root = await fakeRoot({ [`kernel/kernel/${name}`]: '' });
      const r = found(await findKheadersModule(root, REL));
      assert.equal(path.basename(r.path), name);
      assert.equal(r.via, 'default-path');
    }
  });

  test('modules.dep entry whose file is missing falls back to the default path', async () => {
    const root = await fakeRoot({ 'modules.dep': 'kernel/kernel/kheaders.ko.zst:\n', 'kernel/kernel/kheaders.ko.gz': '' });
    const r = found(await findKheadersModule(root, REL));
    assert.equal(path.basename(r.path), 'kheaders.ko.gz');
    assert.equal(r.via, 'default-path');
  });

  test("a '..' entry in modules.dep is ignored", async () => {
    const root = await fakeRoot({ 'modules.dep': '../../../../etc/kheaders.ko:\n' });
    const r = notFound(await findKheadersModule(root, REL));
    assert.match(r.reason, /'\.\.'/);
  });

  test('nothing anywhere: the reason names modules.dep and the default path', async () => {
    const root = await fakeRoot({ 'modules.dep': DEP.replace('kernel/kernel/kheaders.ko.xz:\n', '') });
    const r = notFound(await findKheadersModule(root, REL));
    assert.match(r.reason, /modules\.dep lists no kheaders module/);
    assert.match(r.reason, /kernel\/kernel\/kheaders\.ko\{,\.xz,\.gz,\.zst\}/);
    assert.match(r.reason, /CONFIG_IKHEADERS=m/);
    assert.equal(r.tried.length, 5);
  });

  test('listed but missing, and no default either', async () => {
    const root = await fakeRoot({ 'modules.dep': 'kernel/kernel/kheaders.ko.xz:\n' });
    const r = notFound(await findKheadersModule(root, REL));
    assert.match(r.reason, /lists kernel\/kernel\/kheaders\.ko\.xz but .* does not exist/);
  });

  test('no modules.dep and no module', async () => {
    const root = await fakeRoot();
    const r = notFound(await findKheadersModule(root, REL));
    assert.match(r.reason, /modules\.dep does not exist/);
  });

  test('no /lib/modules/<release> at all', async () => {
    const root = await fakeRoot({}, false);
    const r = notFound(await findKheadersModule(root, REL));
    assert.match(r.reason, new RegExp(`no modules are installed for ${REL}: .* does not exist`));
  });

  test('a directory named kheaders.ko is not a module', async () => {
    const root = await fakeRoot();
    await fs.mkdir(path.join(root, 'lib/modules', REL, 'kernel/kernel/kheaders.ko'), { recursive: true });
    const r = notFound(await findKheadersModule(root, REL));
    assert.ok(r.tried.some((t) => t.outcome === 'not a regular file'));
  });

  test('a release that is not one path component is refused', async () => {
    const root = await fakeRoot();
    for (const bad of ['', '.', '..', '../x', 'a/b']) {
      assert.match(notFound(await findKheadersModule(root, bad)).reason, /not a valid directory name/);
    }
  });
});
