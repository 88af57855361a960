import assert from 'node:assert/strict';
import path from 'node:path';
import { before, test } from 'node:test';
import { execa } from 'execa';
import type { ResolvedKernelTree } from '../../lib/resolve.js';
import { bpfLoadPermitted, installedHeaders } from '../helpers/bpf.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
let headers: ResolvedKernelTree | undefined;
let load: { ok: true } | { ok: false; reason: string };

before(async () => {
  headers = await installedHeaders();
  load = await bpfLoadPermitted();
});

test('examples/compile-and-run.mjs resolves, compiles, loads and exercises the programs', async (t) => {
  if (headers === undefined) return t.skip('no installed kernel headers under /lib/modules');
  // The example imports the package by name, i.e. the built dist/ (npm test builds it first).
  const r = await execa('node', [path.join(ROOT, 'examples/compile-and-run.mjs'), headers.release], { cwd: ROOT, reject: false, all: true });
  assert.equal(r.exitCode, 0, String(r.all));
  assert.match(String(r.stdout), /compiled task_exec\.bpf\.o in kernel mode/);
  assert.match(String(r.stdout), /compiled xdp_counter\.bpf\.o in plain mode/);
  if (!load.ok) {
    assert.match(String(r.stdout), /skipping load/);
    return t.skip(`not loaded: ${load.reason}`);
  }
  assert.match(String(r.stdout), /kprobe program accepted by the verifier/);
  assert.match(String(r.stdout), /port 9: DROP, port 53: PASS, port 9: DROP; UDP packets counted: 3/);
});

test('the README main command works: npx bpf-compile compile an example', async (t) => {
  if (headers === undefined) return t.skip('no installed kernel headers under /lib/modules');
  const out = path.join(ROOT, 'node_modules', '.cache-test-task_exec.bpf.o');
  const r = await execa('npx', ['--no-install', 'bpf-compile', 'compile', 'examples/task_exec.bpf.c', '-o', out, '--kernel-release', headers.release], {
    cwd: ROOT,
    reject: false,
    all: true,
  });
  assert.equal(r.exitCode, 0, String(r.all));
  await execa('rm', ['-f', out]);
});

test('the built CLI exits quietly when its reader goes away (EPIPE), no stack trace', async () => {
  const cli = path.join(ROOT, 'dist/bin/bpf-compile.cjs');
  const r = await execa('sh', ['-c', `node '${cli}' init --list | head -c 1 >/dev/null; node '${cli}' --help | head -c 1 >/dev/null`], { reject: false, all: true });
  assert.equal(r.exitCode, 0);
  assert.doesNotMatch(String(r.all), /EPIPE|at .*\(/);
});
