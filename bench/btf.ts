/**
 * BTF → vmlinux.h benchmark: our generator vs `bpftool btf dump file /sys/kernel/btf/vmlinux format c`.
 *
 *   node --import tsx bench/btf.ts            print the comparison (also part of `npm run bench`)
 *   node --import tsx bench/btf.ts --emit     generate the header to stdout (for profiling)
 *
 * Figures are medians of several runs, wall time in seconds. "in process" times parse + dump in an already running,
 * warmed-up process; the CLI rows spawn the real, bundled CLI (`dist/bin/bpf-compile.cjs vmlinux`), cold (fresh cache)
 * and cached, so they include node start-up and a cold JIT.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dumpCHeader, generateVmlinuxHeader, parseBtf } from '../lib/btf/index.js';
import { median, type BenchResult } from './util.js';

export type { BenchResult } from './util.js';

const VMLINUX = '/sys/kernel/btf/vmlinux';
const SELF = fileURLToPath(import.meta.url);
const RUNS = 7;

/** Run a command with stdout to /dev/null; returns wall seconds and peak RSS (KiB, from /usr/bin/time when present). */
function timeCommand(cmd: string, args: readonly string[]): { wall: number; rssKiB: number | undefined } {
  const devnull = openSync('/dev/null', 'w');
  try {
    const useTime = existsSync('/usr/bin/time');
    const t0 = process.hrtime.bigint();
    const r = useTime
      ? spawnSync('/usr/bin/time', ['-f', '%M', cmd, ...args], { stdio: ['ignore', devnull, 'pipe'], encoding: 'utf8' })
      : spawnSync(cmd, [...args], { stdio: ['ignore', devnull, 'pipe'], encoding: 'utf8' });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}`);
    const rss = useTime ? Number(/(\d+)\s*$/.exec(r.stderr)?.[1]) : undefined;
    return { wall, rssKiB: Number.isFinite(rss) ? rss : undefined };
  } finally {
    closeSync(devnull);
  }
}

function medianOf(cmd: string, args: readonly string[], runs = RUNS): { wall: number; rssKiB: number | undefined } {
  const walls: number[] = [];
  const rss: number[] = [];
  for (let i = 0; i < runs; i++) {
    const r = timeCommand(cmd, args);
    walls.push(r.wall);
    if (r.rssKiB !== undefined) rss.push(r.rssKiB);
  }
  return { wall: median(walls), rssKiB: rss.length > 0 ? median(rss) : undefined };
}

const kib = (n: number | undefined): string => (n === undefined ? '?' : `${(n / 1024).toFixed(0)} MiB`);

/** Run the benchmark; returns one result per configuration (empty when there is no sysfs BTF or bpftool). */
export async function runBtfBench(): Promise<BenchResult[]> {
  if (!existsSync(VMLINUX)) return [];
  if (spawnSync('bpftool', ['version']).status !== 0) return [];
  const base = medianOf('bpftool', ['btf', 'dump', 'file', VMLINUX, 'format', 'c']);
  const results: BenchResult[] = [];

  // in process, warmed up: parse + dump of the same bytes
  const data = readFileSync(VMLINUX);
  const inproc: number[] = [];
  const parseT: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = performance.now();
    const btf = parseBtf(data);
    const t1 = performance.now();
    dumpCHeader(btf);
    const t2 = performance.now();
    if (i >= 2) {
      inproc.push((t2 - t0) / 1000);
      parseT.push((t1 - t0) / 1000);
    }
  }
  const ip = median(inproc);
  results.push({
    name: 'in process (warm): parse + dump',
    ours: ip,
    baseline: base.wall,
    ratio: ip / base.wall,
    note: `parse ${(median(parseT) * 1000).toFixed(0)} ms; bpftool peak RSS ${kib(base.rssKiB)}; our heap+rss now ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`,
  });

  // the real CLI, whole process: cold (a fresh cache dir each run) and warm (cached)
  const cli = path.join(path.dirname(SELF), '..', 'dist', 'bin', 'bpf-compile.cjs');
  if (existsSync(cli)) {
    const cold = medianOf('sh', ['-c', `d=$(mktemp -d) && "${process.execPath}" "${cli}" vmlinux --cache-dir "$d/c" > /dev/null; rc=$?; rm -rf "$d"; exit $rc`], 5);
    results.push({
      name: 'bpf-compile vmlinux, cold (generate + cache)',
      ours: cold.wall,
      baseline: base.wall,
      ratio: cold.wall / base.wall,
      note: `peak RSS ${kib(cold.rssKiB)} vs bpftool ${kib(base.rssKiB)}; includes mktemp/rm of the cache dir`,
    });
    const dir = mkdtempSync(path.join(tmpdir(), 'btf-bench-'));
    try {
      const args = [cli, 'vmlinux', '--cache-dir', path.join(dir, 'c'), '-o', path.join(dir, 'vmlinux.h')];
      spawnSync(process.execPath, args);
      const warm = medianOf(process.execPath, args, 7);
      const node0 = medianOf(process.execPath, ['-e', '0'], 7);
      results.push({
        name: 'bpf-compile vmlinux, cached',
        ours: warm.wall,
        baseline: base.wall,
        ratio: warm.wall / base.wall,
        note: `node -e 0 takes ${node0.wall.toFixed(3)} s here; peak RSS ${kib(warm.rssKiB)}`,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return results;
}

function print(results: readonly BenchResult[]): void {
  if (results.length === 0) {
    console.log(`btf bench skipped: needs ${VMLINUX} and bpftool`);
    return;
  }
  console.log(`vmlinux.h generation vs bpftool btf dump … format c (median wall seconds, lower is better)`);
  const w = Math.max(...results.map((r) => r.name.length));
  console.log(`${'configuration'.padEnd(w)}   ours     bpftool  ratio`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(w)}   ${r.ours.toFixed(3).padStart(6)}   ${r.baseline.toFixed(3).padStart(6)}   ${r.ratio.toFixed(2)}x${r.note === undefined ? '' : `   (${r.note})`}`,
    );
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === SELF) {
  if (process.argv.includes('--emit')) {
    process.stdout.write(await generateVmlinuxHeader());
  } else if (!process.argv.includes('--noop')) {
    print(await runBtfBench());
  }
}
