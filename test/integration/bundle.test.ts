// The bundled CLI (dist/bin, npm test builds it first): every command reaches the code it loads on demand. The bundle
// splits code into chunks and loads a command's (and its action's) chunks lazily; a chunk graph that waits for itself
// (a dynamic import of a chunk depending on a module that is still evaluating) ends the process with node's exit code
// 13 and no message, which unbundled runs (tsx) never show — so each command runs here through dist/.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { spawn } from 'node:child_process';
import { exec } from '../../lib/system/exec.js';
import { buildKheadersFixture, kheadersFixtureSkipReason } from '../helpers/kheaders-fixture.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CLI = path.join(ROOT, 'dist/bin/bpf-compile.cjs');
let tmp: string;

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-bundle-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** [arguments, expected exit code, what stdout or stderr must say]: each one runs the command's lazily loaded action. */
const RUNS: ReadonlyArray<readonly [string[], number, RegExp]> = [
  [['--version'], 0, /^\d+\.\d+\.\d+/],
  [['init', '--list'], 0, /\S/],
  [['cache', 'path', '--cache-dir', '<tmp>/cache'], 0, /cache/],
  [['cache', 'list', '--cache-dir', '<tmp>/cache'], 0, /^/],
  [['doctor', '--json'], 0, /"toolchain"/],
  [['headers', '--kernel-release', '0.0.0-none', '--sources', 'modules', '--cache-dir', '<tmp>/cache'], 3, /no kernel headers found/],
  [['fetch', '--mirror', 'http://127.0.0.1:9/', '--kernel-release', '0.0.0-none', '--cache-dir', '<tmp>/cache'], 3, /no kernel headers found/],
  [['pack', '--from-modules', '--kernel-release', '0.0.0-none', '-o', '<tmp>/mirror'], 3, /no kernel headers found/],
  [['vmlinux', '--btf', '<tmp>/missing.btf', '-o', '<tmp>/vmlinux.h', '--cache-dir', '<tmp>/cache'], 5, /cannot read base BTF/],
  [['compile', '<tmp>/missing.bpf.c', '-o', '<tmp>/x.o', '--cache-dir', '<tmp>/cache'], 5, /cannot read/],
  [['btfgen', '<tmp>/missing.o', '--btf', '<tmp>/missing.btf', '-o', '<tmp>/btfgen'], 5, /cannot read kernel BTF input/],
  [['build', '<tmp>/missing.bpf.c', '--out-dir', '<tmp>/out', '--cache-dir', '<tmp>/cache'], 1, /0 built, 1 failed/],
  [['cflags', '--kernel-release', '0.0.0-none', '--cache-dir', '<tmp>/cache'], 0, /-target|-I|-D/],
];

test('the earlier executable name (dist/bin/bpf-compile.mjs, which older npx links point to) still runs the CLI', async () => {
  const r = await exec(process.execPath, [path.join(ROOT, 'dist/bin/bpf-compile.mjs'), 'init', '--list'], { timeoutMs: 60_000 });
  assert.equal(r.exitCode, 0, r.all);
  assert.match(r.stdout, /\S/);
});

for (const [args, code, said] of RUNS) {
  test(`bundled CLI: bpf-compile ${args.slice(0, 2).join(' ')} runs to its exit code (${code})`, async () => {
    const argv = args.map((a) => a.replace('<tmp>', tmp));
    const r = await exec(process.execPath, [CLI, ...argv], { timeoutMs: 60_000 });
    assert.notEqual(r.exitCode, 13, `exit 13: the bundle's chunks waited for each other\n${r.all}`);
    assert.equal(r.exitCode, code, r.all);
    assert.match(r.all, said);
  });
}

test('the executable keeps V8 bytecode beside the bundle (.v8-cache), and bytecode that is garbage does no harm', async () => {
  const bin = path.join(tmp, 'bin');
  fs.cpSync(path.join(ROOT, 'dist/bin'), bin, { recursive: true, filter: (src) => path.basename(src) !== '.v8-cache' });
  const exe = path.join(bin, 'bpf-compile.cjs');
  const first = await exec(process.execPath, [exe, '--version'], { timeoutMs: 60_000 });
  assert.equal(first.exitCode, 0, first.all);
  const cacheDir = path.join(bin, '.v8-cache');
  const files = fs.readdirSync(cacheDir);
  assert.ok(
    files.some((f) => /^cli\.cjs\.any\.\d+\.\d+\.v8$/.test(f)),
    `bytecode of the CLI's entry after one run: ${files.join(', ')}`,
  );
  for (const f of files) fs.writeFileSync(path.join(cacheDir, f), Buffer.alloc(256, 0x5a));
  const second = await exec(process.execPath, [exe, '--version'], { timeoutMs: 60_000 });
  assert.equal(second.exitCode, 0, second.all);
  assert.equal(second.stdout, first.stdout);
  for (const f of files) assert.notDeepEqual(fs.readFileSync(path.join(cacheDir, f)), Buffer.alloc(256, 0x5a), `${f} replaced`);
  const off = await exec(process.execPath, [exe, 'init', '--list'], { timeoutMs: 60_000, env: { ...process.env, BPF_COMPILE_CODE_CACHE: '0' } });
  assert.equal(off.exitCode, 0, off.all);
  assert.ok(!fs.readdirSync(cacheDir).some((f) => f.includes('.init.')), 'BPF_COMPILE_CODE_CACHE=0: nothing written');
});

