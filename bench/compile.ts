/**
 * Compile benchmark: bpf-compile against the bare clang | opt | llc pipeline (same arguments, run by sh) on the same
 * kernel-headers program, side by side in one run. Goal: ≤ 1.05×.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { compile, planCompile } from '../lib/compile/index.js';
import { installedHeaders } from '../test/helpers/bpf.js';
import { printResults, sideBySide, type BenchResult } from './util.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const RUNS = Number(process.env['BENCH_RUNS'] ?? 7);

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export async function runCompileBench(): Promise<BenchResult[]> {
  const headers = await installedHeaders();
  if (headers === undefined) {
    console.log('compile bench skipped: no installed kernel headers under /lib/modules');
    return [];
  }
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bpfc-bench-'));
  try {
    const source = path.join(ROOT, 'examples/task_exec.bpf.c');
    const out = path.join(dir, 'ours.o');
    const planned = await planCompile({ source, output: path.join(dir, 'bare.o'), kernelRelease: headers.release });
    if (planned.plan.mode !== 'kernel') throw new Error('expected kernel mode');
    const { clang, opt, llc } = planned.plan;
    const t = planned.toolchain;
    const bareCmd = `${q(t.clang.path)} ${clang.map(q).join(' ')} | ${q(t.opt!.path)} ${opt.map(q).join(' ')} | ${q(t.llc!.path)} ${llc.map(q).join(' ')}`;
    const bare = () => execa('sh', ['-c', bareCmd]);

    const lib = await sideBySide(RUNS, () => compile({ source, output: out, kernelRelease: headers.release, cache: false }), bare);
    const cli = await sideBySide(
      RUNS,
      () => execa('node', [path.join(ROOT, 'dist/bin/bpf-compile.cjs'), 'compile', source, '-o', out, '--kernel-release', headers.release, '--no-cache']),
      bare,
    );
    const nodeStart = await sideBySide(
      RUNS,
      () => execa('node', ['-e', '0']),
      () => execa('true'),
    );
    const cacheDir = path.join(dir, 'cache');
    const cliArgs = [path.join(ROOT, 'dist/bin/bpf-compile.cjs'), 'compile', source, '-o', out, '--kernel-release', headers.release, '--cache-dir', cacheDir];
    await execa('node', cliArgs); // fill the cache
    const cached = await sideBySide(
      RUNS,
      () => execa('node', cliArgs),
      () => execa('node', [...cliArgs, '--no-cache']),
    );
    return [
      { name: 'compile() in-process vs bare clang|opt|llc', ...lib, ratio: lib.ours / lib.baseline, note: 'goal ≤ 1.05×' },
      { name: 'bpf-compile CLI --no-cache (whole process) vs bare', ...cli, ratio: cli.ours / cli.baseline, note: `includes node start-up, ${nodeStart.ours.toFixed(3)} s here` },
      { name: 'CLI compile, unchanged program (cache hit) vs --no-cache', ...cached, ratio: cached.ours / cached.baseline, note: 'goal ≤ 0.06 s and ≥ 10× faster' },
    ];
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) printResults('compile', await runCompileBench());
