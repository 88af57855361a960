import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { compile, planCompile } from '../../lib/compile/index.js';
import { cflagsOf } from '../../lib/compile/flags.js';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import type { ResolvedKernelTree } from '../../lib/resolve.js';
import { bpfLoadPermitted, installedHeaders, loadAll, udpPacket } from '../helpers/bpf.js';
import { EM_BPF, elfInfo } from '../helpers/elf.js';
import { tempDir } from '../helpers/fake-kernel.js';

const EXAMPLES = path.resolve(import.meta.dirname, '../../examples');
const BIN = path.resolve(import.meta.dirname, '../../bin/bpf-compile.ts');
const env = { PATH: process.env['PATH'] };

let headers: ResolvedKernelTree | undefined;
let load: { ok: true } | { ok: false; reason: string };
let tmp: { dir: string; cleanup: () => Promise<void> };

before(async () => {
  headers = await installedHeaders();
  load = await bpfLoadPermitted();
  tmp = await tempDir();
  if (headers === undefined) console.log('# no installed kernel headers under /lib/modules: kernel-mode tests skip (install linux-headers-amd64)');
  if (!load.ok) console.log(`# loading skipped: ${load.reason}`);
});
after(async () => tmp.cleanup());

/** Assert a BPF object: ELF of e_machine BPF, BTF present, no .eh_frame. */
async function assertBpfObject(file: string): Promise<string[]> {
  const info = elfInfo(await fs.readFile(file));
  assert.equal(info.machine, EM_BPF);
  assert.ok(info.sections.includes('.BTF'), 'has .BTF (-g kept)');
  assert.ok(!info.sections.some((s) => s.includes('eh_frame')), `no .eh_frame: ${info.sections.join(' ')}`);
  return info.sections;
}

