/**
 * Warm resolve benchmark: `bpf-compile headers` as a whole process, headers already extracted into the cache (the
 * in-kernel archive under a fake root), against `node -e 0` — the floor of any Node CLI. Goal: ≤ 1.5×.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { buildKheadersFixture, kheadersFixtureSkipReason } from '../test/helpers/kheaders-fixture.js';
import { printResults, sideBySide, type BenchResult } from './util.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 15);

export async function runHeadersBench(): Promise<BenchResult[]> {
  const skip = kheadersFixtureSkipReason();
  if (skip !== undefined) {
    console.log(`headers bench skipped: ${skip}`);
    return [];
  }
  const fixture = buildKheadersFixture();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bpfc-bench-headers-'));
  try {
    await fs.mkdir(path.join(dir, 'root/sys/kernel'), { recursive: true });
    await fs.copyFile(fixture.archive, path.join(dir, 'root/sys/kernel/kheaders.tar.xz'));
    const args = [
      path.join(ROOT, 'dist/bin/bpf-compile.cjs'),
      'headers',
      '--root',
      path.join(dir, 'root'),
      '--cache-dir',
      path.join(dir, 'cache'),
      '--kernel-release',
      fixture.release,
      '--load-module',
      'never',
    ];
    await execa('node', args); // cold: extract once
    const r = await sideBySide(
      RUNS,
      () => execa('node', args),
      () => execa('node', ['-e', '0']),
    );
    return [{ name: 'warm `bpf-compile headers` (kheaders) vs node -e 0', ...r, ratio: r.ours / r.baseline, note: 'goal ≤ 1.5×' }];
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printResults('warm headers', await runHeadersBench());
