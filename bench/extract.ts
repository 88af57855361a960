/**
 * Extraction benchmarks (medians), run with `node --import tsx bench/extract.ts`:
 *
 * - cold extraction of the gen_kheaders-style archive of the Debian headers into a fresh dir,
 *   ours vs GNU `tar -xJf` (goal ≤ 0.9×), on the temp dir's filesystem and on /dev/shm (tmpfs), and of the same
 *   headers as `pack` writes them (several xz blocks);
 *   runs are interleaved and nothing is deleted until the end (a big `rm -rf` right before a
 *   run slows file creation on this VM's ext4 by >10×);
 * - 16 concurrent cold resolvers (child processes, same cache) vs one (goal ≤ 1.3×, exactly one
 *   extraction);
 * - peak RSS of a child process doing a cold extraction (goal ≤ 100 MiB);
 * - warm resolve: stat-index hit vs re-hashing.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { extractArchive } from '../lib/archive/index.js';
import { extractArchiveToCache } from '../lib/archive/index.js';
import { hashFile } from '../lib/cache/index.js';
import { packKheaders } from '../lib/pack/kheaders.js';
import { buildKheadersFixture, findDebianHeaderTrees, kheadersFixtureSkipReason } from '../test/helpers/kheaders-fixture.js';
import { median, type BenchResult } from './util.js';

export type { BenchResult } from './util.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function result(name: string, ours: number, baseline: number, note?: string, unit: 'ms' | 'MiB' = 'ms'): BenchResult {
  return {
    name,
    ours: Math.round(ours * 10) / 10,
    baseline: Math.round(baseline * 10) / 10,
    ratio: Math.round((ours / baseline) * 100) / 100,
    unit,
    ...(note === undefined ? {} : { note }),
  };
}

async function coldExtraction(archive: string, base: string, runs: number, decoder: 'auto' | 'lzma-native', label: string): Promise<BenchResult> {
  fs.mkdirSync(base, { recursive: true });
  const ours: number[] = [];
  const tar: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await extractArchive(archive, path.join(base, `ours-${i}`), { decoder });
    ours.push(performance.now() - t0);
    const dir = path.join(base, `tar-${i}`);
    fs.mkdirSync(dir);
    const t1 = performance.now();
    execFileSync('tar', ['-xJf', archive, '-C', dir]);
    tar.push(performance.now() - t1);
  }
  return result(
    `cold extraction ms (${label}, decoder ${decoder}) vs GNU tar -xJf`,
    median(ours),
    median(tar),
    `runs=${runs}; ours ${ours.map((x) => x.toFixed(0)).join('/')}, tar ${tar.map((x) => x.toFixed(0)).join('/')}`,
  );
}

function writeChild(dir: string): string {
  const file = path.join(dir, 'resolver.mts');
  fs.writeFileSync(
    file,
    `import { extractArchiveToCache } from ${JSON.stringify(`${repo}/lib/archive/index.js`)};
const [archive, cacheDir, startAt] = process.argv.slice(2);
const ready = Date.now();
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const r = await extractArchiveToCache(archive, { cache: { cacheDir } });
console.log(JSON.stringify({ fromCache: r.fromCache, ready, end: Date.now(), maxRSS: process.resourceUsage().maxRSS }));
`,
  );
  return file;
}

interface ChildReport {
  fromCache: boolean;
  ready: number;
  end: number;
  maxRSS: number;
}

async function resolvers(script: string, archive: string, cacheDir: string, n: number): Promise<{ wall: number; reports: ChildReport[]; startAt: number }> {
  const startAt = Date.now() + 3000 + n * 1200;
  const reports = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ChildReport>((resolve, reject) => {
          const c = spawn(process.execPath, ['--import', 'tsx', script, archive, cacheDir, String(startAt)], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
          let out = '';
          c.stdout.on('data', (d: Buffer) => (out += d.toString()));
          c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as ChildReport) : reject(new Error(`child exited ${code}`))));
        }),
    ),
  );
  return { wall: Math.max(...reports.map((r) => r.end)) - startAt, reports, startAt };
}

/** Run every extraction benchmark; returns the figures (also printed by the CLI entry). */
export async function runExtractBench(): Promise<BenchResult[]> {
  const skip = kheadersFixtureSkipReason();
  if (skip !== undefined) return [{ name: 'extract bench skipped', ours: 0, baseline: 0, ratio: 0, note: skip }];
  const fixture = buildKheadersFixture();
  const out: BenchResult[] = [];
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-bench-'));
  const shm = fs.existsSync('/dev/shm') ? fs.mkdtempSync('/dev/shm/bpfc-bench-') : undefined;
  try {
    // Warm up module loading and the page cache.
    await extractArchive(fixture.archive, path.join(work, 'warmup'));
    out.push(await coldExtraction(fixture.archive, path.join(work, 'disk'), 5, 'auto', `fs of ${os.tmpdir()}`));
    if (shm !== undefined) {
      out.push(await coldExtraction(fixture.archive, path.join(shm, 'a'), 5, 'auto', 'tmpfs'));
      out.push(await coldExtraction(fixture.archive, path.join(shm, 'b'), 3, 'lzma-native', 'tmpfs'));
    }
    // the same headers as `pack` publishes them: blocks that xz decodes on several cores
    const trees = findDebianHeaderTrees();
    if (trees !== undefined) {
      const packed = await packKheaders({ sourceDir: trees.source, buildDir: trees.build, srcarch: trees.srcArch, outFile: path.join(work, 'packed.tar.xz') });
      out.push(await coldExtraction(packed.file, path.join(shm ?? work, 'p'), 5, 'auto', `pack archive, ${shm === undefined ? os.tmpdir() : 'tmpfs'}`));
    }

    const script = writeChild(work);
    const one: number[] = [];
    const many: number[] = [];
    let extractions = '';
    let rss: number[] = [];
    let late = 0;
    for (let i = 0; i < 3; i++) {
      const a = await resolvers(script, fixture.archive, path.join(work, `c1-${i}`), 1);
      one.push(a.wall);
      rss.push(...a.reports.map((r) => r.maxRSS));
      const b = await resolvers(script, fixture.archive, path.join(work, `c16-${i}`), 16);
      many.push(b.wall);
      late += b.reports.filter((r) => r.ready > b.startAt).length;
      extractions += `${b.reports.filter((r) => !r.fromCache).length}/`;
    }
    out.push(
      result(
        '16 concurrent cold resolvers vs 1 (ms, from a common start)',
        median(many),
        median(one),
        `extractions per 16-run: ${extractions.slice(0, -1)}; children not ready at start: ${late}`,
      ),
    );

    // Peak RSS: the child resolver vs a child that only loads the modules.
    const idle = path.join(work, 'idle.mts');
    fs.writeFileSync(idle, `import ${JSON.stringify(`${repo}/lib/cache/index.js`)};\nconsole.log(process.resourceUsage().maxRSS);\n`);
    const idleRss = Number(execFileSync(process.execPath, ['--import', 'tsx', idle], { cwd: repo, encoding: 'utf8' }).trim());
    rss = rss.map((k) => k / 1024);
    out.push(
      result(
        'peak RSS of a cold extraction child (MiB) vs the same child idle',
        median(rss),
        idleRss / 1024,
        'node + tsx loader; the xz child (~10 MiB) is a separate process and not included',
        'MiB',
      ),
    );

    // Warm resolve: index hit vs hashing every time.
    const cacheDir = path.join(work, 'c1-0');
    const warm: number[] = [];
    const hash: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const r = await extractArchiveToCache(fixture.archive, { cache: { cacheDir } });
      warm.push(performance.now() - t0);
      if (!r.fromCache) throw new Error('expected a warm hit');
      const t1 = performance.now();
      hashFile(fixture.archive);
      hash.push(performance.now() - t1);
    }
    out.push(result('warm resolve (ms, stat index) vs hashing the archive alone', median(warm), median(hash)));
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
    if (shm !== undefined) fs.rmSync(shm, { recursive: true, force: true });
  }
  return out;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const results = await runExtractBench();
  for (const r of results) console.log(`${r.name}: ours ${r.ours} / baseline ${r.baseline} = ${r.ratio}×${r.note === undefined ? '' : `  (${r.note})`}`);
}