/** A `-r` preload that writes `process.moduleLoadList` to the file `$BPFC_MODULES_OUT` when the process exits. */
function modulesAtExitPreload(): string {
  const preload = path.join(tmp, 'modules-at-exit.cjs');
  fs.writeFileSync(preload, "process.on('exit', () => require('node:fs').writeFileSync(process.env.BPFC_MODULES_OUT, process.moduleLoadList.join('\\n')));\n");
  return preload;
}

test('node built-ins load when first used, not with the chunk that names them (process.moduleLoadList)', async () => {
  // node's own start loads none of these; before the bundle made them lazy, `compile` of a missing file loaded
  // child_process (with net and dgram) and fs/promises, and `cache path` crypto and fs/promises, without using them
  // and printing created process.stdout, which for a pipe (as here) loads node's stream modules and net: the CLI now
  // writes to its descriptors, so a command that only prints loads neither
  const preload = modulesAtExitPreload();
  const cases: ReadonlyArray<readonly [string[], readonly string[]]> = [
    [
      ['compile', '<tmp>/missing.bpf.c', '-o', '<tmp>/x.o', '--cache-dir', '<tmp>/cache'],
      ['child_process', 'dgram', 'fs/promises', 'timers/promises'],
    ],
    [
      ['cache', 'path', '--cache-dir', '<tmp>/cache'],
      ['child_process', 'crypto', 'fs/promises', 'stream', 'net'],
    ],
    [['--version'], ['child_process', 'crypto', 'fs/promises', 'stream', 'net']],
  ];
  for (const [args, absent] of cases) {
    const out = path.join(tmp, 'modules.txt');
    const r = await exec(process.execPath, ['-r', preload, CLI, ...args.map((a) => a.replace('<tmp>', tmp))], {
      timeoutMs: 60_000,
      env: { ...process.env, BPFC_MODULES_OUT: out },
    });
    assert.ok(r.exitCode === 0 || r.exitCode === 5, r.all);
    const loaded = new Set(fs.readFileSync(out, 'utf8').split('\n'));
    assert.ok(loaded.has('NativeModule fs'), 'the list was written');
    for (const m of absent) assert.ok(!loaded.has(`NativeModule ${m}`), `bpf-compile ${args.slice(0, 2).join(' ')}: ${m} was loaded`);
    if (args[0] === '--version') assert.match(r.stdout, /^\d+\.\d+\.\d+/, 'the version was printed');
    if (args[0] === 'cache') assert.ok(r.stdout.includes(tmp), 'the path was printed');
  }
});

test('bundled cold headers: the cache lock is taken without node:assert, and a SIGTERM while it is held leaves no lock', async (t) => {
  const skip = kheadersFixtureSkipReason();
  if (skip !== undefined) {
    t.skip(skip);
    return;
  }
  // The bundle gives proper-lockfile's signal-exit a local assert.equal (scripts/bundle-cli.mjs): node's assert module
  // creates process.stderr. signal-exit's handler must still remove a held lock when the process is killed.
  const fx = buildKheadersFixture();
  const root = path.join(tmp, 'kroot');
  fs.mkdirSync(path.join(root, 'sys/kernel'), { recursive: true });
  fs.copyFileSync(fx.archive, path.join(root, 'sys/kernel/kheaders.tar.xz'));
  const headers = (cacheDir: string): string[] => ['headers', '--root', root, '--kernel-release', fx.release, '--load-module', 'never', '--cache-dir', cacheDir];

  const preload = modulesAtExitPreload();
  const out = path.join(tmp, 'modules-2.txt');
  const cold = await exec(process.execPath, ['-r', preload, CLI, ...headers(path.join(tmp, 'c-cold'))], { timeoutMs: 120_000, env: { ...process.env, BPFC_MODULES_OUT: out } });
  assert.equal(cold.exitCode, 0, cold.all);
  const loaded = new Set(fs.readFileSync(out, 'utf8').split('\n'));
  assert.ok(loaded.has('NativeModule child_process'), 'the extraction ran (xz was spawned)');
  assert.ok(!loaded.has('NativeModule assert'), 'node:assert was loaded');

  const cacheDir = path.join(tmp, 'c-term');
  const nsDir = path.join(cacheDir, 'kheaders');
  const child = spawn(process.execPath, [CLI, ...headers(cacheDir)], { stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code)));
  const lockSeen = await new Promise<boolean>((resolve) => {
    const poll = setInterval(() => {
      let names: string[] = [];
      try {
        names = fs.readdirSync(nsDir);
      } catch {
        // not made yet
      }
      if (names.some((n) => n.endsWith('.lock'))) {
        clearInterval(poll);
        child.kill('SIGTERM');
        resolve(true);
      } else if (child.exitCode !== null) {
        clearInterval(poll);
        resolve(false);
      }
    }, 2);
  });
  const ended = await exited;
  if (!lockSeen) {
    t.skip(`the extraction ended (${String(ended)}) before the lock was seen: nothing to interrupt on this machine`);
    return;
  }
  assert.equal(ended, 'SIGTERM', 'the process ended by the signal');
  assert.deepEqual(
    fs.readdirSync(nsDir).filter((n) => n.endsWith('.lock')),
    [],
    'the lock was removed on the way out',
  );
  const again = await exec(process.execPath, [CLI, ...headers(cacheDir)], { timeoutMs: 120_000 });
  assert.equal(again.exitCode, 0, again.all);
});
