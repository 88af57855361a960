/**
 * Many processes, one cold key: exactly one build; a kill -9 mid-extraction leaves nothing that
 * is ever used; a dead holder's lock is taken over.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { extractArchiveToCache } from '../../lib/archive/index.js';
import { ensureEntry, listEntries, prune } from '../../lib/cache/index.js';
import { lockPaths } from '../../lib/cache/lock.js';
import { buildKheadersFixture, kheadersFixtureSkipReason } from '../helpers/kheaders-fixture.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-conc-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Write a child script (ESM TypeScript run by tsx) and return its path. */
function childScript(name: string, body: string): string {
  const file = path.join(tmp, `${name}.mts`);
  fs.writeFileSync(
    file,
    `import { ensureEntry } from ${JSON.stringify(`${repo}/lib/cache/index.js`)};\nimport { extractArchiveToCache } from ${JSON.stringify(`${repo}/lib/archive/index.js`)};\nimport fs from 'node:fs';\n${body}`,
  );
  return file;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

function run(script: string, args: string[]): { child: ChildProcess; done: Promise<RunResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const done = new Promise<RunResult>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return { child, done };
}

describe('cache concurrency', () => {
  it('8 processes ensure one cold key → exactly one build, all see the complete tree', async () => {
    const cacheDir = path.join(tmp, 'c1');
    const counter = path.join(tmp, 'builds.log');
    const script = childScript(
      'ensure',
      `const [cacheDir, counter, startAt] = process.argv.slice(2);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const e = await ensureEntry({ cacheDir }, { namespace: 'test', key: 'k1', build: async (dir) => {
  fs.appendFileSync(counter, process.pid + '\\n');
  await new Promise((r) => setTimeout(r, 800));
  for (let i = 0; i < 50; i++) fs.writeFileSync(dir + '/f' + i, 'x'.repeat(i));
  return { files: 50, bytes: 1225 };
}});
const n = fs.readdirSync(e.dir).length;
console.log(JSON.stringify({ fromCache: e.fromCache, dir: e.dir, n, files: e.manifest.files }));`,
    );
    const startAt = String(Date.now() + 4000);
    const runs = Array.from({ length: 8 }, () => run(script, [cacheDir, counter, startAt]).done);
    const results = await Promise.all(runs);
    for (const r of results) assert.equal(r.code, 0, r.err);
    const parsed = results.map((r) => JSON.parse(r.out.trim()) as { fromCache: boolean; dir: string; n: number; files: number });
    assert.equal(fs.readFileSync(counter, 'utf8').trim().split('\n').length, 1, 'exactly one build');
    assert.equal(parsed.filter((p) => !p.fromCache).length, 1);
    assert.equal(new Set(parsed.map((p) => p.dir)).size, 1);
    for (const p of parsed) assert.equal(p.n, 50);
    assert.equal(listEntries({ cacheDir }).length, 1);
  });

  const skip = kheadersFixtureSkipReason();
  it('kill -9 during extraction: next ensure rebuilds, never uses the partial tree, cleans leftovers', { skip, timeout: 120_000 }, async () => {
    const fixture = buildKheadersFixture();
    const cacheDir = path.join(tmp, 'c2');
    const script = childScript(
      'extract',
      `const [cacheDir, archive] = process.argv.slice(2);
let n = 0;
await extractArchiveToCache(archive, { cache: { cacheDir }, decoder: 'lzma-native', onProgress: () => { n++; console.log('progress ' + n); } });
console.log('done');`,
    );
    for (const killAfter of [1, 8, 20]) {
      const { child, done } = run(script, [cacheDir, fixture.archive]);
      let seen = 0;
      await new Promise<void>((resolve) => {
        child.stdout?.on('data', (d: Buffer) => {
          seen += (d.toString().match(/progress/g) ?? []).length;
          if (seen >= killAfter && child.exitCode === null) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('close', () => resolve());
      });
      const r = await done;
      assert.equal(r.signal, 'SIGKILL', 'the child was killed mid-extraction');
      const ns = path.join(cacheDir, 'kheaders');
      const names = fs.readdirSync(ns);
      assert.ok(!names.some((n) => /^x\d+-[0-9a-f]{64}$/.test(n)), `killed after ${killAfter}: nothing may be published: ${names.join(',')}`);
      assert.ok(
        names.some((n) => n.startsWith('.tmp-')),
        'a partial temp tree was left (the crash case)',
      );
    }
    // The killed holder's lock: taken over at once (dead pid), not after the 30 s stale time.
    const t0 = Date.now();
    const res = await extractArchiveToCache(fixture.archive, { cache: { cacheDir } });
    const took = Date.now() - t0;
    assert.equal(res.fromCache, false);
    assert.equal(res.release, fixture.release);
    assert.ok(took < 20_000, `took ${took} ms`);
    const names = fs.readdirSync(path.join(cacheDir, 'kheaders'));
    assert.deepEqual(
      names.filter((n) => n.startsWith('.tmp-') || n.startsWith('.trash-')),
      [],
      'leftover temp dirs cleaned',
    );
    assert.equal(fs.readdirSync(path.join(res.dir, 'include/linux')).length > 500, true);
  });

  it('a holder keeps its lock fresh through a build longer than the stale time; a waiter waits for it', async () => {
    // proper-lockfile's floors: stale ≥ 2 s, refresh ≥ 1 s. The build runs 3.5 s, past the stale time twice over.
    const cacheDir = path.join(tmp, 'c-refresh');
    const lock = { staleMs: 2_000, updateMs: 1_000 };
    const base = path.join(cacheDir, 'test', 'slow');
    const mtimes: number[] = [];
    let waiter: Promise<{ fromCache: boolean }> | undefined;
    const holder = ensureEntry(
      { cacheDir },
      {
        namespace: 'test',
        key: 'slow',
        lock,
        build: async (d) => {
          for (let i = 0; i < 7; i++) {
            await new Promise((r) => setTimeout(r, 500));
            mtimes.push(fs.statSync(lockPaths(base).lockDir).mtimeMs);
            if (i === 4) waiter = ensureEntry({ cacheDir }, { namespace: 'test', key: 'slow', lock, build: async () => assert.fail('the waiter must not build') });
          }
          fs.writeFileSync(`${d}/a`, 'a');
          return { files: 1, bytes: 1 };
        },
      },
    );
    const built = await holder;
    assert.equal(built.fromCache, false);
    assert.ok(mtimes.at(-1)! - mtimes[0]! >= 2_000, `the lock's mtime was refreshed during the build (${mtimes.map((m) => m - mtimes[0]!).join(', ')} ms)`);
    assert.ok(waiter !== undefined);
    assert.equal((await waiter).fromCache, true, "the waiter found the lock fresh, waited, and got the holder's entry");
    assert.equal(fs.existsSync(lockPaths(base).lockDir), false, 'released');
  });

  it('a stale lock (holder gone, no owner record) is taken over after the stale time', async () => {
    const cacheDir = path.join(tmp, 'c3');
    // Create a lock dir like proper-lockfile's, with an old mtime and no owner file.
    await ensureEntry({ cacheDir }, { namespace: 'test', key: 'warmup', build: async (d) => (fs.writeFileSync(`${d}/a`, 'a'), { files: 1, bytes: 1 }) });
    const base = path.join(cacheDir, 'test', 'k2');
    const { lockDir } = lockPaths(base);
    fs.mkdirSync(lockDir);
    const old = new Date(Date.now() - 10_000);
    fs.utimesSync(lockDir, old, old);
    const t0 = Date.now();
    const e = await ensureEntry(
      { cacheDir },
      {
        namespace: 'test',
        key: 'k2',
        lock: { staleMs: 5_000, updateMs: 1_000 },
        build: async (d) => (fs.writeFileSync(`${d}/a`, 'a'), { files: 1, bytes: 1 }),
      },
    );
    assert.equal(e.fromCache, false);
    assert.ok(Date.now() - t0 < 2_000);
    // A fresh lock (mtime now) held by a live process we cannot see: wait, then CACHE_LOCKED.
    const base3 = path.join(cacheDir, 'test', 'k3');
    fs.mkdirSync(lockPaths(base3).lockDir);
    await assert.rejects(
      ensureEntry({ cacheDir }, { namespace: 'test', key: 'k3', lock: { staleMs: 60_000, timeoutMs: 500 }, build: async () => ({ files: 0, bytes: 0 }) }),
      (err: unknown) => (err as { code?: string }).code === 'CACHE_LOCKED',
    );
    const r = await prune({ cacheDir });
    assert.ok(Array.isArray(r.leftoversRemoved));
  });
});
