import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/** One benchmark line: ours against a baseline measured in the same run. */
export interface BenchResult {
  readonly name: string;
  /** Our median, seconds. */
  readonly ours: number;
  /** The baseline's median, seconds. */
  readonly baseline: number;
  /** ours / baseline. */
  readonly ratio: number;
  /** What the baseline is, the goal, extra figures. */
  readonly note?: string;
  /** Unit of `ours` and `baseline`. Default: `s`. */
  readonly unit?: 's' | 'ms' | 'MiB';
}

/** Median of numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Time `fn` once, seconds. */
export async function timeOnce(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

/**
 * Run ours and the baseline alternately `runs` times (after one warm-up each) so both see the same machine load,
 * and return the medians.
 */
export async function sideBySide(runs: number, ours: () => Promise<unknown>, baseline: () => Promise<unknown>): Promise<{ ours: number; baseline: number }> {
  await ours();
  await baseline();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(await timeOnce(ours));
    b.push(await timeOnce(baseline));
  }
  return { ours: median(a), baseline: median(b) };
}

/** Print results as a table. */
export function printResults(title: string, results: readonly BenchResult[]): void {
  console.log(`\n## ${title}`);
  for (const r of results) {
    const unit = r.unit ?? 's';
    const fmt = (x: number): string => `${x.toFixed(unit === 's' ? 3 : 1)} ${unit}`;
    console.log(`${r.name.padEnd(52)} ours ${fmt(r.ours)}  baseline ${fmt(r.baseline)}  ratio ${r.ratio.toFixed(2)}×${r.note === undefined ? '' : `  (${r.note})`}`);
  }
}

/** Run a command to completion, output discarded (synchronously: no event-loop latency in the timing); throws on failure. */
export function runQuiet(cmd: string, args: readonly string[]): Promise<void> {
  const r = spawnSync(cmd, [...args], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${String(r.status)}): ${r.stderr}`);
  return Promise.resolve();
}
