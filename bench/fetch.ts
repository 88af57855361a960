/**
 * Fetch benchmark: download + verify + extract a kheaders archive from a loopback mirror (cold cache each run) against
 * `curl -s URL | tar -xJf -` into a fresh dir, side by side in one run. Goal: ≤ 1.0×. The mirror runs in a process of
 * its own (`mirror-process.ts`), so serving costs neither side's process anything.
 *
 * Two archives of the same Debian headers, each served by its own mirror: what `bpf-compile pack` publishes (blocks that
 * xz ≥ 5.4 decodes on several cores — the mirror case the fetch source is for), and the kernel's own single-block
 * layout (built like gen_kheaders.sh), whose decoding is single-threaded for both sides.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { resolveHeaders } from '../lib/resolve.js';
import { packKheaders } from '../lib/pack/kheaders.js';
import { buildKheadersFixture, findDebianHeaderTrees, kheadersFixtureSkipReason } from '../test/helpers/kheaders-fixture.js';
import { updateMirrorIndex } from '../lib/pack/index-file.js';
import { hashFile } from '../lib/cache/stat-index.js';
import { defaultKheadersName } from '../lib/mirror/index-format.js';
import { startMirrorProcess } from './mirror-process.js';
import { printResults, sideBySide, type BenchResult } from './util.js';

const RUNS = Number(process.env['BENCH_RUNS'] ?? 11);

/** Serve `archive` as the x86 kheaders of `release` from a fresh mirror dir; time fetch vs curl | tar. */
async function fetchVsCurl(dir: string, label: string, archive: string, release: string, fsName: string): Promise<BenchResult> {
  const mirror = path.join(dir, `mirror-${label}`);
  await fs.mkdir(mirror);
  const name = defaultKheadersName(release, 'x86');
  await fs.copyFile(archive, path.join(mirror, name));
  const stat = await fs.stat(path.join(mirror, name));
  await updateMirrorIndex(mirror, { kind: 'kheaders', release, arch: 'x86', file: name, sha256: hashFile(path.join(mirror, name)), size: stat.size });
  const server = await startMirrorProcess(mirror);
  const root = path.join(dir, `empty-root-${label}`);
  await fs.mkdir(root);
  let n = 0;
  try {
    const r = await sideBySide(
      RUNS,
      () =>
        resolveHeaders({
          root,
          cacheDir: path.join(dir, `cache-${label}-${n++}`),
          kernelRelease: release,
          arch: 'x86_64',
          mirrors: [server.url],
          env: { PATH: process.env['PATH'] },
          loadModule: 'never',
          kind: 'kernel-tree',
        }),
      async () => {
        const out = path.join(dir, `curl-${label}-${n++}`);
        await fs.mkdir(out);
        await execa('sh', ['-c', `curl -sf '${server.url}/${name}' | tar -xJf - -C '${out}'`]);
      },
    );
    const mb = (stat.size / 1e6).toFixed(2);
    return {
      name: `fetch + verify + extract (cold, ${label}) vs curl | tar -xJf`,
      ...r,
      ratio: r.ours / r.baseline,
      note: `goal ≤ 1.0×; loopback mirror in its own process, ${mb} MB archive, into ${fsName}, ${RUNS} runs`,
    };
  } finally {
    await server.close();
  }
}

export async function runFetchBench(): Promise<BenchResult[]> {
  const skip = kheadersFixtureSkipReason();
  const trees = findDebianHeaderTrees();
  if (skip !== undefined || trees === undefined) {
    console.log(`fetch bench skipped: ${skip ?? 'no Debian headers'}`);
    return [];
  }
  // tmpfs when there is one: this VM's ext4 stalls for seconds under writeback, which swamps what is measured
  const fsDir = (await fs.stat('/dev/shm').then(
    (st) => st.isDirectory(),
    () => false,
  ))
    ? '/dev/shm'
    : os.tmpdir();
  const dir = await fs.mkdtemp(path.join(fsDir, 'bpfc-bench-fetch-'));
  try {
    const packed = await packKheaders({ sourceDir: trees.source, buildDir: trees.build, srcarch: trees.srcArch, outFile: path.join(dir, 'packed.tar.xz') });
    const kernelStyle = buildKheadersFixture();
    return [
      await fetchVsCurl(dir, 'pack archive', packed.file, packed.release, fsDir),
      await fetchVsCurl(dir, 'kernel-style archive', kernelStyle.archive, kernelStyle.release, fsDir),
    ];
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printResults('fetch', await runFetchBench());
