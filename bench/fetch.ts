/**
 * Fetch benchmark: download + verify + extract a kheaders archive from a loopback mirror (cold cache each run) against
 * `curl -s URL | tar -xJf -` into a fresh dir, side by side in one run. Goal: ≤ 1.0×.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { resolveHeaders } from '../lib/resolve.js';
import { startMirrorServer } from '../test/helpers/mirror-server.js';
import { buildKheadersFixture, kheadersFixtureSkipReason } from '../test/helpers/kheaders-fixture.js';
import { updateMirrorIndex } from '../lib/pack/index-file.js';
import { hashFile } from '../lib/cache/stat-index.js';
import { defaultKheadersName } from '../lib/mirror/index-format.js';
import { printResults, sideBySide, type BenchResult } from './util.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);

export async function runFetchBench(): Promise<BenchResult[]> {
  const skip = kheadersFixtureSkipReason();
  if (skip !== undefined) {
    console.log(`fetch bench skipped: ${skip}`);
    return [];
  }
  const fixture = buildKheadersFixture();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bpfc-bench-fetch-'));
  const mirror = path.join(dir, 'mirror');
  await fs.mkdir(mirror);
  const name = defaultKheadersName(fixture.release, 'x86');
  await fs.copyFile(fixture.archive, path.join(mirror, name));
  const stat = await fs.stat(path.join(mirror, name));
  await updateMirrorIndex(mirror, { kind: 'kheaders', release: fixture.release, arch: 'x86', file: name, sha256: hashFile(path.join(mirror, name)), size: stat.size });
  const server = await startMirrorServer(mirror);
  const root = path.join(dir, 'empty-root');
  await fs.mkdir(root);
  let n = 0;
  try {
    const r = await sideBySide(
      RUNS,
      () => resolveHeaders({ root, cacheDir: path.join(dir, `cache-${n++}`), kernelRelease: fixture.release, arch: 'x86_64', mirrors: [server.url], env: { PATH: process.env['PATH'] }, loadModule: 'never', kind: 'kernel-tree' }),
      async () => {
        const out = path.join(dir, `curl-${n++}`);
        await fs.mkdir(out);
        await execa('sh', ['-c', `curl -sf '${server.url}/${name}' | tar -xJf - -C '${out}'`]);
      },
    );
    return [{ name: 'fetch + verify + extract (cold) vs curl | tar -xJf', ...r, ratio: r.ours / r.baseline, note: 'goal ≤ 1.0×; loopback mirror, 4 MB archive' }];
  } finally {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printResults('fetch', await runFetchBench());
