/**
 * `npm run bench`: every benchmark, each printing medians and ratios against a baseline run in the same process
 * tree. Performance is judged here, never by timed assertions in tests.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { printResults, type BenchResult } from './util.js';

/** Benchmark modules and the function each exports. */
const BENCHES: ReadonlyArray<readonly [title: string, file: string, fn: string]> = [
  ['whole process', 'cli.ts', 'runCliBench'],
  ['compile', 'compile.ts', 'runCompileBench'],
  ['warm headers', 'headers.ts', 'runHeadersBench'],
  ['extraction', 'extract.ts', 'runExtractBench'],
  ['fetch', 'fetch.ts', 'runFetchBench'],
  ['distro repositories', 'distro.ts', 'runDistroBench'],
  ['rpm repositories', 'distro-rpm.ts', 'runDistroRpmBench'],
  ['BTF → vmlinux.h', 'btf.ts', 'runBtfBench'],
  ['tailored BTF (btfgen)', 'btfgen.ts', 'runBtfgenBench'],
];

const only = process.argv.slice(2);
for (const [title, file, fn] of BENCHES) {
  if (only.length > 0 && !only.some((o) => file.startsWith(o))) continue;
  const p = path.join(import.meta.dirname, file);
  if (!fs.existsSync(p)) continue;
  const mod = (await import(pathToFileURL(p).href)) as Record<string, () => Promise<BenchResult[]>>;
  const run = mod[fn];
  if (run === undefined) continue;
  printResults(title, await run());
}
