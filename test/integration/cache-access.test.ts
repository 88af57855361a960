/** A user pointed at a cache of root's gets the typed cache error with a hint, never an internal EACCES error. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';

const BIN = path.resolve(import.meta.dirname, '../../dist/bin/bpf-compile.cjs');
const EXAMPLE = path.resolve(import.meta.dirname, '../../examples/task_exec.bpf.c');
const asNobody = spawnSync('setpriv', ['--version']).status === 0;
const skip =
  process.getuid?.() !== 0
    ? "needs root (to make a cache of root's and run as another user)"
    : !asNobody
      ? 'setpriv (util-linux) is not installed'
      : !fs.existsSync(BIN)
        ? 'dist/ is not built (npm run build)'
        : undefined;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-access-'));
fs.chmodSync(dir, 0o755);
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function runAsync(cacheDir: string, args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args], {
      env: { PATH: process.env['PATH'], HOME: '/nonexistent', BPF_COMPILE_CACHE_DIR: cacheDir },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

function run(cacheDir: string, args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args], {
    env: { PATH: process.env['PATH'], HOME: '/nonexistent', BPF_COMPILE_CACHE_DIR: cacheDir },
    encoding: 'utf8',
  });
  return { status: r.status, stderr: r.stderr };
}

test("root's private cache (0700): CACHE_UNSAFE 'cannot read', exit 5, a hint", { skip }, () => {
  const cache = path.join(dir, 'private');
  fs.mkdirSync(cache, { mode: 0o700 });
  const r = run(cache, ['compile', EXAMPLE, '-o', path.join(os.tmpdir(), `bpfc-nobody-${process.pid}.o`), '--kernel-release', '6.1.0-99-amd64']);
  assert.equal(r.status, 5, r.stderr);
  assert.match(r.stderr, /error: cannot read the cache: .*permission denied \(the cache .* belongs to uid 0, mode 700\)/);
  assert.match(r.stderr, /hint: use a cache of your own/);
  assert.doesNotMatch(r.stderr, /internal error/);
});

test("root's shared cache (0755): readable, but a cold lookup is CACHE_UNSAFE 'cannot write', not EACCES", { skip }, async () => {
  const cache = path.join(dir, 'shared');
  fs.mkdirSync(cache, { mode: 0o755 });
  // a repository that answers, so the lookup gets as far as writing its download into the cache
  const server = http.createServer((_req, res) => res.end('not a Release'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const r = await runAsync(cache, [
    'headers',
    '--kernel-release',
    '6.1.0-99-amd64',
    '--sources',
    'cached,distro',
    '--root',
    dir,
    '--apt-repo',
    `http://127.0.0.1:${port}/debian x main`,
  ]);
  server.close();
  assert.doesNotMatch(r.stderr, /internal error/, r.stderr);
  assert.match(r.stderr, /cannot write the cache/);
});
