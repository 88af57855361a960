import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureEntry, openCache, resolveCacheDir, SYSTEM_CACHE_DIR } from '../../lib/cache/index.js';
import { isBpfCompileError } from '../../lib/errors.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-safety-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const isRoot = process.getuid?.() === 0;
const unsafeCache = (err: unknown): boolean => isBpfCompileError(err, 'CACHE_UNSAFE');
const build = async (d: string): Promise<{ files: number; bytes: number }> => {
  fs.writeFileSync(path.join(d, 'a'), 'a');
  return { files: 1, bytes: 1 };
};

describe('cache location', () => {
  it('option > env > root system dir > env-paths', () => {
    assert.equal(resolveCacheDir({ cacheDir: '/x/y', env: { BPF_COMPILE_CACHE_DIR: '/e' } }).dir, '/x/y');
    assert.equal(resolveCacheDir({ env: { BPF_COMPILE_CACHE_DIR: '/e' } }).dir, '/e');
    assert.equal(resolveCacheDir({ env: {}, uid: 0 }).dir, SYSTEM_CACHE_DIR);
    const user = resolveCacheDir({ env: {}, uid: 1000 });
    assert.equal(user.origin, 'user');
    assert.match(user.dir, /bpf-compile$/);
    assert.doesNotMatch(user.dir, /nodejs/);
  });
  it('creates the root 0700', () => {
    const c = openCache({ cacheDir: path.join(tmp, 'fresh', 'cache') });
    assert.equal(fs.statSync(c.root).mode & 0o777, 0o700);
  });
});

describe('unsafe caches → CACHE_UNSAFE', () => {
  it('symlinked root', () => {
    const real = path.join(tmp, 'real');
    fs.mkdirSync(real, { mode: 0o700 });
    fs.symlinkSync(real, path.join(tmp, 'link'));
    assert.throws(() => openCache({ cacheDir: path.join(tmp, 'link') }), unsafeCache);
  });
  it('group- or world-writable root', () => {
    for (const mode of [0o770, 0o707, 0o777]) {
      const d = path.join(tmp, `w${mode.toString(8)}`);
      fs.mkdirSync(d);
      fs.chmodSync(d, mode);
      assert.throws(() => openCache({ cacheDir: d }), unsafeCache);
    }
  });
  it('an ancestor writable by others without the sticky bit', () => {
    const parent = path.join(tmp, 'open-parent');
    fs.mkdirSync(parent);
    fs.chmodSync(parent, 0o777);
    assert.throws(() => openCache({ cacheDir: path.join(parent, 'cache') }), unsafeCache);
  });
  it('root owned by another user', { skip: isRoot ? false : 'needs root to chown' }, () => {
    const d = path.join(tmp, 'foreign');
    fs.mkdirSync(d, { mode: 0o700 });
    fs.chownSync(d, 65534, 65534);
    assert.throws(
      () => openCache({ cacheDir: d }),
      (err: unknown) => unsafeCache(err) && /owned by uid 65534/.test((err as Error).message),
    );
  });
  it('entry owned by another user, writable by others, or a symlink', { skip: isRoot ? false : 'needs root to chown' }, async () => {
    const cacheDir = path.join(tmp, 'entries');
    const e = await ensureEntry({ cacheDir }, { namespace: 'test', key: 'k', build });
    fs.chownSync(e.path, 65534, 65534);
    await assert.rejects(ensureEntry({ cacheDir }, { namespace: 'test', key: 'k', build }), unsafeCache);
    fs.chownSync(e.path, 0, 0);
    fs.chmodSync(e.path, 0o777);
    await assert.rejects(ensureEntry({ cacheDir }, { namespace: 'test', key: 'k', build }), unsafeCache);
    fs.chmodSync(e.path, 0o700);
    fs.chmodSync(path.join(e.path, 'manifest.json'), 0o666);
    await assert.rejects(ensureEntry({ cacheDir }, { namespace: 'test', key: 'k', build }), unsafeCache);
    fs.chmodSync(path.join(e.path, 'manifest.json'), 0o644);
    const moved = path.join(tmp, 'elsewhere');
    fs.renameSync(e.path, moved);
    fs.symlinkSync(moved, e.path);
    await assert.rejects(ensureEntry({ cacheDir }, { namespace: 'test', key: 'k', build }), unsafeCache);
    fs.rmSync(e.path);
    // namespace dir writable by others
    fs.chmodSync(path.join(cacheDir, 'test'), 0o777);
    await assert.rejects(ensureEntry({ cacheDir }, { namespace: 'test', key: 'k', build }), unsafeCache);
  });
  it('hint says which path and what to do', () => {
    const d = path.join(tmp, 'hint');
    fs.mkdirSync(d);
    fs.chmodSync(d, 0o777);
    try {
      openCache({ cacheDir: d });
      assert.fail('expected CACHE_UNSAFE');
    } catch (err) {
      assert.ok(isBpfCompileError(err, 'CACHE_UNSAFE'));
      assert.match(err.message, new RegExp(d));
      assert.match(err.hint ?? '', /chmod go-w/);
    }
  });
});

describe('ensureEntry basics', () => {
  it('rejects bad names', async () => {
    await assert.rejects(ensureEntry({ cacheDir: path.join(tmp, 'n') }, { namespace: '../x', key: 'k', build }), (e: unknown) => isBpfCompileError(e, 'USAGE'));
    await assert.rejects(ensureEntry({ cacheDir: path.join(tmp, 'n') }, { namespace: 'ok', key: 'a.lock', build }), (e: unknown) => isBpfCompileError(e, 'USAGE'));
  });
  it('a tree without a manifest is never used; a failing build leaves nothing', async () => {
    const cacheDir = path.join(tmp, 'nomanifest');
    const c = openCache({ cacheDir });
    fs.mkdirSync(path.join(c.root, 'test', 'k', 'data'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(c.root, 'test', 'k', 'data', 'half'), '');
    const e = await ensureEntry(c, { namespace: 'test', key: 'k', build });
    assert.equal(e.fromCache, false);
    assert.deepEqual(fs.readdirSync(e.dir), ['a']);
    await assert.rejects(
      ensureEntry(c, {
        namespace: 'test',
        key: 'k2',
        build: async () => {
          throw new Error('boom');
        },
      }),
      /boom/,
    );
    assert.deepEqual(
      fs.readdirSync(path.join(c.root, 'test')).filter((n) => n.startsWith('.tmp')),
      [],
    );
    assert.equal(fs.existsSync(path.join(c.root, 'test', 'k2')), false);
  });
});
