import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command, CommanderError } from 'commander';
import { cliContext } from '../../lib/cli/context.js';
import {
  buildMany,
  buildTargets,
  componentRegExp,
  dependencyArgv,
  escapeMakePath,
  expandGlob,
  expandInputs,
  firstErrorLine,
  formatDepfile,
  objectPath,
  runPool,
  statusLine,
  stemOf,
  stripCandidates,
  type CompileFn,
} from '../../lib/build/index.js';
import { register as registerBuild, parseJobs } from '../../lib/cli/commands/build.js';
import type { CompileOptions, CompileResult } from '../../lib/compile/index.js';
import { parseDepfile } from '../../lib/compile/depfile.js';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';

let dir: string;
before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'bpfc-build-unit-'));
  for (const f of ['a.bpf.c', 'b.bpf.c', 'c.c', 'notes.txt', 'sub/d.bpf.c', 'sub/deep/e.bpf.c', '.hidden/f.bpf.c', 'sub/.g.bpf.c']) {
    await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await fs.writeFile(path.join(dir, f), '');
  }
});
after(async () => fs.rm(dir, { recursive: true, force: true }));

describe('glob expansion', () => {
  test('component patterns', () => {
    assert.ok(componentRegExp('*.bpf.c').test('x.bpf.c'));
    assert.ok(!componentRegExp('*.bpf.c').test('x.bpfxc'), 'dots are literal');
    assert.ok(componentRegExp('?.c').test('a.c'));
    assert.ok(!componentRegExp('?.c').test('ab.c'));
    assert.ok(componentRegExp('a+(b).c').test('a+(b).c'), 'regexp characters are literal');
  });
  test('* stays within one directory, hidden files need a dot', async () => {
    assert.deepEqual(await expandGlob('*.bpf.c', dir), ['a.bpf.c', 'b.bpf.c']);
    assert.deepEqual(await expandGlob('*.c', dir), ['a.bpf.c', 'b.bpf.c', 'c.c']);
    assert.deepEqual(await expandGlob('sub/.*.bpf.c', dir), ['sub/.g.bpf.c']);
  });
  test('? and ** (zero or more dirs, not into hidden dirs)', async () => {
    assert.deepEqual(await expandGlob('?.bpf.c', dir), ['a.bpf.c', 'b.bpf.c']);
    assert.deepEqual(await expandGlob('**/*.bpf.c', dir), ['a.bpf.c', 'b.bpf.c', 'sub/d.bpf.c', 'sub/deep/e.bpf.c']);
    assert.deepEqual(await expandGlob('sub/**/e.bpf.c', dir), ['sub/deep/e.bpf.c']);
    assert.deepEqual(await expandGlob('*/d.bpf.c', dir), ['sub/d.bpf.c']);
  });
  test('absolute patterns give absolute paths', async () => {
    assert.deepEqual(await expandGlob(path.join(dir, 'sub', '*.bpf.c')), [path.join(dir, 'sub/d.bpf.c')]);
  });
  test('inputs: plain paths kept as given, duplicates dropped, empty pattern is a usage error', async () => {
    assert.deepEqual(await expandInputs(['missing.bpf.c', 'a.bpf.c', '*.bpf.c'], dir), ['missing.bpf.c', 'a.bpf.c', 'b.bpf.c']);
    await assert.rejects(expandInputs(['*.nothing'], dir), (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.USAGE);
  });
});

describe('targets and naming', () => {
  test('arch lists: aliases and SRCARCH names map to uname -m rows, deduplicated', () => {
    const t = buildTargets(['x86,arm64', 's390x', 'amd64'], undefined, 'x86_64');
    assert.deepEqual(
      t.map((x) => x.name),
      ['x86_64', 'aarch64', 's390x'],
    );
    assert.deepEqual(
      t.map((x) => x.bpfTarget),
      ['bpfel', 'bpfel', 'bpfeb'],
    );
  });
  test('byte-order targets: host arch when it matches, else the first row of that order', () => {
    const t = buildTargets(undefined, ['bpfel,bpfeb'], 'x86_64');
    assert.deepEqual(t, [
      { name: 'bpfel', arch: 'x86_64', bpfTarget: 'bpfel' },
      { name: 'bpfeb', arch: 's390x', bpfTarget: 'bpfeb' },
    ]);
    assert.equal(buildTargets(undefined, ['bpfeb'], 's390x')[0]?.arch, 's390x');
  });
  test('default: the host; errors for both lists, bad target, unknown arch', () => {
    assert.deepEqual(
      buildTargets(undefined, undefined, 'aarch64').map((t) => t.name),
      ['aarch64'],
    );
    assert.throws(
      () => buildTargets(['x86'], ['bpfel']),
      (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.USAGE,
    );
    assert.throws(
      () => buildTargets(undefined, ['bpfxx']),
      (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.USAGE,
    );
    assert.throws(
      () => buildTargets(['vax']),
      (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.UNKNOWN_ARCH,
    );
  });
  test('stems and object paths', () => {
    assert.equal(stemOf('src/probe.bpf.c'), 'probe');
    assert.equal(stemOf('probe.c'), 'probe');
    assert.equal(stemOf('probe'), 'probe');
    const [x86] = buildTargets(['x86']);
    assert.ok(x86 !== undefined);
    assert.equal(objectPath('out', 'src/probe.bpf.c', x86, false), path.join('out', 'probe.bpf.o'));
    assert.equal(objectPath('out', 'src/probe.bpf.c', x86, true), path.join('out', 'probe.x86_64.bpf.o'));
  });
});

describe('depfiles', () => {
  test('escaping round-trips through parseDepfile', () => {
    const prereqs = ['/src/a b.c', '/inc/h#1.h', '/inc/$x.h', '/inc/plain.h', '/inc/back\\ slash.h'];
    const text = formatDepfile('out/a b.bpf.o', prereqs);
    const d = parseDepfile(text);
    assert.deepEqual(d.rules[0]?.targets, ['out/a b.bpf.o']);
    assert.deepEqual(d.rules[0]?.prerequisites, prereqs);
    assert.deepEqual(d.prerequisites, prereqs);
    assert.equal(d.rules.length, prereqs.length, 'one phony rule per header');
    assert.equal(escapeMakePath('a b'), 'a\\ b');
  });
  test('dependency argv replaces -c SRC -o X with -M -MF', () => {
    assert.deepEqual(dependencyArgv(['-O2', '-I/x', '-c', '/s.c', '-o', '-'], '/t.d'), ['-O2', '-I/x', '-M', '-MF', '/t.d', '/s.c']);
    assert.throws(() => dependencyArgv(['-O2'], '/t.d'), TypeError);
  });
  test('strip candidates follow the toolchain major, LLVM_STRIP overrides', () => {
    assert.deepEqual(stripCandidates(14, {}), ['llvm-strip-14', '/usr/lib/llvm-14/bin/llvm-strip', 'llvm-strip']);
    assert.deepEqual(stripCandidates(14, { LLVM_STRIP: '/x/strip' }), ['/x/strip']);
  });
});

describe('pool', () => {
  test('never runs more than jobs at once, keeps order', async () => {
    let running = 0;
    let peak = 0;
    const r = await runPool([5, 1, 4, 2, 3, 0], 2, async (n) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((res) => setTimeout(res, n * 3));
      running--;
      return n * 10;
    });
    assert.deepEqual(r, [50, 10, 40, 20, 30, 0]);
    assert.equal(peak, 2);
  });
});

/** A fake compile: writes the object, or fails for sources named bad*. */
function fakeCompile(calls: CompileOptions[]): CompileFn {
  return async (o) => {
    calls.push(o);
    if (path.basename(o.source).startsWith('bad')) {
      throw new BpfCompileError(ErrorCode.COMPILE_FAILED, 'compilation failed (clang exited non-zero)', {
        details: { diagnostics: `${o.source}:3:1: warning: meh\n${o.source}:4:2: error: expected ';'\n1 error generated.\n` },
      });
    }
    await fs.mkdir(path.dirname(o.output), { recursive: true });
    await fs.writeFile(o.output, `obj ${o.arch ?? ''}`);
    return { mode: 'plain', fromCache: false, diagnostics: '', output: o.output } as unknown as CompileResult;
  };
}

describe('buildMany with a fake compile', () => {
  test('every source × target, one failure does not stop the others', async () => {
    const src = await fs.mkdtemp(path.join(dir, 'many-'));
    for (const f of ['x.bpf.c', 'bad.bpf.c', 'y.bpf.c']) await fs.writeFile(path.join(src, f), '');
    const calls: CompileOptions[] = [];
    const lines: string[] = [];
    const s = await buildMany({
      inputs: ['*.bpf.c'],
      cwd: src,
      outDir: 'out',
      arches: ['x86_64,s390x'],
      jobs: 3,
      mode: 'plain',
      kernelRelease: '6.1.0',
      compileFn: fakeCompile(calls),
      onStatus: (l) => lines.push(l),
    });
    assert.equal(s.ok, false);
    assert.equal(s.built, 4);
    assert.equal(s.failed, 2);
    assert.deepEqual(s.targets, ['x86_64', 's390x']);
    assert.equal(calls.length, 6);
    assert.ok(
      calls.every((c) => c.mode === 'plain' && c.kernelRelease === '6.1.0' && path.isAbsolute(c.source)),
      'options passed through',
    );
    const bad = s.items.filter((i) => !i.ok);
    assert.deepEqual(
      bad.map((i) => [i.source, i.target, i.output, i.error?.code]),
      [
        ['bad.bpf.c', 'x86_64', path.join('out', 'bad.x86_64.bpf.o'), 'COMPILE_FAILED'],
        ['bad.bpf.c', 's390x', path.join('out', 'bad.s390x.bpf.o'), 'COMPILE_FAILED'],
      ],
    );
    assert.match(firstErrorLine(bad[0]!), /error: expected ';'/);
    assert.equal(await fs.readFile(path.join(src, 'out', 'y.s390x.bpf.o'), 'utf8'), 'obj s390x');
    assert.equal(lines.length, 6);
    assert.ok(
      lines.some((l) => /^ok {3}x\.bpf\.c → out\/x\.x86_64\.bpf\.o \(plain, \d+\.\d s\)$/.test(l)),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((l) => /^FAIL bad\.bpf\.c → out\/bad\.s390x\.bpf\.o: .*error: expected ';'$/.test(l)),
      lines.join('\n'),
    );
  });
  test('two inputs with one object name are a usage error', async () => {
    await assert.rejects(
      buildMany({ inputs: ['a.bpf.c', 'sub/a.bpf.c'], cwd: dir, outDir: 'o', compileFn: fakeCompile([]) }),
      (e: unknown) => e instanceof BpfCompileError && e.code === ErrorCode.USAGE,
    );
  });
  test('status line formats', () => {
    const base = { source: 's.bpf.c', target: 'x86_64', output: 'o/s.bpf.o', fromCache: true, stripped: false, ms: 812, diagnostics: '' };
    assert.equal(statusLine({ ...base, ok: true, mode: 'kernel' }), 'ok   s.bpf.c → o/s.bpf.o (kernel, cached, 0.8 s)');
    assert.equal(
      statusLine({ ...base, ok: false, mode: undefined, error: { code: 'INPUT_UNREADABLE', message: 'cannot read s.bpf.c' } }),
      'FAIL s.bpf.c → o/s.bpf.o: cannot read s.bpf.c',
    );
  });
});

describe('build command', () => {
  async function run(argv: string[], cwd: string): Promise<{ code: string | undefined; out: string; err: string }> {
    let out = '';
    let err = '';
    const program = new Command('bpf-compile').exitOverride().configureOutput({ writeOut: (t) => (out += t), writeErr: (t) => (err += t) });
    program.option('-q, --quiet');
    registerBuild(program, cliContext(program, { stdout: (t) => (out += t), stderr: (t) => (err += t) }, { compileFn: fakeCompile([]) }));
    const prev = process.cwd();
    process.chdir(cwd);
    try {
      await program.parseAsync(['node', 'bpf-compile', ...argv]);
      return { code: undefined, out, err };
    } catch (e) {
      if (e instanceof BpfCompileError) return { code: e.code, out, err };
      if (e instanceof CommanderError) return { code: e.code, out, err };
      throw e;
    } finally {
      process.chdir(prev);
    }
  }
  test('status lines, summary, COMPILE_FAILED (exit 1) when one fails', async () => {
    const src = await fs.mkdtemp(path.join(dir, 'cli-'));
    for (const f of ['ok.bpf.c', 'bad.bpf.c']) await fs.writeFile(path.join(src, f), '');
    const r = await run(['build', '*.bpf.c', '--out-dir', 'o', '--arch', 'x86,s390x', '--jobs', '2'], src);
    assert.equal(r.code, ErrorCode.COMPILE_FAILED);
    assert.match(r.out, /^ok {3}ok\.bpf\.c → o\/ok\.x86_64\.bpf\.o/m);
    assert.match(r.out, /^FAIL bad\.bpf\.c → o\/bad\.s390x\.bpf\.o: .*error: expected ';'/m);
    assert.match(r.out, /2 built, 2 failed \(x86_64, s390x\)/);
    assert.match(r.err, /error: expected ';'/, 'full diagnostics of failures on stderr');
  });
  test('--json prints the summary, status lines go to stderr', async () => {
    const src = await fs.mkdtemp(path.join(dir, 'json-'));
    await fs.writeFile(path.join(src, 'ok.bpf.c'), '');
    const r = await run(['build', 'ok.bpf.c', '--out-dir', 'o', '--target', 'bpfeb', '--json'], src);
    assert.equal(r.code, undefined);
    const s = JSON.parse(r.out) as { ok: boolean; items: Array<{ output: string; target: string; ok: boolean }> };
    assert.equal(s.ok, true);
    assert.deepEqual(
      s.items.map((i) => [i.output, i.target]),
      [[path.join('o', 'ok.bpf.o'), 'bpfeb']],
    );
    assert.match(r.err, /^ok {3}ok\.bpf\.c/m);
  });
  test('--out-dir is required, --jobs must be a positive integer', async () => {
    assert.equal((await run(['build', 'x.bpf.c'], dir)).code, 'commander.missingMandatoryOptionValue');
    assert.equal(parseJobs('4'), 4);
    assert.throws(() => parseJobs('0'), BpfCompileError);
    assert.throws(() => parseJobs('x'), BpfCompileError);
  });
});
