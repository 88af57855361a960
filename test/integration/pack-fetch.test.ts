import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { execa } from 'execa';
import { compile } from '../../lib/compile/index.js';
import { resolveHeaders } from '../../lib/resolve.js';
import { bpfLoadPermitted, installedHeaders, loadAll } from '../helpers/bpf.js';
import { cleanEnv, tempDir } from '../helpers/fake-kernel.js';
import { startMirrorServer, type MirrorServer } from '../helpers/mirror-server.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin/bpf-compile.ts');
let tmp: { dir: string; cleanup: () => Promise<void> };
let server: MirrorServer | undefined;
let release: string | undefined;

before(async () => {
  tmp = await tempDir();
  const h = await installedHeaders();
  if (h === undefined) return;
  release = h.release;
  // publish the installed Debian headers the way an operator would: `bpf-compile pack --from-modules`
  const mirror = path.join(tmp.dir, 'mirror');
  await execa('node', ['--import', 'tsx', BIN, 'pack', '--from-modules', '--kernel-release', release, '-o', mirror]);
  server = await startMirrorServer(mirror);
});
after(async () => {
  await server?.close();
  await tmp.cleanup();
});

test('pack → HTTP mirror → fetch → compile the kprobe program → the verifier accepts it', async (t) => {
  if (server === undefined || release === undefined) return t.skip('no installed kernel headers to pack');
  const cacheDir = path.join(tmp.dir, 'cache');
  const emptyRoot = path.join(tmp.dir, 'empty-root');
  await fs.mkdir(emptyRoot, { recursive: true });
  const opts = { root: emptyRoot, cacheDir, kernelRelease: release, env: cleanEnv(), loadModule: 'never' as const, mirrors: [server.url], kind: 'kernel-tree' as const };
  const h = await resolveHeaders(opts);
  assert.equal(h.source, 'fetch');
  assert.equal(h.utsRelease, release);
  assert.deepEqual(h.warnings, []);
  const out = path.join(tmp.dir, 'task_exec.o');
  const r = await compile({ ...opts, source: path.join(ROOT, 'examples/task_exec.bpf.c'), output: out, headers: h });
  assert.equal(r.mode, 'kernel');
  // warm and offline: no request reaches the server
  const seen = server.log.length;
  const again = await resolveHeaders({ ...opts, offline: true });
  assert.equal(again.sourceDir, h.sourceDir);
  assert.equal(server.log.length, seen, 'offline: no request');
  const load = await bpfLoadPermitted();
  if (!load.ok) return t.skip(`not loaded: ${load.reason}`);
  const l = await loadAll(out);
  await l.cleanup();
  assert.equal(l.programs.length, 1);
});

test('bpf-compile fetch warms the cache and prints JSON', async (t) => {
  if (server === undefined || release === undefined) return t.skip('no installed kernel headers to pack');
  const cacheDir = path.join(tmp.dir, 'cache-cli');
  const r = await execa(
    'node',
    ['--import', 'tsx', BIN, 'fetch', '--kernel-release', release, '--mirror', server.url, '--cache-dir', cacheDir, '--root', path.join(tmp.dir, 'empty-root'), '--json'],
    { reject: false },
  );
  assert.equal(r.exitCode, 0, String(r.stderr));
  const j = JSON.parse(String(r.stdout)) as { source: string; sourceDir: string };
  assert.equal(j.source, 'fetch');
  assert.ok(j.sourceDir.startsWith(cacheDir));
});

test('bpf-compile fetch --mirror, then headers with no mirror named (and --offline): found again in the cache', async (t) => {
  if (server === undefined || release === undefined) return t.skip('no installed kernel headers to pack');
  const cacheDir = path.join(tmp.dir, 'cache-again');
  const root = path.join(tmp.dir, 'empty-root');
  const cli = (args: string[]) =>
    execa('node', ['--import', 'tsx', BIN, ...args, '--kernel-release', release as string, '--cache-dir', cacheDir, '--root', root, '--json'], { reject: false, env: cleanEnv() });
  const fetched = await cli(['fetch', '--mirror', (server as MirrorServer).url]);
  assert.equal(fetched.exitCode, 0, String(fetched.stderr));
  const seen = (server as MirrorServer).log.length;
  for (const extra of [[], ['--offline']]) {
    const r = await cli(['headers', ...extra]);
    assert.equal(r.exitCode, 0, String(r.stderr));
    const j = JSON.parse(String(r.stdout)) as { source: string; sourceDir: string };
    assert.equal(j.source, 'cached');
    assert.equal(j.sourceDir, (JSON.parse(String(fetched.stdout)) as { sourceDir: string }).sourceDir);
  }
  assert.equal((server as MirrorServer).log.length, seen, 'no request after the fetch');
});
