/**
 * Whole-process benchmark (issue #15): the bundled CLI as a Makefile or npm script runs it (`node
 * dist/bin/bpf-compile.cjs …`, no npx), each row paired and alternating with its anchor, medians of BENCH_RUNS
 * (default 9; at least 25 for the rows of ~0.1 s), caches and scratch on /dev/shm.
 *
 *   node --import tsx bench/cli.ts                           (also part of `npm run bench`)
 *   BPFC_CLI=/path/to/other/bpf-compile.cjs node --import tsx bench/cli.ts   (the same rows for another build: before/after)
 *
 * Rows: `--version` and a warm `headers` against `node -e 0`; an object-cache hit as `node -e 0` + N ms; `compile
 * --no-cache` against the bare `clang | opt | llc` it runs; a cold `headers` (kheaders extraction into an empty cache)
 * against `tar -xJf` of the same archive; a cold `vmlinux` (empty cache) against `bpftool btf dump … format c`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planCompile } from '../lib/compile/index.js';
import { SYSFS_VMLINUX } from '../lib/btf/load.js';
import { installedHeaders } from '../test/helpers/bpf.js';
import { buildKheadersFixture, kheadersFixtureSkipReason } from '../test/helpers/kheaders-fixture.js';
import { runQuiet as run, sideBySide, type BenchResult } from './util.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = process.env['BPFC_CLI'] ?? path.join(ROOT, 'dist/bin/bpf-compile.cjs');
const RUNS = Math.max(7, Number(process.env['BENCH_RUNS'] ?? 9));
/** Rows of a tenth of a second: this VM's jitter (±10 ms) needs more pairs for a stable median. */
const FAST_RUNS = Math.max(RUNS, 25);

const cli = (...args: string[]): Promise<void> => run(process.execPath, [CLI, ...args]);
const node0 = (): Promise<void> => run(process.execPath, ['-e', '0']);
const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

function row(name: string, r: { ours: number; baseline: number }, note: string): BenchResult {
  return { name, ours: r.ours, baseline: r.baseline, ratio: r.ours / r.baseline, note };
}

