import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { execa } from 'execa';
import { buildMany, type BuildOptions, type BuildSummary } from '../../lib/build/index.js';
import { register as registerBuild } from '../../lib/cli/commands/build.js';
import { cliContext } from '../../lib/cli/context.js';
import { parseDepfile } from '../../lib/compile/depfile.js';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { bpfLoadPermitted, loadAll } from '../helpers/bpf.js';
import { EM_BPF, elfInfo } from '../helpers/elf.js';
import { tempDir } from '../helpers/fake-kernel.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const EXAMPLES = path.join(REPO, 'examples');
const DIST_CLI = path.join(REPO, 'dist/bin/bpf-compile.cjs');
const ARCHES = ['x86_64', 'aarch64', 's390x'];
const PROGS = ['xdp_counter', 'core_kprobe'];

let tmp: { dir: string; cleanup: () => Promise<void> };
let cacheDir: string;
let load: { ok: true } | { ok: false; reason: string };

before(async () => {
  tmp = await tempDir('bpfc-build-');
  cacheDir = path.join(tmp.dir, 'cache');
  load = await bpfLoadPermitted();
});
after(async () => tmp.cleanup());

/** Copy the two example programs into a fresh dir (a different path each time). */
async function sources(name: string): Promise<string> {
  const dir = path.join(tmp.dir, name, 'src');
  await fs.mkdir(dir, { recursive: true });
  for (const p of PROGS) await fs.copyFile(path.join(EXAMPLES, `${p}.bpf.c`), path.join(dir, `${p}.bpf.c`));
  return dir;
}

function build(options: Omit<BuildOptions, 'cacheDir' | 'jobs'> & { jobs?: number }): Promise<BuildSummary> {
  return buildMany({ cacheDir, jobs: 2, ...options });
}

function failures(s: BuildSummary): string {
  return s.items
    .filter((i) => !i.ok)
    .map((i) => `${i.source} ${i.target}: ${i.error?.message}\n${i.error?.diagnostics ?? ''}`)
    .join('\n');
}

