import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execa } from 'execa';
import { compile, planCompile } from '../../lib/compile/index.js';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { resolveHeaders } from '../../lib/resolve.js';
import { bpfLoadPermitted, loadAll } from '../helpers/bpf.js';
import { cleanEnv, tempDir } from '../helpers/fake-kernel.js';

const EXAMPLES = path.resolve(import.meta.dirname, '../../examples');
const BIN = path.resolve(import.meta.dirname, '../../bin/bpf-compile.ts');
const LIVE_BTF = '/sys/kernel/btf/vmlinux';
let hasBtf = false;
let tmp: { dir: string; cleanup: () => Promise<void> };
let cacheDir: string;
let load: { ok: true } | { ok: false; reason: string };
const env = cleanEnv();

before(async () => {
  tmp = await tempDir();
  cacheDir = path.join(tmp.dir, 'cache');
  hasBtf = await fs.access(LIVE_BTF).then(
    () => true,
    () => false,
  );
  load = await bpfLoadPermitted();
  if (!hasBtf) console.log(`# ${LIVE_BTF} missing: CO-RE tests against the live BTF skip`);
});
after(async () => tmp.cleanup());

const noBtf = 'no /sys/kernel/btf/vmlinux on this machine';

describe('core mode with a vmlinux.h generated from the live BTF', () => {
  test('auto mode picks core for a program that includes vmlinux.h; the verifier accepts it', async (t) => {
    if (!hasBtf) return t.skip(noBtf);
    const out = path.join(tmp.dir, 'core_kprobe.o');
    const r = await compile({ source: path.join(EXAMPLES, 'core_kprobe.bpf.c'), output: out, cacheDir, env });
    assert.equal(r.mode, 'core');
    assert.equal(r.headers?.kind, 'vmlinux');
    assert.match(r.modeReason, /includes vmlinux\.h/);
    assert.deepEqual(r.plan.clang.slice(0, 2), ['-target', 'bpfel']);
    assert.ok(r.headers?.kind === 'vmlinux' && r.plan.clang.includes(`-I${r.headers.includeDir}`));
    assert.ok(r.headers?.kind === 'vmlinux' && r.headers.includeDir.startsWith(cacheDir));
    assert.equal(r.diagnostics, '');
    if (!load.ok) return t.skip(`not loaded: ${load.reason}`);
    const l = await loadAll(out);
    await l.cleanup();
    assert.equal(l.programs.length, 1);
  });

  test('a program with its own vmlinux.h uses it: core mode, nothing generated', async (t) => {
    if (!hasBtf) return t.skip(noBtf);
    const dir = path.join(tmp.dir, 'own');
    await fs.mkdir(dir);
    const h = await resolveHeaders({ kind: 'vmlinux', cacheDir, env });
    await fs.copyFile(h.header, path.join(dir, 'vmlinux.h'));
    await fs.copyFile(path.join(EXAMPLES, 'core_exec.bpf.c'), path.join(dir, 'core_exec.bpf.c'));
    const otherCache = path.join(tmp.dir, 'unused-cache');
    const p = await planCompile({ source: path.join(dir, 'core_exec.bpf.c'), output: path.join(dir, 'o.o'), cacheDir: otherCache, env });
    assert.equal(p.mode, 'core');
    assert.equal(p.headers, undefined);
    assert.match(p.modeReason, /its own vmlinux\.h/);
    await assert.rejects(fs.access(otherCache), 'no cache touched');
  });

  test('an explicit BTF file and a btfhub-style .btf.tar.xz give the same header', async (t) => {
    if (!hasBtf) return t.skip(noBtf);
    const release = '6.18.0-test';
    const stage = path.join(tmp.dir, 'btfhub');
    await fs.mkdir(stage);
    await fs.copyFile(LIVE_BTF, path.join(stage, `${release}.btf`));
    await execa('tar', ['-C', stage, '-cJf', path.join(tmp.dir, `${release}.btf.tar.xz`), `${release}.btf`]);
    const fromFile = await resolveHeaders({ kind: 'vmlinux', btf: path.join(stage, `${release}.btf`), cacheDir, env, kernelRelease: release });
    const fromArchive = await resolveHeaders({ kind: 'vmlinux', btf: path.join(tmp.dir, `${release}.btf.tar.xz`), cacheDir, env, kernelRelease: release });
    assert.equal(fromFile.source, 'btf');
    assert.deepEqual(fromFile.warnings, [], 'an explicit BTF carries no release to contradict');
    assert.equal(fromFile.sha256, fromArchive.sha256, 'byte-identical vmlinux.h');
  });

  test('the live BTF describes the running kernel: another target release warns, or fails under strict', async (t) => {
    if (!hasBtf) return t.skip(noBtf);
    const h = await resolveHeaders({ kind: 'vmlinux', cacheDir, env, kernelRelease: '5.15.0-other' });
    assert.match(h.warnings[0] ?? '', new RegExp(`running kernel ${os.release().replace(/[.+]/g, '\\$&')}, target kernel is 5\\.15\\.0-other`));
    await assert.rejects(
      resolveHeaders({ kind: 'vmlinux', cacheDir, env, kernelRelease: '5.15.0-other', strict: true }),
      (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.HEADERS_VERSION_MISMATCH,
    );
  });

  test('CLI: vmlinux to stdout and to a file, cflags --mode core, headers --kind vmlinux --json', async (t) => {
    if (!hasBtf) return t.skip(noBtf);
    const cli = (...args: string[]) => execa('node', ['--import', 'tsx', BIN, ...args, '--cache-dir', cacheDir], { reject: false });
    const out = await cli('vmlinux');
    assert.equal(out.exitCode, 0, String(out.stderr));
    assert.match(String(out.stdout), /^#ifndef __VMLINUX_H__/);
    assert.match(String(out.stdout), /struct task_struct \{/);
    const file = path.join(tmp.dir, 'vmlinux.h');
    assert.equal((await cli('vmlinux', '-o', file)).exitCode, 0);
    assert.equal(await fs.readFile(file, 'utf8'), `${String(out.stdout)}\n`.replace(/\n\n$/, '\n'));
    const cf = await cli('cflags', '--mode', 'core', '--json');
    const flags = JSON.parse(String(cf.stdout)) as string[];
    assert.deepEqual(flags.slice(0, 2), ['-target', 'bpfel']);
    assert.ok(
      flags.some((f) => f.startsWith(`-I${cacheDir}`)),
      flags.join(' '),
    );
    const hj = await cli('headers', '--kind', 'vmlinux', '--json');
    assert.equal((JSON.parse(String(hj.stdout)) as { kind: string }).kind, 'vmlinux');
  });
});

describe('without BTF', () => {
  test('core mode on a root without BTF: HEADERS_NOT_FOUND naming CONFIG_DEBUG_INFO_BTF', async () => {
    const root = path.join(tmp.dir, 'empty-root');
    await fs.mkdir(root, { recursive: true });
    await assert.rejects(
      compile({ source: path.join(EXAMPLES, 'core_kprobe.bpf.c'), output: path.join(tmp.dir, 'x.o'), root, cacheDir, env, kernelRelease: '6.1.0-x' }),
      (e: unknown) => {
        assert.ok(e instanceof BpfCompileError && e.code === ErrorCode.HEADERS_NOT_FOUND, String(e));
        assert.match(e.message, /no BTF to generate vmlinux\.h from/);
        assert.deepEqual(
          e.tried.map((s) => s.what),
          ['btf'],
          'a vmlinux.h program never needs kernel headers',
        );
        assert.match(e.hint ?? '', /CONFIG_DEBUG_INFO_BTF/);
        return true;
      },
    );
  });

  test('a kernel-headers program with no headers gets a hint naming the CO-RE route', async () => {
    const root = path.join(tmp.dir, 'empty-root2');
    await fs.mkdir(root, { recursive: true });
    await assert.rejects(
      compile({ source: path.join(EXAMPLES, 'task_exec.bpf.c'), output: path.join(tmp.dir, 'y.o'), root, cacheDir, env, kernelRelease: '6.1.0-x', loadModule: 'never' }),
      (e: unknown) => {
        assert.ok(e instanceof BpfCompileError && e.code === ErrorCode.HEADERS_NOT_FOUND);
        assert.match(e.hint ?? '', /CO-RE style — #include "vmlinux\.h"/);
        return true;
      },
    );
  });
});
