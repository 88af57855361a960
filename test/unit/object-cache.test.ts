import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hostArch } from '../../lib/arch.js';
import type { CompilePlan, PlannedCompile, Toolchain } from '../../lib/compile/index.js';
import { compileCached, manifestKeyOf, OBJECTS_NAMESPACE, withExtraClangArgs, type CachedRun } from '../../lib/compile/object-cache.js';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { tempDir } from '../helpers/fake-kernel.js';

const PAST = new Date(Date.now() - 3600_000);
let tmp: { dir: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('bpfc-objcache-');
});
after(async () => tmp.cleanup());

async function writeOld(file: string, text: string, when = PAST): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
  await fs.utimes(file, when, when);
}

const TOOLS: Toolchain = {
  clang: { path: process.execPath, major: 14, version: '14.0.6' },
  opt: undefined,
  llc: undefined,
  resourceDir: '/usr/lib/llvm-14/lib/clang/14.0.6',
  systemIncludeDirs: [],
};

/** A fake planned one-step compile of `source` into `output`, with its own random temp output. */
function planned(source: string, output: string, opts: { flags?: string[]; tools?: Toolchain } = {}): PlannedCompile {
  const tmpOutput = path.join(path.dirname(output), `.${path.basename(output)}.${Math.random().toString(36).slice(2)}.tmp`);
  const plan: CompilePlan = { mode: 'plain', clang: ['-target', 'bpfel', '-O2', '-g', ...(opts.flags ?? []), '-c', source, '-o', tmpOutput] };
  return {
    mode: 'plain',
    modeReason: 'test',
    plan,
    toolchain: opts.tools ?? TOOLS,
    headers: undefined,
    target: { release: '6.1.0-test', arch: hostArch(), root: '/' },
    warnings: [],
    tmpOutput,
    output,
  };
}

/** A fake compiler: the object is the source's and the headers' text; the depfile lists `headers`. */
function fakeRun(headers: string[], diagnostics = ''): CachedRun & { calls: number; lastArgs: string[] } {
  const run = Object.assign(
    async (p: PlannedCompile, extra: string[]): Promise<{ diagnostics: string }> => {
      run.calls++;
      run.lastArgs = extra;
      const clang = withExtraClangArgs(p.plan, extra).clang;
      const mf = clang[clang.indexOf('-MF') + 1] as string;
      const src = clang[clang.indexOf('-c') + 1] as string;
      const parts = [await fs.readFile(src, 'utf8'), ...(await Promise.all(headers.map((h) => fs.readFile(h, 'utf8')))), clang.filter((a) => a.startsWith('-D')).join(' ')];
      await fs.writeFile(p.output, `OBJ[${parts.join('|')}]`);
      const esc = (h: string): string => h.replace(/ /g, '\\ ');
      await fs.writeFile(mf, `-: ${src} ${headers.map(esc).join(' \\\n  ')}\n\n${headers.map((h) => `${esc(h)}:\n`).join('\n')}`);
      return { diagnostics };
    },
    { calls: 0, lastArgs: [] as string[] },
  );
  return run;
}

describe('withExtraClangArgs', () => {
  test('inserts before -c, leaves opt/llc alone', () => {
    const plan: CompilePlan = { mode: 'kernel', clang: ['-O2', '-c', '/s.c', '-o', '-'], opt: ['-O2'], llc: ['-o', '/t'] };
    const out = withExtraClangArgs(plan, ['-MD', '-MF', '/d']);
    assert.deepEqual(out.clang, ['-O2', '-MD', '-MF', '/d', '-c', '/s.c', '-o', '-']);
    assert.equal(out.mode, 'kernel');
    if (out.mode === 'kernel') assert.deepEqual([out.opt, out.llc], [['-O2'], ['-o', '/t']]);
    assert.deepEqual(plan.clang, ['-O2', '-c', '/s.c', '-o', '-'], 'the input plan is not changed');
  });
});