describe('bpf-compile build, real toolchain', () => {
  let out: string;
  let summary: BuildSummary;
  before(async () => {
    const src = await sources('multi');
    out = path.join(tmp.dir, 'multi', 'out');
    summary = await build({ inputs: [path.join(src, '*.bpf.c')], outDir: out, arches: [ARCHES.join(',')], depfile: true });
  });

  test('2 programs × 3 arches → 6 objects, named <stem>.<arch>.bpf.o', async () => {
    assert.equal(summary.ok, true, failures(summary));
    assert.equal(summary.items.length, 6);
    const files = (await fs.readdir(out)).filter((f) => f.endsWith('.bpf.o')).sort();
    assert.deepEqual(files, PROGS.flatMap((p) => ARCHES.map((a) => `${p}.${a}.bpf.o`)).sort());
    assert.deepEqual(new Set(summary.items.map((i) => i.mode)), new Set(['plain', 'core']));
  });

  test('byte order per target: s390x big-endian, the others little-endian', async () => {
    for (const p of PROGS) {
      for (const a of ARCHES) {
        const info = elfInfo(await fs.readFile(path.join(out, `${p}.${a}.bpf.o`)));
        assert.equal(info.machine, EM_BPF);
        assert.equal(info.littleEndian, a !== 's390x', `${p}.${a}`);
        assert.ok(info.sections.includes('.BTF'));
      }
    }
  });

  test('__TARGET_ARCH_* matches each target (a program per arch that #errors elsewhere)', async () => {
    const dir = path.join(tmp.dir, 'archcheck');
    await fs.mkdir(dir, { recursive: true });
    const macros: Record<string, string> = { x86_64: 'x86', aarch64: 'arm64', s390x: 's390' };
    for (const [arch, macro] of Object.entries(macros)) {
      await fs.writeFile(
        path.join(dir, `only_${arch}.bpf.c`),
        `#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n#ifndef __TARGET_ARCH_${macro}\n#error not ${arch}\n#endif\n` +
          `SEC("xdp") int prog(struct xdp_md *ctx) { return XDP_PASS; }\nchar LICENSE[] SEC("license") = "GPL";\n`,
      );
    }
    const s = await build({ inputs: [path.join(dir, '*.bpf.c')], outDir: path.join(dir, 'out'), arches: ARCHES, mode: 'plain' });
    assert.equal(s.items.length, 9);
    for (const item of s.items) {
      const matches = path.basename(item.source) === `only_${item.target}.bpf.c`;
      assert.equal(item.ok, matches, `${item.source} for ${item.target}: ${item.error?.message ?? 'ok'}`);
      if (!matches) assert.match(item.error?.diagnostics ?? '', /#error not/);
    }
  });

  test('--depfile: make syntax, target = object, lists the source and the headers', async () => {
    const obj = path.join(out, 'xdp_counter.s390x.bpf.o');
    const d = parseDepfile(await fs.readFile(`${obj}.d`, 'utf8'));
    assert.deepEqual(d.rules[0]?.targets, [obj]);
    const pre = d.prerequisites;
    assert.match(pre[0] ?? '', /xdp_counter\.bpf\.c$/);
    assert.ok(
      pre.some((p) => p.endsWith('/bpf/bpf_helpers.h')),
      pre.join(' '),
    );
    assert.ok(pre.some((p) => p.endsWith('/linux/bpf.h')));
    const core = parseDepfile(await fs.readFile(path.join(out, 'core_kprobe.x86_64.bpf.o.d'), 'utf8'));
    assert.ok(
      core.prerequisites.some((p) => p.endsWith('/vmlinux.h')),
      'the generated vmlinux.h is a dependency',
    );
  });

  test('--depfile is make-parseable: up to date after the build, rebuilt after touching the source', async () => {
    const obj = path.join(out, 'xdp_counter.x86_64.bpf.o');
    const mk = path.join(tmp.dir, 'multi', 'test.mk');
    await fs.writeFile(mk, `all: ${obj}\n${obj}:\n\t@echo REBUILD $@\ninclude ${obj}.d\n`);
    const q = await execa('make', ['-q', '-f', mk], { reject: false });
    assert.equal(q.exitCode, 0, `make -q: ${q.stdout}${q.stderr}`);
    const src = parseDepfile(await fs.readFile(`${obj}.d`, 'utf8')).prerequisites[0] as string;
    const later = new Date(Date.now() + 5000);
    await fs.utimes(src, later, later);
    const n = await execa('make', ['-n', '-f', mk], { reject: false });
    assert.equal(n.exitCode, 0, n.stderr);
    assert.match(n.stdout, /REBUILD/);
  });

  test('a second build is served from the cache and still writes depfiles', async () => {
    const again = path.join(tmp.dir, 'multi', 'again');
    const s = await build({ inputs: [path.join(tmp.dir, 'multi', 'src', 'xdp_counter.bpf.c')], outDir: again, depfile: true, arches: ['x86'] });
    assert.equal(s.ok, true, failures(s));
    assert.equal(s.items[0]?.fromCache, true);
    assert.equal(s.items[0]?.output, path.join(again, 'xdp_counter.bpf.o'), 'one target → <stem>.bpf.o');
    assert.ok(parseDepfile(await fs.readFile(path.join(again, 'xdp_counter.bpf.o.d'), 'utf8')).prerequisites.length > 5);
  });
});

describe('--strip', () => {
  let out: string;
  let summary: BuildSummary;
  before(async () => {
    const src = await sources('strip');
    out = path.join(tmp.dir, 'strip', 'out');
    summary = await build({ inputs: [path.join(src, '*.bpf.c')], outDir: out, arches: ['x86_64', 's390x'], strip: true });
  });

  test('removes .debug_* sections, keeps .BTF and .BTF.ext', async () => {
    assert.equal(summary.ok, true, failures(summary));
    for (const item of summary.items) {
      assert.equal(item.stripped, true);
      const info = elfInfo(await fs.readFile(item.output));
      assert.ok(!info.sections.some((s) => s.startsWith('.debug_')), `${item.output}: ${info.sections.join(' ')}`);
      assert.ok(info.sections.includes('.BTF') && info.sections.includes('.BTF.ext'), `${item.output}: ${info.sections.join(' ')}`);
    }
    const dirList = await fs.readdir(out);
    assert.ok(!dirList.some((f) => f.endsWith('.tmp')), 'no temp files left');
  });

  test('the stripped x86 objects still load (bpftool prog loadall)', async (t) => {
    if (!load.ok) return t.skip(`not loaded: ${load.reason}`);
    for (const p of PROGS) {
      const l = await loadAll(path.join(out, `${p}.x86_64.bpf.o`));
      try {
        assert.equal(l.programs.length, 1);
      } finally {
        await l.cleanup();
      }
    }
  });
});

describe('reproducibility', () => {
  for (const strip of [false, true]) {
    test(`the same sources built in two directories give byte-identical objects${strip ? ' (--strip)' : ''}`, async () => {
      const results: Buffer[][] = [];
      for (const where of [`repro-a-${strip}`, `deeper/repro-b-${strip}`]) {
        const src = await sources(where);
        const out = path.join(tmp.dir, where, 'objs');
        const s = await build({ inputs: [path.join(src, '*.bpf.c')], outDir: out, arches: ['x86_64', 's390x'], strip, cache: false });
        assert.equal(s.ok, true, failures(s));
        results.push(await Promise.all(s.items.map((i) => fs.readFile(i.output))));
      }
      const [a, b] = results as [Buffer[], Buffer[]];
      assert.equal(a.length, 4);
      a.forEach((buf, i) => assert.ok(buf.equals(b[i] as Buffer), `object ${i} differs`));
    });
  }
});

describe('CLI: a failing file', () => {
  test('gives COMPILE_FAILED (exit 1) and the others are still built', async () => {
    const dir = path.join(tmp.dir, 'failing');
    await fs.mkdir(dir, { recursive: true });
    await fs.copyFile(path.join(EXAMPLES, 'xdp_counter.bpf.c'), path.join(dir, 'good.bpf.c'));
    await fs.writeFile(path.join(dir, 'broken.bpf.c'), '#include <linux/bpf.h>\nint f(void) { return oops; }\n');
    let out = '';
    let err = '';
    const program = new Command('bpf-compile').exitOverride();
    program.option('-q, --quiet');
    registerBuild(program, cliContext(program, { stdout: (t) => (out += t), stderr: (t) => (err += t) }));
    const e = await program
      .parseAsync([
        'node',
        'bpf-compile',
        'build',
        path.join(dir, '*.bpf.c'),
        '--out-dir',
        path.join(dir, 'out'),
        '--mode',
        'plain',
        '--cache-dir',
        cacheDir,
        '--arch',
        'x86,s390x',
      ])
      .then(
        () => undefined,
        (x: unknown) => x,
      );
    assert.ok(e instanceof BpfCompileError && e.code === ErrorCode.COMPILE_FAILED, String(e));
    assert.match(out, /^FAIL .*broken\.bpf\.c → .*broken\.x86_64\.bpf\.o: .*error: use of undeclared identifier 'oops'/m);
    assert.match(out, /^ok {3}.*good\.bpf\.c → .*good\.s390x\.bpf\.o \(plain, /m);
    assert.match(out, /2 built, 2 failed/);
    assert.match(err, /undeclared identifier 'oops'/);
    assert.deepEqual((await fs.readdir(path.join(dir, 'out'))).sort(), ['good.s390x.bpf.o', 'good.x86_64.bpf.o']);
  });
});

/** Whether the built CLI (dist) has the build command wired in. */
async function distHasBuild(): Promise<boolean> {
  const r = await execa('node', [DIST_CLI, 'build', '--help'], { reject: false });
  return r.exitCode === 0 && /--out-dir/.test(String(r.stdout));
}

describe('examples using the dist CLI', () => {
  let shimDir: string;
  let wired = false;
  before(async () => {
    wired = await distHasBuild();
    shimDir = path.join(tmp.dir, 'shim');
    await fs.mkdir(shimDir, { recursive: true });
    await fs.writeFile(path.join(shimDir, 'bpf-compile'), `#!/bin/sh\nexec node ${JSON.stringify(DIST_CLI)} "$@"\n`, { mode: 0o755 });
  });

  test('examples/Makefile builds with depfiles and is then up to date', async () => {
    assert.ok(wired, 'the built CLI (dist) runs `build --help`');
    const outDir = path.join(tmp.dir, 'make-out');
    const vars = [`BPF_COMPILE=node ${DIST_CLI}`, `OUT=${outDir}`, `BPF_FLAGS=--cache-dir ${cacheDir}`];
    const r = await execa('make', ['-C', EXAMPLES, ...vars], { reject: false, all: true });
    assert.equal(r.exitCode, 0, String(r.all));
    for (const p of PROGS) {
      assert.equal(elfInfo(await fs.readFile(path.join(outDir, `${p}.bpf.o`))).machine, EM_BPF);
      const d = parseDepfile(await fs.readFile(path.join(outDir, `${p}.bpf.o.d`), 'utf8'));
      assert.deepEqual(d.rules[0]?.targets, [path.join(outDir, `${p}.bpf.o`)]);
    }
    const q = await execa('make', ['-q', '-C', EXAMPLES, ...vars], { reject: false });
    assert.equal(q.exitCode, 0, 'up to date after the build (the depfiles parse)');
  });

  test('examples/prebuild: npm run prebuild builds src/*.bpf.c into build/', async () => {
    assert.ok(wired, 'the built CLI (dist) runs `build --help`');
    const pkg = path.join(tmp.dir, 'prebuild');
    await fs.cp(path.join(EXAMPLES, 'prebuild'), pkg, { recursive: true });
    await fs.mkdir(path.join(pkg, 'src'), { recursive: true });
    for (const p of PROGS) await fs.copyFile(path.join(EXAMPLES, `${p}.bpf.c`), path.join(pkg, 'src', `${p}.bpf.c`));
    const env = { ...process.env, PATH: `${shimDir}:${process.env['PATH'] ?? ''}`, BPF_COMPILE_CACHE_DIR: cacheDir };
    const r = await execa('npm', ['run', 'prebuild'], { cwd: pkg, env, reject: false, all: true });
    assert.equal(r.exitCode, 0, String(r.all));
    for (const p of PROGS) {
      assert.equal(elfInfo(await fs.readFile(path.join(pkg, 'build', `${p}.bpf.o`))).machine, EM_BPF);
      await fs.access(path.join(pkg, 'build', `${p}.bpf.o.d`));
    }
  });
});
