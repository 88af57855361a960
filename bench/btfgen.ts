/**
 * Tailored BTF benchmark: `bpf-compile btfgen` vs `bpftool gen min_core_btf`, on the CO-RE examples against this
 * machine's BTF (5–6 MB), whole process, paired and alternating (medians of BENCH_RUNS, default 9), on /dev/shm.
 *
 *   node --import tsx bench/btfgen.ts       (also part of `npm run bench`)
 *
 * Rows: one kernel (the issue's row: bpftool's own case), the same in a warm process (what the algorithm costs
 * without node's start-up), eight kernels in one call vs eight bpftool processes (a btfhub tree is thousands) — all
 * with `--force` — and a rerun with the eight outputs up to date (the prebuild case).
 * Sizes: the tailored files of both tools, in the note.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { vmlinuxHeaderFromCache } from '../lib/btf/cache.js';
import { SYSFS_VMLINUX } from '../lib/btf/load.js';
import { btfgen } from '../lib/btfgen/index.js';
import { coreClangArgs } from '../test/helpers/bpf.js';
import { median, runQuiet as run, sideBySide, timeOnce, type BenchResult } from './util.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CLI = path.join(ROOT, 'dist/bin/bpf-compile.cjs');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 9);
const EXAMPLES = ['core_kprobe', 'core_exec', 'core_kfunc'];
const KERNELS = 8;

/** The comparison; empty when there is no sysfs BTF, bpftool with min_core_btf, clang or the built CLI. */
export async function runBtfgenBench(): Promise<BenchResult[]> {
  if (!fs.existsSync(SYSFS_VMLINUX) || !fs.existsSync(CLI)) return [];
  const help = spawnSync('bpftool', ['gen', 'help'], { encoding: 'utf8' });
  if (help.status !== 0 || !`${help.stdout}${help.stderr}`.includes('min_core_btf')) return [];
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'bpfc-bench-btfgen-'));
  try {
    const h = await vmlinuxHeaderFromCache({ cache: { cacheDir: path.join(dir, 'cache') } });
    const objects: string[] = [];
    for (const name of EXAMPLES) {
      const out = path.join(dir, `${name}.bpf.o`);
      await execa('clang', coreClangArgs(h.dir, path.join(ROOT, 'examples', `${name}.bpf.c`), out));
      objects.push(out);
    }
    const kernel = path.join(dir, 'vmlinux.btf');
    fs.copyFileSync(SYSFS_VMLINUX, kernel);
    const many = path.join(dir, 'many');
    fs.mkdirSync(many);
    for (let i = 0; i < KERNELS; i++) fs.copyFileSync(kernel, path.join(many, `k${i}.btf`));
    const theirsOut = path.join(dir, 'bpftool.btf');
    const results: BenchResult[] = [];
    const ours1 = (): Promise<void> => run(process.execPath, [CLI, 'btfgen', ...objects, '--btf', kernel, '-o', path.join(dir, 'o1'), '--force', '-q']);
    const theirs1 = (): Promise<void> => run('bpftool', ['gen', 'min_core_btf', kernel, theirsOut, ...objects]);
    const one = await sideBySide(RUNS, ours1, theirs1);
    const node0: number[] = [];
    for (let i = 0; i < RUNS; i++) node0.push(await timeOnce(() => run(process.execPath, ['-e', '0'])));
    const sizeOurs = fs.statSync(path.join(dir, 'o1', 'vmlinux.btf')).size;
    const sizeTheirs = fs.statSync(theirsOut).size;
    results.push({
      name: `btfgen ${EXAMPLES.length} CO-RE examples, 1 kernel (whole process)`,
      ours: one.ours,
      baseline: one.baseline,
      ratio: one.ours / one.baseline,
      note: `bpftool gen min_core_btf; tailored ${sizeOurs} B vs bpftool ${sizeTheirs} B; node -e 0 alone ${median(node0).toFixed(3)} s; goal ≤ 1.0×`,
    });
    const warm = await sideBySide(RUNS, () => btfgen({ objects, btf: [kernel], outDir: path.join(dir, 'o2'), force: true }), theirs1);
    results.push({
      name: 'btfgen, 1 kernel, in a warm process',
      ours: warm.ours,
      baseline: warm.baseline,
      ratio: warm.ours / warm.baseline,
      note: 'library call (read + parse + tailor + write) vs the bpftool process',
    });
    const oursMany = (): Promise<void> => run(process.execPath, [CLI, 'btfgen', ...objects, '--btf', many, '-o', path.join(dir, 'o3'), '--force', '-q']);
    const theirsMany = (): Promise<void> =>
      run('sh', [
        '-c',
        `for i in $(seq 0 ${KERNELS - 1}); do bpftool gen min_core_btf "${many}/k$i.btf" "${dir}/b$i.btf" ${objects.map((o) => `"${o}"`).join(' ')} || exit 1; done`,
      ]);
    const m = await sideBySide(Math.max(3, Math.ceil(RUNS / 2)), oursMany, theirsMany);
    results.push({
      name: `btfgen, ${KERNELS} kernels in one call`,
      ours: m.ours,
      baseline: m.baseline,
      ratio: m.ours / m.baseline,
      note: `vs ${KERNELS} bpftool processes in a shell loop`,
    });
    const rerun = (): Promise<void> => run(process.execPath, [CLI, 'btfgen', ...objects, '--btf', many, '-o', path.join(dir, 'o4'), '-q']);
    await rerun();
    const r = await sideBySide(Math.max(3, Math.ceil(RUNS / 2)), rerun, theirsMany);
    results.push({
      name: `btfgen rerun, ${KERNELS} kernels up to date`,
      ours: r.ours,
      baseline: r.baseline,
      ratio: r.ours / r.baseline,
      note: `a prebuild step run again with nothing changed, vs ${KERNELS} bpftool processes (which have no such check)`,
    });
    return results;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  const { printResults } = await import('./util.js');
  printResults('btfgen vs bpftool gen min_core_btf', await runBtfgenBench());
}
