import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { compile } from '../../lib/compile/index.js';
import { resolveHeaders, type ResolvedKernelTree } from '../../lib/resolve.js';
import { bpfLoadPermitted, loadAll, udpPacket } from '../helpers/bpf.js';
import { cleanEnv, tempDir } from '../helpers/fake-kernel.js';
import { buildKheadersFixture, kheadersFixtureSkipReason, type KheadersFixture } from '../helpers/kheaders-fixture.js';
import { buildKheadersModule, kheadersModuleSkipReason } from '../helpers/kheaders-module.js';

const EXAMPLES = path.resolve(import.meta.dirname, '../../examples');
const BIN = path.resolve(import.meta.dirname, '../../bin/bpf-compile.ts');
const skip = kheadersFixtureSkipReason();
let fixture: KheadersFixture | undefined;
let tmp: { dir: string; cleanup: () => Promise<void> };
let load: { ok: true } | { ok: false; reason: string };
let cacheDir: string;
let root: string;

before(async () => {
  tmp = await tempDir();
  load = await bpfLoadPermitted();
  if (skip !== undefined) {
    console.log(`# kheaders fixture unavailable: ${skip}`);
    return;
  }
  fixture = buildKheadersFixture();
  cacheDir = path.join(tmp.dir, 'cache');
  root = path.join(tmp.dir, 'root');
  await fs.mkdir(path.join(root, 'sys/kernel'), { recursive: true });
  await fs.copyFile(fixture.archive, path.join(root, 'sys/kernel/kheaders.tar.xz'));
});
after(async () => tmp.cleanup());

const opts = () => ({ root, cacheDir, kernelRelease: fixture!.release, env: cleanEnv(), loadModule: 'never' as const, kind: 'kernel-tree' as const });

describe('the in-kernel archive of the real Debian headers (built like gen_kheaders.sh)', () => {
  let headers: ResolvedKernelTree;

  test('resolves from /sys/kernel/kheaders.tar.xz', async (t) => {
    if (fixture === undefined) return t.skip(skip ?? 'no fixture');
    headers = await resolveHeaders(opts());
    assert.equal(headers.source, 'kheaders');
    assert.equal(headers.utsRelease, fixture.release);
    assert.deepEqual(headers.warnings, []);
  });

  for (const prog of ['task_exec', 'syscall_count']) {
    test(`${prog}.bpf.c compiles against the extracted tree and the verifier accepts it`, async (t) => {
      if (fixture === undefined) return t.skip(skip ?? 'no fixture');
      const out = path.join(tmp.dir, `${prog}.o`);
      const r = await compile({ ...opts(), source: path.join(EXAMPLES, `${prog}.bpf.c`), output: out });
      assert.equal(r.mode, 'kernel');
      assert.equal(r.headers?.source, 'kheaders');
      if (!load.ok) return t.skip(`not loaded: ${load.reason}`);
      const l = await loadAll(out);
      await l.cleanup();
      assert.equal(l.programs.length, 1);
    });
  }

  test('the XDP counter compiled against the extracted tree behaves under bpftool prog run', async (t) => {
    if (fixture === undefined) return t.skip(skip ?? 'no fixture');
    const out = path.join(tmp.dir, 'xdp.o');
    await compile({ ...opts(), source: path.join(EXAMPLES, 'xdp_counter.bpf.c'), output: out, mode: 'kernel' });
    if (!load.ok) return t.skip(`not run: ${load.reason}`);
    const l = await loadAll(out);
    try {
      const pkt = path.join(tmp.dir, 'p9.bin');
      await fs.writeFile(pkt, udpPacket(9));
      const r = await execa('bpftool', ['prog', 'run', 'pinned', path.join(l.progDir, 'xdp_count'), 'data_in', pkt]);
      assert.match(String(r.stdout), /Return value: 1\b/, 'XDP_DROP');
    } finally {
      await l.cleanup();
    }
  });

  test('BCC compiles and loads a program with the tree from `headers --env`', async (t) => {
    if (fixture === undefined) return t.skip(skip ?? 'no fixture');
    const py = await execa('/usr/bin/python3', ['-c', 'import bcc'], { reject: false });
    if (py.exitCode !== 0) return t.skip('BCC (python3-bpfcc from bpfcc-tools) is not installed');
    if (!load.ok) return t.skip(`BCC loads what it compiles: ${load.reason}`);
    const env = await execa('node', [
      '--import',
      'tsx',
      BIN,
      'headers',
      '--env',
      '--root',
      root,
      '--cache-dir',
      cacheDir,
      '--kernel-release',
      fixture.release,
      '--load-module',
      'never',
    ]);
    const vars = Object.fromEntries(
      String(env.stdout)
        .trim()
        .split('\n')
        .map((l) => l.split('=', 2) as [string, string]),
    );
    assert.equal(vars['BCC_KERNEL_SOURCE'], headers.sourceDir);
    assert.equal(vars['BPFTRACE_KERNEL_SOURCE'], headers.sourceDir);
    const script = [
      'from bcc import BPF',
      "b = BPF(text='''#include <linux/sched.h>",
      'int on_sleep(struct pt_regs *ctx) { struct task_struct *t = (struct task_struct *)bpf_get_current_task(); return t->tgid == 0; }',
      "''')",
      'fn = b.load_func("on_sleep", BPF.KPROBE)',
      'print("loaded", fn.fd > 0)',
    ].join('\n');
    const r = await execa('/usr/bin/python3', ['-c', script], { env: { BCC_KERNEL_SOURCE: vars['BCC_KERNEL_SOURCE'] }, reject: false, all: true, timeout: 120_000 });
    assert.equal(r.exitCode, 0, String(r.all).slice(-2000));
    assert.match(String(r.stdout), /loaded True/);
  });

  test('a real kheaders.ko (built by kbuild) serves the same headers, explicit or from /lib/modules, without loading it', async (t) => {
    if (fixture === undefined) return t.skip(skip ?? 'no fixture');
    const why = kheadersModuleSkipReason();
    if (why !== undefined) return t.skip(why);
    const mod = await buildKheadersModule(fixture.archive, path.join(tmp.dir, 'kmod'));
    const explicit = await resolveHeaders({ ...opts(), root: path.join(tmp.dir, 'empty-root'), kheaders: mod.koXz });
    assert.equal(explicit.source, 'kheaders');
    assert.equal(explicit.sourceDir, headers.sourceDir, 'same archive bytes → same cache entry');
    assert.match(explicit.detail, /module/);
    const modRoot = path.join(tmp.dir, 'modroot');
    const dest = path.join(modRoot, 'lib/modules', fixture.release, 'kernel/kernel/kheaders.ko');
    await fs.mkdir(path.dirname(dest), { recursive: true });
    await fs.copyFile(mod.ko, dest);
    const found = await resolveHeaders({ ...opts(), root: modRoot });
    assert.match(found.detail, /kheaders\.ko \(module, not loaded\)/);
    assert.equal(found.sourceDir, headers.sourceDir);
  });
});