describe('compileCached with a fake compiler', () => {
  test('hit on the second call: same key, run once, identical bytes, diagnostics replayed', async () => {
    const dir = path.join(tmp.dir, 'hit');
    const src = path.join(dir, 'prog.c');
    const hdr = path.join(dir, 'inc dir', 'my.h');
    await writeOld(src, 'int main;');
    await writeOld(hdr, '#define X 1');
    const cache = { cacheDir: path.join(dir, 'cache') };
    const run = fakeRun([hdr], 'prog.c:1:5: warning: something\n');
    const out = path.join(dir, 'out', 'prog.o');
    const a = await compileCached(planned(src, out), run, { cache });
    assert.equal(a.fromCache, false);
    assert.match(a.key, /^[0-9a-f]{64}$/);
    assert.deepEqual(run.lastArgs.slice(0, 2), ['-MD', '-MF']);
    const first = await fs.readFile(out);
    await fs.rm(out);
    const b = await compileCached(planned(src, out), run, { cache });
    assert.equal(b.fromCache, true);
    assert.equal(b.key, a.key, 'the random temp output path is not part of the key');
    assert.equal(run.calls, 1);
    assert.equal(b.diagnostics, 'prog.c:1:5: warning: something\n');
    assert.deepEqual(await fs.readFile(out), first);
    assert.equal((await fs.stat(out)).mode & 0o777, 0o644);
    const left = (await fs.readdir(path.dirname(out))).filter((n) => n !== 'prog.o');
    assert.deepEqual(left, [], 'no temp file left next to the output');
  });

  test('source, flag, toolchain and header changes each change the key', async () => {
    const dir = path.join(tmp.dir, 'keys');
    const src = path.join(dir, 'prog.c');
    const hdr = path.join(dir, 'my.h');
    await writeOld(src, 'int a;');
    await writeOld(hdr, '#define X 1');
    const cache = { cacheDir: path.join(dir, 'cache') };
    const run = fakeRun([hdr]);
    const out = path.join(dir, 'prog.o');
    const base = await compileCached(planned(src, out), run, { cache });

    const flag = await compileCached(planned(src, out, { flags: ['-DFOO=1'] }), run, { cache });
    assert.equal(flag.fromCache, false);
    assert.notEqual(flag.key, base.key);

    const tools = { ...TOOLS, clang: { ...TOOLS.clang, version: '14.0.7' } };
    const tc = await compileCached(planned(src, out, { tools }), run, { cache });
    assert.equal(tc.fromCache, false);
    assert.notEqual(tc.key, base.key);

    await writeOld(hdr, '#define X 2');
    const h = await compileCached(planned(src, out), run, { cache });
    assert.equal(h.fromCache, false, 'a changed header is a miss');
    assert.notEqual(h.key, base.key);
    assert.match(await fs.readFile(out, 'utf8'), /X 2/);

    await writeOld(hdr, '#define X 1');
    const back = await compileCached(planned(src, out), run, { cache });
    assert.equal(back.fromCache, true, 'the old header content hits the old result again');
    assert.equal(back.key, base.key);

    await writeOld(src, 'int b;');
    const s = await compileCached(planned(src, out), run, { cache });
    assert.equal(s.fromCache, false);
    assert.notEqual(s.key, base.key);
    assert.equal(run.calls, 5);
  });

  test('manifestKeyOf: stable for equal inputs, opt/llc identity without a version counts', () => {
    const p1 = planned('/x/prog.c', '/x/prog.o');
    const p2 = planned('/x/prog.c', '/x/prog.o');
    assert.notEqual(p1.tmpOutput, p2.tmpOutput);
    assert.equal(manifestKeyOf(p1, 'a'.repeat(64)), manifestKeyOf(p2, 'a'.repeat(64)));
    assert.notEqual(manifestKeyOf(p1, 'a'.repeat(64)), manifestKeyOf(p1, 'b'.repeat(64)));
    assert.notEqual(manifestKeyOf(p1, 'a'.repeat(64)), manifestKeyOf(planned('/y/prog.c', '/x/prog.o'), 'a'.repeat(64)), 'the source location matters');
    const withLlc = (llcPath: string): Toolchain => ({ ...TOOLS, llc: { path: llcPath, major: 14, version: undefined } });
    assert.notEqual(
      manifestKeyOf(planned('/x/prog.c', '/x/prog.o', { tools: withLlc(process.execPath) }), 'a'.repeat(64)),
      manifestKeyOf(planned('/x/prog.c', '/x/prog.o', { tools: withLlc('/bin/sh') }), 'a'.repeat(64)),
    );
  });

  test('a failed compile is not cached', async () => {
    const dir = path.join(tmp.dir, 'fail');
    const src = path.join(dir, 'prog.c');
    await writeOld(src, 'int a;');
    const cache = { cacheDir: path.join(dir, 'cache') };
    let calls = 0;
    const failing: CachedRun = async () => {
      calls++;
      throw new BpfCompileError(ErrorCode.COMPILE_FAILED, 'compilation failed', { details: { diagnostics: 'error: x' } });
    };
    for (let i = 0; i < 2; i++) {
      await assert.rejects(
        compileCached(planned(src, path.join(dir, 'prog.o')), failing, { cache }),
        (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.COMPILE_FAILED,
      );
    }
    assert.equal(calls, 2);
    const objects = await fs.readdir(path.join(dir, 'cache', OBJECTS_NAMESPACE)).catch(() => []);
    assert.deepEqual(objects, []);
  });

  test('a corrupt or deleted result entry falls back to compiling (and is rebuilt)', async () => {
    const dir = path.join(tmp.dir, 'corrupt');
    const src = path.join(dir, 'prog.c');
    await writeOld(src, 'int a;');
    const cache = { cacheDir: path.join(dir, 'cache') };
    const run = fakeRun([]);
    const out = path.join(dir, 'prog.o');
    const a = await compileCached(planned(src, out), run, { cache });
    const objFile = path.join(dir, 'cache', OBJECTS_NAMESPACE, a.key, 'data', 'object.o');
    await fs.writeFile(objFile, 'garbage');
    const b = await compileCached(planned(src, out), run, { cache });
    assert.equal(b.fromCache, false);
    assert.equal(run.calls, 2);
    assert.equal((await compileCached(planned(src, out), run, { cache })).fromCache, true, 'rebuilt');
    await fs.rm(path.join(dir, 'cache', OBJECTS_NAMESPACE, a.key), { recursive: true });
    assert.equal((await compileCached(planned(src, out), run, { cache })).fromCache, false);
    assert.equal(run.calls, 3);
  });

  test('a header deleted since the last compile is a miss, a changed dependency list is re-recorded', async () => {
    const dir = path.join(tmp.dir, 'deps');
    const src = path.join(dir, 'prog.c');
    const h1 = path.join(dir, 'a.h');
    const h2 = path.join(dir, 'b.h');
    await writeOld(src, 'int a;');
    await writeOld(h1, 'a');
    await writeOld(h2, 'b');
    const cache = { cacheDir: path.join(dir, 'cache') };
    const out = path.join(dir, 'prog.o');
    await compileCached(planned(src, out), fakeRun([h1, h2]), { cache });
    await fs.rm(h2);
    const one = fakeRun([h1]);
    assert.equal((await compileCached(planned(src, out), one, { cache })).fromCache, false);
    assert.equal((await compileCached(planned(src, out), one, { cache })).fromCache, true, 'the new list (a.h only) was recorded');
    assert.equal(one.calls, 1);
  });

  test('a header modified during the compile makes the result unstorable', async () => {
    const dir = path.join(tmp.dir, 'racy');
    const src = path.join(dir, 'prog.c');
    const hdr = path.join(dir, 'my.h');
    await writeOld(src, 'int a;');
    await writeOld(hdr, 'one');
    const cache = { cacheDir: path.join(dir, 'cache') };
    const inner = fakeRun([hdr]);
    const run: CachedRun = async (p, extra) => {
      const r = await inner(p, extra);
      await fs.writeFile(hdr, 'two'); // after the compiler read it
      return r;
    };
    const out = path.join(dir, 'prog.o');
    assert.equal((await compileCached(planned(src, out), run, { cache })).fromCache, false);
    assert.equal((await compileCached(planned(src, out), inner, { cache })).fromCache, false, 'nothing was stored for "one"');
  });
});
