import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { resolveHeaders } from '../../lib/resolve.js';
import { cleanEnv, makeDebianRoot, tempDir } from '../helpers/fake-kernel.js';
import { buildSyntheticArchive } from '../helpers/kheaders-fixture.js';
import { rawTar, validPrefix, xz } from '../helpers/hostile-archives.js';

const REL = '6.1.0-test';
let tmp: { dir: string; cleanup: () => Promise<void> };
let archive: string;
let n = 0;

before(async () => {
  tmp = await tempDir();
  archive = buildSyntheticArchive(path.join(tmp.dir, 'kheaders.tar.xz'), { release: REL });
});
after(async () => tmp.cleanup());

/** A fresh fake root and private cache dir. */
async function setup(files: Record<string, string | Buffer> = {}): Promise<{ root: string; cacheDir: string }> {
  const root = path.join(tmp.dir, `root${n}`);
  const cacheDir = path.join(tmp.dir, `cache${n++}`);
  await fs.mkdir(root, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await fs.writeFile(path.join(root, rel), content);
  }
  return { root, cacheDir };
}
const opts = (s: { root: string; cacheDir: string }) => ({
  root: s.root,
  cacheDir: s.cacheDir,
  kernelRelease: REL,
  arch: 'x86_64',
  env: cleanEnv(),
  loadModule: 'never' as const,
  kind: 'kernel-tree' as const,
});

test('/sys/kernel/kheaders.tar.xz is extracted into the cache and used as both trees', async () => {
  const s = await setup({ 'sys/kernel/kheaders.tar.xz': await fs.readFile(archive) });
  const h = await resolveHeaders(opts(s));
  assert.equal(h.source, 'kheaders');
  assert.equal(h.sourceDir, h.buildDir);
  assert.ok(h.sourceDir.startsWith(s.cacheDir), h.sourceDir);
  assert.equal(h.utsRelease, REL);
  assert.deepEqual(h.warnings, []);
  assert.match(h.detail, /sys\/kernel\/kheaders\.tar\.xz .*extracted/);
  const again = await resolveHeaders(opts(s));
  assert.equal(again.sourceDir, h.sourceDir, 'same content, same entry');
  assert.match(again.detail, /cached/);
  assert.deepEqual(
    again.tried.map((t) => t.what),
    ['override', 'modules', 'kheaders'],
  );
});

test('/proc/kheaders.tar.xz (vendor backports) is the fallback', async () => {
  const s = await setup({ 'proc/kheaders.tar.xz': await fs.readFile(archive) });
  const h = await resolveHeaders(opts(s));
  assert.equal(h.source, 'kheaders');
  assert.match(h.detail, /proc\/kheaders\.tar\.xz/);
});

test('an installed tree in /lib/modules takes priority over the archive', async () => {
  const s = await setup({ 'sys/kernel/kheaders.tar.xz': await fs.readFile(archive) });
  await makeDebianRoot(s.root, REL);
  assert.equal((await resolveHeaders(opts(s))).source, 'modules');
});

test('an explicit archive file is used (and beats sysfs)', async () => {
  const other = buildSyntheticArchive(path.join(tmp.dir, 'other.tar.xz'), { release: '6.1.0-other' });
  const s = await setup({ 'sys/kernel/kheaders.tar.xz': await fs.readFile(archive) });
  const h = await resolveHeaders({ ...opts(s), kheaders: other, kernelRelease: '6.1.0-other' });
  assert.equal(h.utsRelease, '6.1.0-other');
  assert.match(h.detail, /other\.tar\.xz/);
});

test("the archive's own UTS_RELEASE is checked against the target: warning, or error with strict", async () => {
  const s = await setup({ 'sys/kernel/kheaders.tar.xz': await fs.readFile(archive) });
  const h = await resolveHeaders({ ...opts(s), kernelRelease: '6.1.0-elsewhere' });
  assert.match(h.warnings[0] ?? '', /headers are for 6\.1\.0-test, target kernel is 6\.1\.0-elsewhere/);
  await assert.rejects(
    resolveHeaders({ ...opts(s), kernelRelease: '6.1.0-elsewhere', strict: true }),
    (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.HEADERS_VERSION_MISMATCH,
  );
});

test('a hostile archive keeps its typed error, stops resolution, and publishes nothing', async () => {
  const hostile = xz(rawTar([...validPrefix(REL), { name: './include/../../escape.h', type: '0', content: 'x' }]));
  const s = await setup({ 'sys/kernel/kheaders.tar.xz': hostile });
  await assert.rejects(resolveHeaders(opts(s)), (e: unknown) => {
    assert.ok(e instanceof BpfCompileError);
    assert.equal(e.code, ErrorCode.ARCHIVE_UNSAFE, e.message);
    assert.match(e.message, /^kheaders: /);
    assert.deepEqual(
      e.tried.map((t) => t.what),
      ['override', 'modules', 'kheaders'],
    );
    return true;
  });
  const ns = path.join(s.cacheDir, 'kheaders');
  const entries = await fs.readdir(ns).catch(() => [] as string[]);
  assert.deepEqual(
    entries.filter((e) => !e.startsWith('.')),
    [],
    'nothing published',
  );
  await assert.rejects(fs.access(path.join(tmp.dir, 'escape.h')));
});

test('nothing there: the reason names the archive paths, the module search and the load policy', async () => {
  const s = await setup();
  await assert.rejects(resolveHeaders(opts(s)), (e: unknown) => {
    assert.ok(e instanceof BpfCompileError && e.code === ErrorCode.HEADERS_NOT_FOUND);
    const why = e.tried.find((t) => t.what === 'kheaders')?.outcome ?? '';
    assert.match(why, /no \/sys\/kernel\/kheaders\.tar\.xz or \/proc\/kheaders\.tar\.xz/);
    assert.match(why, /not loading the kheaders module/);
    assert.match(e.hint ?? '', /CONFIG_IKHEADERS/);
    return true;
  });
});
