/** The same work has one object-cache key: `bpf-compile compile`, `compile({ kernelRelease })` and the README's pattern `resolveHeaders()` → `compile({ headers })`. */
import assert from 'node:assert/strict';
import { execa } from 'execa';
import path from 'node:path';
import { after, test } from 'node:test';
import { compile } from '../../lib/compile/index.js';
import { resolveHeaders } from '../../lib/resolve.js';
import { installedHeaders } from '../helpers/bpf.js';
import { tempDir } from '../helpers/fake-kernel.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/bpf-compile.ts');
const SRC = path.resolve(import.meta.dirname, '../../examples/task_exec.bpf.c');
const env = { PATH: process.env['PATH'] };
const tmp = await tempDir();
after(() => tmp.cleanup());

test('CLI compile, then the library with headers given, then with the release: one cache entry, hits after the first', async (t) => {
  const installed = await installedHeaders();
  if (installed === undefined) return t.skip('no installed kernel headers (apt-get install linux-headers-amd64)');
  const cacheDir = path.join(tmp.dir, 'cache');
  const cli = await execa(
    'node',
    ['--import', 'tsx', BIN, 'compile', SRC, '-o', path.join(tmp.dir, 'cli.o'), '--kernel-release', installed.release, '--cache-dir', cacheDir, '--json'],
    { env },
  );
  assert.equal((JSON.parse(String(cli.stdout)) as { fromCache: boolean }).fromCache, false);
  const headers = await resolveHeaders({ kernelRelease: installed.release, kind: 'kernel-tree', cacheDir, env });
  const viaHeaders = await compile({ source: SRC, output: path.join(tmp.dir, 'lib.o'), headers, cacheDir, env });
  assert.equal(viaHeaders.fromCache, true, 'resolveHeaders() → compile({ headers }) hits the CLI entry');
  const viaRelease = await compile({ source: SRC, output: path.join(tmp.dir, 'rel.o'), kernelRelease: installed.release, cacheDir, env });
  assert.equal(viaRelease.fromCache, true);
});
