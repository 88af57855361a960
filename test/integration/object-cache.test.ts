import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { planCompile, type CompileOptions } from '../../lib/compile/index.js';
import { compileCached, runPlanWithArgs } from '../../lib/compile/object-cache.js';
import type { ResolvedKernelTree } from '../../lib/resolve.js';
import { installedHeaders } from '../helpers/bpf.js';
import { tempDir } from '../helpers/fake-kernel.js';

const EXAMPLES = path.resolve(import.meta.dirname, '../../examples');
const env = { PATH: process.env['PATH'] };
const PAST = new Date(Date.now() - 3600_000);

let headers: ResolvedKernelTree | undefined;
let tmp: { dir: string; cleanup: () => Promise<void> };
before(async () => {
  headers = await installedHeaders();
  tmp = await tempDir('bpfc-objcache-it-');
  if (headers === undefined) console.log('# no installed kernel headers under /lib/modules: object-cache integration tests skip');
});
after(async () => tmp.cleanup());

/** Write a file dated in the past (a file modified during or just before a compile is not stored). */
async function writeOld(file: string, text: string, when = PAST): Promise<void> {
  await fs.writeFile(file, text);
  await fs.utimes(file, when, when);
}

async function cachedCompile(options: Omit<CompileOptions, 'env' | 'mode' | 'kernelRelease'>, cacheDir: string) {
  const planned = await planCompile({ ...options, env, mode: 'kernel', kernelRelease: headers?.release });
  const t0 = performance.now();
  const r = await compileCached(planned, runPlanWithArgs, { cache: { cacheDir } });
  return { ...r, ms: performance.now() - t0, planned };
}

const LOCAL_PROG = `#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "my.h"

SEC("xdp")
int prog(struct xdp_md *ctx)
{
	return MY_VERDICT;
}

char LICENSE[] SEC("license") = "GPL";
`;

describe('object cache with the real toolchain (kernel mode, installed headers)', () => {
  test('task_exec.bpf.c: the second compile is a hit with identical bytes', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const cacheDir = path.join(tmp.dir, 'cache-task');
    const out = path.join(tmp.dir, 'task_exec.bpf.o');
    const source = path.join(EXAMPLES, 'task_exec.bpf.c');
    const a = await cachedCompile({ source, output: out }, cacheDir);
    assert.equal(a.fromCache, false);
    assert.equal(a.planned.mode, 'kernel');
    assert.ok(!a.planned.plan.clang.includes('-MD'), 'the plan itself is not changed');
    const first = await fs.readFile(out);
    await fs.rm(out);
    const b = await cachedCompile({ source, output: out }, cacheDir);
    const c = await cachedCompile({ source, output: out }, cacheDir);
    console.log(`# task_exec: miss ${a.ms.toFixed(0)} ms, hits ${b.ms.toFixed(1)} ms and ${c.ms.toFixed(1)} ms (planCompile excluded)`);
    assert.equal(b.fromCache, true);
    assert.equal(c.fromCache, true);
    assert.equal(b.key, a.key);
    assert.deepEqual(await fs.readFile(out), first);
    assert.equal(b.diagnostics, a.diagnostics);
    const deps = JSON.parse(
      await fs.readFile(path.join(cacheDir, 'object-deps', (await fs.readdir(path.join(cacheDir, 'object-deps')))[0] as string, 'manifest.json'), 'utf8'),
    ) as {
      extra: { deps: string[] };
    };
    console.log(`# task_exec: ${deps.extra.deps.length} dependencies recorded`);
    assert.ok(deps.extra.deps.length > 100, 'kernel headers are recorded as dependencies');
    assert.ok(deps.extra.deps.includes(headers.kconfigHeader) || deps.extra.deps.some((d) => d.endsWith('autoconf.h')), 'the forced -include header is a dependency');
  });

  test('a local header: changing it is a miss, -D changes are misses, unchanged is a hit', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const dir = path.join(tmp.dir, 'local');
    await fs.mkdir(dir);
    const cacheDir = path.join(tmp.dir, 'cache-local');
    const source = path.join(dir, 'prog.bpf.c');
    const myh = path.join(dir, 'my.h');
    const out = path.join(dir, 'prog.bpf.o');
    await writeOld(source, LOCAL_PROG);
    await writeOld(myh, '#define MY_VERDICT XDP_PASS\n');
    const a = await cachedCompile({ source, output: out }, cacheDir);
    assert.equal(a.fromCache, false);
    const passObj = await fs.readFile(out);
    assert.equal((await cachedCompile({ source, output: out }, cacheDir)).fromCache, true);

    await writeOld(myh, '#define MY_VERDICT XDP_DROP\n', new Date(PAST.getTime() - 1000));
    const b = await cachedCompile({ source, output: out }, cacheDir);
    assert.equal(b.fromCache, false, 'my.h changed');
    assert.notEqual(b.key, a.key);
    assert.notDeepEqual(await fs.readFile(out), passObj);
    assert.equal((await cachedCompile({ source, output: out }, cacheDir)).fromCache, true);

    const d = await cachedCompile({ source, output: out, extraArgs: ['-DEXTRA=1'] }, cacheDir);
    assert.equal(d.fromCache, false, '-D changed');
    assert.notEqual(d.key, b.key);
    assert.equal((await cachedCompile({ source, output: out, extraArgs: ['-DEXTRA=1'] }, cacheDir)).fromCache, true);
    assert.equal((await cachedCompile({ source, output: out, extraArgs: ['-DEXTRA=2'] }, cacheDir)).fromCache, false);
  });

  test('warnings are reproduced on a hit', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const dir = path.join(tmp.dir, 'warn');
    await fs.mkdir(dir);
    const cacheDir = path.join(tmp.dir, 'cache-warn');
    const source = path.join(dir, 'warn.bpf.c');
    await writeOld(myhPath(dir), '#define MY_VERDICT XDP_PASS\n');
    await writeOld(source, LOCAL_PROG.replace('{\n', '{\n\tint unused_thing = 3;\n'));
    const out = path.join(dir, 'warn.bpf.o');
    const opts = { source, output: out, extraArgs: ['-Wunused-variable'] };
    const a = await cachedCompile(opts, cacheDir);
    assert.equal(a.fromCache, false);
    assert.match(a.diagnostics, /unused variable 'unused_thing'/);
    const b = await cachedCompile(opts, cacheDir);
    assert.equal(b.fromCache, true);
    assert.equal(b.diagnostics, a.diagnostics);
  });
});

function myhPath(dir: string): string {
  return path.join(dir, 'my.h');
}