/** Every row that can run here (a row whose inputs are missing is left out, with a line saying why). */
export async function runCliBench(): Promise<BenchResult[]> {
  if (!fs.existsSync(CLI)) {
    console.log(`cli bench skipped: ${CLI} is not built (npm run build)`);
    return [];
  }
  const scratch = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'bpfc-bench-cli-'));
  const results: BenchResult[] = [];
  try {
    // node reads NODE_EXTRA_CA_CERTS when it starts, whatever the program: every row's node process pays for it
    // (this VM's environment sets it), the anchors that are not node processes do not
    if ((process.env['NODE_EXTRA_CA_CERTS'] ?? '') !== '') {
      const without = (): Promise<void> => run('env', ['-u', 'NODE_EXTRA_CA_CERTS', process.execPath, '-e', '0']);
      results.push(row('node -e 0, NODE_EXTRA_CA_CERTS set vs unset', await sideBySide(FAST_RUNS, node0, without), 'node start-up, not bpf-compile'));
    }
    await cli('--version'); // the V8 code cache of a fresh build is written by its first run
    results.push(row('`--version` vs node -e 0', await sideBySide(FAST_RUNS, () => cli('--version'), node0), "the bundle's load on every path"));

    // kheaders: warm, then cold (a fresh cache each run) against tar -xJf of the same archive
    const skip = kheadersFixtureSkipReason();
    if (skip === undefined) {
      const fx = buildKheadersFixture();
      const rootDir = path.join(scratch, 'root');
      fs.mkdirSync(path.join(rootDir, 'sys/kernel'), { recursive: true });
      fs.copyFileSync(fx.archive, path.join(rootDir, 'sys/kernel/kheaders.tar.xz'));
      const hdr = (cache: string): string[] => ['headers', '--root', rootDir, '--cache-dir', cache, '--kernel-release', fx.release, '--load-module', 'never'];
      const warmCache = path.join(scratch, 'warm-cache');
      await cli(...hdr(warmCache));
      results.push(row('warm `headers` (kheaders, cached) vs node -e 0', await sideBySide(FAST_RUNS, () => cli(...hdr(warmCache)), node0), 'goal ≤ 1.3×'));
      let n = 0;
      const cold = async (): Promise<void> => {
        const c = path.join(scratch, `cold-${n++}`);
        await cli(...hdr(c));
        fs.rmSync(c, { recursive: true, force: true });
      };
      const tar = async (): Promise<void> => {
        const d = path.join(scratch, `tar-${n++}`);
        fs.mkdirSync(d);
        await run('tar', ['-xJf', fx.archive, '-C', d]);
        fs.rmSync(d, { recursive: true, force: true });
      };
      results.push(
        row(
          'cold `headers` (kheaders extraction, tmpfs) vs tar -xJf',
          await sideBySide(RUNS, cold, tar),
          `${fx.files} files; each side removes its tree inside the timing; goal ≤ 1.2×`,
        ),
      );
    } else {
      console.log(`cli bench: kheaders rows skipped: ${skip}`);
    }

    // compile: an object-cache hit (node -e 0 + N ms), and --no-cache against the bare pipeline
    const headers = await installedHeaders();
    if (headers !== undefined) {
      const source = path.join(ROOT, 'examples/task_exec.bpf.c');
      const out = path.join(scratch, 'task_exec.o');
      const cache = path.join(scratch, 'object-cache');
      const args = ['compile', source, '-o', out, '--kernel-release', headers.release, '--cache-dir', cache];
      await cli(...args);
      const hit = await sideBySide(FAST_RUNS, () => cli(...args), node0);
      results.push({
        name: 'compile, object-cache hit vs node -e 0',
        ours: hit.ours,
        baseline: hit.baseline,
        ratio: hit.ours / hit.baseline,
        note: `node -e 0 + ${((hit.ours - hit.baseline) * 1000).toFixed(0)} ms; goal ≤ + 25 ms`,
      });
      const planned = await planCompile({ source, output: path.join(scratch, 'bare.o'), kernelRelease: headers.release });
      if (planned.plan.mode === 'kernel') {
        const { clang, opt, llc } = planned.plan;
        const t = planned.toolchain;
        const bare = `${q(t.clang.path)} ${clang.map(q).join(' ')} | ${q(t.opt!.path)} ${opt.map(q).join(' ')} | ${q(t.llc!.path)} ${llc.map(q).join(' ')}`;
        results.push(
          row(
            'compile --no-cache (kernel mode) vs bare clang|opt|llc',
            await sideBySide(
              RUNS,
              () => cli(...args, '--no-cache'),
              () => run('sh', ['-c', bare]),
            ),
            'goal ≤ 1.1×',
          ),
        );
      }
    } else {
      console.log('cli bench: compile rows skipped: no installed kernel headers under /lib/modules');
    }

    // vmlinux, cold: a fresh cache each run, against bpftool
    if (fs.existsSync(SYSFS_VMLINUX) && spawnSync('bpftool', ['version']).status === 0) {
      let n = 0;
      const cold = async (): Promise<void> => {
        const c = path.join(scratch, `btf-${n++}`);
        await cli('vmlinux', '--cache-dir', c, '-o', path.join(scratch, 'vmlinux.h'));
        fs.rmSync(c, { recursive: true, force: true });
      };
      results.push(
        row(
          'cold `vmlinux` (5–6 MB BTF) vs bpftool btf dump format c',
          await sideBySide(RUNS, cold, () => run('bpftool', ['btf', 'dump', 'file', SYSFS_VMLINUX, 'format', 'c'])),
          'goal ≤ 1.5×',
        ),
      );
    } else {
      console.log('cli bench: vmlinux row skipped: needs /sys/kernel/btf/vmlinux and bpftool');
    }
    return results;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const { printResults } = await import('./util.js');
  printResults(`whole process (${CLI})`, await runCliBench());
}