describe('kernel mode against the installed Debian headers', () => {
  test('resolves the Debian split tree of the installed release', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    assert.equal(headers.source, 'modules');
    assert.notEqual(headers.sourceDir, headers.buildDir, 'Debian splits -common and -amd64');
    assert.match(headers.sourceDir, /-common$/);
    assert.equal(headers.utsRelease, headers.release);
    assert.ok(headers.linuxVersionCode !== undefined && headers.linuxVersionCode >= 0x060100);
    assert.deepEqual(headers.warnings, []);
  });

  for (const prog of ['task_exec', 'syscall_count']) {
    test(`${prog}.bpf.c compiles in kernel mode and the verifier accepts it`, async (t) => {
      if (headers === undefined) return t.skip('no installed kernel headers');
      const out = path.join(tmp.dir, `${prog}.bpf.o`);
      const r = await compile({ source: path.join(EXAMPLES, `${prog}.bpf.c`), output: out, kernelRelease: headers.release, env });
      assert.equal(r.mode, 'kernel');
      assert.match(r.modeReason, /kernel headers found/);
      assert.equal(r.plan.mode, 'kernel');
      assert.equal(r.diagnostics, '', 'kernel headers compile without warnings');
      await assertBpfObject(out);
      if (!load.ok) return t.skip(`not loaded: ${load.reason}`);
      const l = await loadAll(out);
      try {
        assert.equal(l.programs.length, 1);
      } finally {
        await l.cleanup();
      }
    });
  }

  test('the XDP counter built in kernel mode behaves like the plain one', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const out = path.join(tmp.dir, 'xdp_kernel.bpf.o');
    const r = await compile({ source: path.join(EXAMPLES, 'xdp_counter.bpf.c'), output: out, kernelRelease: headers.release, mode: 'kernel', env });
    assert.equal(r.mode, 'kernel');
    await assertBpfObject(out);
    if (!load.ok) return t.skip(`not run: ${load.reason}`);
    await runXdp(out);
  });

  test('cflags drive a Makefile-style pipeline to the same verdict', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const src = path.join(EXAMPLES, 'task_exec.bpf.c');
    const planned = await planCompile({ source: src, output: path.join(tmp.dir, 'unused.o'), kernelRelease: headers.release, env });
    const out = path.join(tmp.dir, 'make.bpf.o');
    const flags = cflagsOf(planned.plan)
      .map((f) => `'${f.replace(/'/g, `'\\''`)}'`)
      .join(' ');
    await execa('sh', ['-c', `clang ${flags} -emit-llvm -c '${src}' -o - | llc -march=bpfel -mcpu=v3 -filetype=obj -o '${out}'`]);
    await assertBpfObject(out);
  });

  test('objects are reproducible: the same program in two directories gives identical bytes', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const objs: Buffer[] = [];
    for (const d of ['a/deep/dir', 'b']) {
      const dir = path.join(tmp.dir, 'repro', d);
      await fs.mkdir(dir, { recursive: true });
      await fs.copyFile(path.join(EXAMPLES, 'task_exec.bpf.c'), path.join(dir, 'task_exec.bpf.c'));
      await compile({ source: path.join(dir, 'task_exec.bpf.c'), output: path.join(dir, 'out.o'), kernelRelease: headers.release, env });
      objs.push(await fs.readFile(path.join(dir, 'out.o')));
    }
    assert.ok(objs[0]!.equals(objs[1]!), 'byte-identical objects');
    assert.equal(objs[0]!.indexOf(tmp.dir), -1, 'no temp path embedded');
    assert.equal(objs[0]!.indexOf('/usr/src/linux-headers'), -1, 'no header install path embedded');
  });
});

async function runXdp(obj: string): Promise<void> {
  const l = await loadAll(obj);
  try {
    const prog = path.join(l.progDir, 'xdp_count');
    const run = async (dport: number): Promise<number> => {
      const pkt = path.join(tmp.dir, `pkt-${dport}.bin`);
      await fs.writeFile(pkt, udpPacket(dport));
      const r = await execa('bpftool', ['prog', 'run', 'pinned', prog, 'data_in', pkt, 'repeat', '1']);
      const m = /Return value: (\d+)/.exec(String(r.stdout));
      assert.ok(m, String(r.stdout));
      return Number(m[1]);
    };
    assert.equal(await run(9), 1, 'UDP to the discard port → XDP_DROP');
    assert.equal(await run(53), 2, 'other UDP → XDP_PASS');
    assert.equal(await run(9), 1);
    const dump = await execa('bpftool', ['-j', 'map', 'lookup', 'pinned', path.join(l.mapDir, 'proto_count'), 'key', '17', '0', '0', '0']);
    const entry = JSON.parse(String(dump.stdout)) as { formatted: { value: number } };
    assert.equal(entry.formatted.value, 3, 'three UDP packets counted');
  } finally {
    await l.cleanup();
  }
}

describe('plain mode', () => {
  test('the XDP counter compiles with -target bpfel and behaves under bpftool prog run', async (t) => {
    const out = path.join(tmp.dir, 'xdp_plain.bpf.o');
    const r = await compile({ source: path.join(EXAMPLES, 'xdp_counter.bpf.c'), output: out, mode: 'plain', env });
    assert.equal(r.mode, 'plain');
    assert.deepEqual(r.plan.clang.slice(0, 2), ['-target', 'bpfel']);
    await assertBpfObject(out);
    if (!load.ok) return t.skip(`not run: ${load.reason}`);
    await runXdp(out);
  });

  test('auto mode without kernel headers picks plain for a uapi-only program', async () => {
    const out = path.join(tmp.dir, 'xdp_auto.bpf.o');
    const r = await compile({ source: path.join(EXAMPLES, 'xdp_counter.bpf.c'), output: out, kernelRelease: '0.0.0-no-such-kernel', env });
    assert.equal(r.mode, 'plain');
    assert.match(r.modeReason, /no kernel headers/);
  });

  test('auto mode without kernel headers names the includes that need them', async () => {
    await assert.rejects(
      compile({ source: path.join(EXAMPLES, 'task_exec.bpf.c'), output: path.join(tmp.dir, 'x.o'), kernelRelease: '0.0.0-no-such-kernel', env }),
      (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.HEADERS_NOT_FOUND && /uapi\/linux\/bpf\.h/.test(e.message),
    );
  });
});

describe('failures', () => {
  test('a compile error passes diagnostics through, leaves no output and no temp file', async () => {
    const dir = path.join(tmp.dir, 'bad');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'bad.c'), '#include <linux/bpf.h>\nint f(void) { return undefined_thing; }\n');
    const out = path.join(dir, 'bad.o');
    await assert.rejects(compile({ source: path.join(dir, 'bad.c'), output: out, mode: 'plain', env }), (e: unknown) => {
      assert.ok(e instanceof BpfCompileError);
      assert.equal(e.code, ErrorCode.COMPILE_FAILED);
      assert.match(String(e.details['diagnostics']), /bad\.c:2:.*error: use of undeclared identifier 'undefined_thing'/);
      return true;
    });
    assert.deepEqual(await fs.readdir(dir), ['bad.c']);
  });

  test('a kernel-mode compile error reports clang, not the later pipeline stages', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const dir = path.join(tmp.dir, 'badk');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'bad.c'), '#include <linux/sched.h>\nint f(struct task_struct *t) { return t->no_such_field; }\n');
    await assert.rejects(compile({ source: path.join(dir, 'bad.c'), output: path.join(dir, 'bad.o'), kernelRelease: headers.release, env }), (e: unknown) => {
      assert.ok(e instanceof BpfCompileError && e.code === ErrorCode.COMPILE_FAILED);
      const diag = String(e.details['diagnostics']);
      assert.match(diag, /no member named 'no_such_field'/);
      assert.doesNotMatch(diag, /opt:|llc:/, 'later stages complaining about empty input are not shown');
      return true;
    });
    assert.deepEqual(await fs.readdir(dir), ['bad.c']);
  });

  test('the CLI exits 1 on a compile error and prints the diagnostics, no stack trace', async () => {
    const src = path.join(tmp.dir, 'cli-bad.c');
    await fs.writeFile(src, 'int f(void) { return nope; }\n');
    const r = await execa('node', ['--import', 'tsx', BIN, 'compile', src, '-o', path.join(tmp.dir, 'cli-bad.o'), '--mode', 'plain'], { reject: false });
    assert.equal(r.exitCode, 1);
    assert.match(String(r.stderr), /error: use of undeclared identifier 'nope'/);
    assert.match(String(r.stderr), /bpf-compile: error: compilation failed/);
    assert.doesNotMatch(String(r.stderr), /\n\s+at /);
  });

  test('the CLI compiles an example end to end', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const out = path.join(tmp.dir, 'cli.bpf.o');
    const r = await execa('node', ['--import', 'tsx', BIN, 'compile', path.join(EXAMPLES, 'syscall_count.bpf.c'), '-o', out, '--kernel-release', headers.release], {
      reject: false,
    });
    assert.equal(r.exitCode, 0, String(r.stderr));
    await assertBpfObject(out);
  });
});

describe('compiled-object cache', () => {
  test('an unchanged compile is served from the cache with identical bytes; cache: false bypasses it', async (t) => {
    if (headers === undefined) return t.skip('no installed kernel headers');
    const cacheDir = path.join(tmp.dir, 'objcache');
    const src = path.join(EXAMPLES, 'task_exec.bpf.c');
    const a = path.join(tmp.dir, 'cached-a.o');
    const b = path.join(tmp.dir, 'cached-b.o');
    const first = await compile({ source: src, output: a, kernelRelease: headers.release, env, cacheDir });
    assert.equal(first.fromCache, false);
    const second = await compile({ source: src, output: b, kernelRelease: headers.release, env, cacheDir });
    assert.equal(second.fromCache, true);
    assert.ok((await fs.readFile(a)).equals(await fs.readFile(b)));
    const third = await compile({ source: src, output: b, kernelRelease: headers.release, env, cacheDir, cache: false });
    assert.equal(third.fromCache, false);
    const changed = await compile({ source: src, output: b, kernelRelease: headers.release, env, cacheDir, extraArgs: ['-DEXTRA=1'] });
    assert.equal(changed.fromCache, false, 'other flags → other key');
  });
});
