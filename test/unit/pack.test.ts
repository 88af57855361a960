import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { register as registerPack, packModeOf } from '../../lib/cli/commands/pack.js';
import { cliContext } from '../../lib/cli/context.js';
import type { CliIo } from '../../lib/cli/context.js';
import { isBpfCompileError } from '../../lib/errors.js';
import { formatMirrorIndex, parseMirrorIndex, type MirrorIndexEntry } from '../../lib/mirror/index-format.js';
import { packBtf } from '../../lib/pack/btf.js';
import { sha256SidecarText, updateMirrorIndex, withEntry } from '../../lib/pack/index-file.js';
import { packKheaders } from '../../lib/pack/kheaders.js';
import { stripComments } from '../../lib/pack/strip-comments.js';
import { defaultMtime } from '../../lib/pack/tar-xz.js';
import { tempDir } from '../helpers/fake-kernel.js';

let tmp: { dir: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('bpfc-pack-');
});
after(async () => tmp.cleanup());

describe('stripComments', () => {
  test('removes block comments, keeps SPDX ones', () => {
    const src = '/* SPDX-License-Identifier: GPL-2.0 */\n/* doc\n * more */\n#define A 1 /* trailing */\nint x;\n';
    assert.equal(stripComments(src), '/* SPDX-License-Identifier: GPL-2.0 */\n\n#define A 1 \nint x;\n');
  });
  test('a multi-line comment mentioning SPDX anywhere is kept', () => {
    const src = '/*\n * Copyright\n * SPDX-License-Identifier: MIT\n */\nint y;\n';
    assert.equal(stripComments(src), src);
  });
  test('"/*" in a string literal and \'/*\' in a char literal survive', () => {
    const src = 'const char *s = "/* not a comment */";\nint c = \'/\' + \'*\';\nconst char *t = "a\\"/*b";\n';
    assert.equal(stripComments(src), src);
  });
  test('a string after a comment is still a string', () => {
    assert.equal(stripComments('/* x */ char *p = "*/ /* y */";'), ' char *p = "*/ /* y */";');
  });
  test('nested-looking comments end at the first */', () => {
    assert.equal(stripComments('a /* outer /* inner */ b */ c'), 'a  b */ c');
  });
  test('// comments are left alone, and /* inside them starts nothing', () => {
    const src = '// a /* b\nint z; // c */\n';
    assert.equal(stripComments(src), src);
  });
  test('a // comment continued by backslash-newline stays a comment', () => {
    const src = '// x \\\n /* still comment */\nint q;\n';
    assert.equal(stripComments(src), src);
  });
  test('// inside a string does not hide a following comment', () => {
    assert.equal(stripComments('char *u = "http://x"; /* c */\n'), 'char *u = "http://x"; \n');
  });
  test('an apostrophe in #error text ends at the line end', () => {
    assert.equal(stripComments("#error don't\n/* gone */int w;\n"), "#error don't\nint w;\n");
  });
  test('an unterminated comment is kept (as by the kernel regex)', () => {
    assert.equal(stripComments('int v; /* open'), 'int v; /* open');
  });
  test('tokens are not pasted together; brackets and commas get no space', () => {
    assert.equal(stripComments('a/*x*/b'), 'a b');
    assert.equal(stripComments('x+/*y*/+z'), 'x+ +z');
    assert.equal(stripComments('f(/*x*/, a)'), 'f(, a)');
    assert.equal(stripComments('a/*x*//*y*/b'), 'a b');
  });
  test('non-UTF-8 bytes round-trip through latin1', () => {
    const bytes = Buffer.from([0x69, 0xe9, 0x2f, 0x2a, 0x20, 0xff, 0x2a, 0x2f, 0x0a]);
    assert.deepEqual(Buffer.from(stripComments(bytes.toString('latin1')), 'latin1'), Buffer.from([0x69, 0xe9, 0x0a]));
  });
});

describe('mirror index', () => {
  const entry = (over: Partial<MirrorIndexEntry> = {}): MirrorIndexEntry => ({
    kind: 'kheaders',
    release: '6.1.0-1-amd64',
    arch: 'x86',
    file: 'kheaders-6.1.0-1-amd64-x86.tar.xz',
    sha256: 'a'.repeat(64),
    size: 10,
    ...over,
  });

  test('withEntry replaces the same kind/release/arch and keeps others', () => {
    const idx = { version: 1, entries: [entry(), entry({ kind: 'btf', file: '6.1.0-1-amd64.btf.tar.xz' }), entry({ arch: 'arm64', file: 'k-arm64.tar.xz' })] };
    const next = withEntry(idx, entry({ sha256: 'b'.repeat(64), size: 11 }));
    assert.equal(next.entries.length, 3);
    assert.equal(next.entries.filter((e) => e.kind === 'kheaders' && e.arch === 'x86')[0]?.sha256, 'b'.repeat(64));
  });

  test('updateMirrorIndex creates, adds, replaces, writes sidecars, and is deterministic', async () => {
    const dir = path.join(tmp.dir, 'mirror');
    await fs.mkdir(dir);
    await updateMirrorIndex(dir, entry());
    await updateMirrorIndex(dir, entry({ kind: 'btf', file: '6.1.0-1-amd64.btf', sha256: 'c'.repeat(64) }));
    await updateMirrorIndex(dir, entry({ size: 99 }));
    const text = await fs.readFile(path.join(dir, 'index.json'), 'utf8');
    const idx = parseMirrorIndex(text);
    assert.equal(idx.entries.length, 2);
    assert.equal(idx.entries.find((e) => e.kind === 'kheaders')?.size, 99);
    assert.equal(text, formatMirrorIndex(idx));
    assert.equal(await fs.readFile(path.join(dir, '6.1.0-1-amd64.btf.sha256'), 'utf8'), `${'c'.repeat(64)}  6.1.0-1-amd64.btf\n`);
    // Same entries in another order → same bytes.
    const dir2 = path.join(tmp.dir, 'mirror2');
    await fs.mkdir(dir2);
    await updateMirrorIndex(dir2, entry({ kind: 'btf', file: '6.1.0-1-amd64.btf', sha256: 'c'.repeat(64) }));
    await updateMirrorIndex(dir2, entry({ size: 99 }));
    assert.equal(await fs.readFile(path.join(dir2, 'index.json'), 'utf8'), text);
    assert.deepEqual(
      (await fs.readdir(dir)).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });

  test('a malformed index.json is an error, not silently replaced', async () => {
    const dir = path.join(tmp.dir, 'bad');
    await fs.mkdir(dir);
    await fs.writeFile(path.join(dir, 'index.json'), '{"version":1}');
    await assert.rejects(updateMirrorIndex(dir, entry()), (e) => isBpfCompileError(e, 'INPUT_UNREADABLE'));
    assert.equal(await fs.readFile(path.join(dir, 'index.json'), 'utf8'), '{"version":1}');
  });

  test('sidecar text is sha256sum format', () => {
    assert.equal(sha256SidecarText('d'.repeat(64), 'x.tar.xz'), `${'d'.repeat(64)}  x.tar.xz\n`);
  });
});

async function write(file: string, text: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, text);
}

/** A tiny source/build pair with symlinks in and out of the tree and non-header files. */
async function smallTrees(root: string): Promise<{ source: string; build: string }> {
  const source = path.join(root, 'src');
  const build = path.join(root, 'obj');
  await write(path.join(source, 'include/linux/kconfig.h'), '/* SPDX-License-Identifier: GPL-2.0 */\n/* kconfig */\n#define K 1\n');
  await write(path.join(source, 'include/linux/types.h'), 'typedef int s32; /* gone */\nconst char *s = "/*kept*/";\n');
  await write(path.join(source, 'include/linux/Kbuild'), 'not a header\n');
  await write(path.join(source, 'include/generated/utsrelease.h'), '#define UTS_RELEASE "stale"\n');
  await write(path.join(source, 'arch/x86/include/asm/ptrace.h'), 'struct pt_regs { long ax; };\n');
  await write(path.join(source, 'arch/arm64/include/asm/ptrace.h'), 'other arch\n');
  await write(path.join(root, 'outside.h'), '/* outside */int outside;\n');
  await fs.symlink('types.h', path.join(source, 'include/linux/alias.h'));
  await fs.symlink(path.join(root, 'outside.h'), path.join(source, 'include/linux/outside.h'));
  await fs.symlink('missing.h', path.join(source, 'include/linux/dangling.h'));
  await write(path.join(build, 'include/generated/utsrelease.h'), '#define UTS_RELEASE "6.1.0-test"\n');
  await write(path.join(build, 'include/linux/types.h'), 'typedef long s32; /* build wins */\n');
  await write(path.join(build, 'arch/x86/include/generated/asm/foo.h'), '#define FOO 1\n');
  return { source, build };
}

function listing(file: string): string[] {
  return execFileSync('tar', ['--numeric-owner', '--full-time', '-tvJf', file], { encoding: 'utf8', env: { PATH: process.env['PATH'] ?? '', TZ: 'UTC' } })
    .trim()
    .split('\n');
}

const sha = async (f: string): Promise<string> =>
  createHash('sha256')
    .update(await fs.readFile(f))
    .digest('hex');

describe('packKheaders (small trees)', () => {
  let trees: { source: string; build: string };
  before(async () => {
    trees = await smallTrees(path.join(tmp.dir, 'trees'));
  });

  test('kheaders layout: sorted, owner 0, fixed mtime, only headers, build wins, symlinks resolved unless inside', async () => {
    const out = path.join(tmp.dir, 'k1.tar.xz');
    const r = await packKheaders({ sourceDir: trees.source, buildDir: trees.build, srcarch: 'x86', outFile: out, mtime: 0 });
    assert.equal(r.release, '6.1.0-test');
    assert.equal(r.sha256, await sha(out));
    assert.equal(r.size, (await fs.stat(out)).size);
    assert.deepEqual(r.skipped, ['include/linux/dangling.h']);
    assert.equal(r.symlinks, 1);
    const names = listing(out).map((l) => l.replace(/^.* 1970-01-01 00:00:00 /, ''));
    assert.deepEqual(names, [
      './',
      './arch/',
      './arch/x86/',
      './arch/x86/include/',
      './arch/x86/include/asm/',
      './arch/x86/include/asm/ptrace.h',
      './arch/x86/include/generated/',
      './arch/x86/include/generated/asm/',
      './arch/x86/include/generated/asm/foo.h',
      './include/',
      './include/generated/',
      './include/generated/utsrelease.h',
      './include/linux/',
      './include/linux/alias.h -> types.h',
      './include/linux/kconfig.h',
      './include/linux/outside.h',
      './include/linux/types.h',
    ]);
    for (const l of listing(out)) {
      assert.match(l, /^(drwxr-xr-x|-rw-r--r--|lrwxrwxrwx) 0\/0 /);
      assert.match(l, / 1970-01-01 00:00:00 /);
    }
    const x = path.join(tmp.dir, 'x1');
    await fs.mkdir(x);
    execFileSync('tar', ['-xJf', out, '-C', x]);
    assert.equal(await fs.readFile(path.join(x, 'include/linux/types.h'), 'utf8'), 'typedef long s32; \n');
    assert.equal(await fs.readFile(path.join(x, 'include/linux/kconfig.h'), 'utf8'), '/* SPDX-License-Identifier: GPL-2.0 */\n\n#define K 1\n');
    assert.equal(await fs.readFile(path.join(x, 'include/linux/outside.h'), 'utf8'), 'int outside;\n');
    assert.equal(await fs.readlink(path.join(x, 'include/linux/alias.h')), 'types.h');
  });

  test('the same trees pack to the same bytes, with each encoder; SOURCE_DATE_EPOCH sets the mtime', async () => {
    for (const encoder of ['xz', 'lzma-native'] as const) {
      const a = await packKheaders({ sourceDir: trees.source, buildDir: trees.build, srcarch: 'x86', outFile: path.join(tmp.dir, `a-${encoder}.tar.xz`), encoder });
      await new Promise((r) => setTimeout(r, 20));
      const b = await packKheaders({ sourceDir: trees.source, buildDir: trees.build, srcarch: 'x86', outFile: path.join(tmp.dir, `b-${encoder}.tar.xz`), encoder });
      assert.equal(a.encoder, encoder);
      assert.equal(a.sha256, b.sha256, encoder);
    }
    assert.equal(defaultMtime({ SOURCE_DATE_EPOCH: '1700000000' }), 1700000000);
    assert.equal(defaultMtime({ SOURCE_DATE_EPOCH: 'junk' }), 0);
    assert.equal(defaultMtime({}), 0);
    const c = path.join(tmp.dir, 'c.tar.xz');
    await packKheaders({ sourceDir: trees.source, buildDir: trees.build, srcarch: 'x86', outFile: c, mtime: 1700000000 });
    assert.match(listing(c)[0] ?? '', / 2023-11-14 22:13:20 \.\/$/);
  });

  test('a tree without UTS_RELEASE or kconfig.h is HEADERS_NOT_FOUND, and nothing is written', async () => {
    const out = path.join(tmp.dir, 'none.tar.xz');
    await assert.rejects(packKheaders({ sourceDir: path.join(tmp.dir, 'nowhere'), buildDir: path.join(tmp.dir, 'nowhere2'), srcarch: 'x86', outFile: out }), (e) =>
      isBpfCompileError(e, 'HEADERS_NOT_FOUND'),
    );
    await assert.rejects(packKheaders({ sourceDir: trees.build, buildDir: trees.build, srcarch: 'x86', outFile: out }), (e) => isBpfCompileError(e, 'HEADERS_NOT_FOUND'));
    await assert.rejects(fs.stat(out));
  });
});

describe('packBtf', () => {
  const btf = Buffer.concat([Buffer.from([0x9f, 0xeb, 1, 0]), Buffer.alloc(60, 7)]);
  test('raw copy and btfhub .btf.tar.xz, reproducible', async () => {
    const input = path.join(tmp.dir, 'in.btf');
    await fs.writeFile(input, btf);
    const raw = await packBtf({ btfFile: input, release: '6.1.0-test', outFile: path.join(tmp.dir, '6.1.0-test.btf') });
    assert.equal(raw.format, 'raw');
    assert.deepEqual(await fs.readFile(raw.file), btf);
    const a = await packBtf({ btfFile: input, release: '6.1.0-test', outFile: path.join(tmp.dir, 'a', '..', '6.1.0-test.btf.tar.xz') });
    const again = path.join(tmp.dir, 'again');
    await fs.mkdir(again);
    const b = await packBtf({ btfFile: input, release: '6.1.0-test', outFile: path.join(again, '6.1.0-test.btf.tar.xz') });
    assert.equal(a.format, 'tar.xz');
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(
      listing(a.file).map((l) => l.split(' ').pop()),
      ['6.1.0-test.btf'],
    );
  });
  test('not BTF → BTF_INVALID; bad release → USAGE', async () => {
    const input = path.join(tmp.dir, 'junk');
    await fs.writeFile(input, 'hello world');
    await assert.rejects(packBtf({ btfFile: input, release: 'r', outFile: path.join(tmp.dir, 'r.btf') }), (e) => isBpfCompileError(e, 'BTF_INVALID'));
    await assert.rejects(packBtf({ btfFile: input, release: '../x', outFile: path.join(tmp.dir, 'r.btf') }), (e) => isBpfCompileError(e, 'USAGE'));
  });
});

/** Run `pack` on a fresh program with captured output. */
async function runPack(args: readonly string[]): Promise<{ out: string; err: string; error: unknown }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: (t) => void (err += t) };
  const program = new Command('bpf-compile').option('-q, --quiet').exitOverride().configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  registerPack(program, cliContext(program, io));
  try {
    await program.parseAsync(['pack', ...args], { from: 'user' });
    return { out, err, error: undefined };
  } catch (error) {
    return { out, err, error };
  }
}

describe('pack CLI', () => {
  test('exactly one mode, else USAGE', () => {
    assert.throws(
      () => packModeOf({}),
      (e) => isBpfCompileError(e, 'USAGE'),
    );
    assert.throws(
      () => packModeOf({ running: true, runningBtf: true }),
      (e) => isBpfCompileError(e, 'USAGE'),
    );
    assert.throws(
      () => packModeOf({ build: '/x' }),
      (e) => isBpfCompileError(e, 'USAGE'),
    );
    assert.equal(packModeOf({ source: '/x' }), 'source');
    assert.equal(packModeOf({ btf: '/x' }), 'btf');
  });

  test('--source/--build writes archive, sidecar and index, --json summary', async () => {
    const trees = await smallTrees(path.join(tmp.dir, 'cli-trees'));
    const dir = path.join(tmp.dir, 'cli-out');
    const r = await runPack(['--source', trees.source, '--build', trees.build, '--arch', 'x86_64', '-o', dir, '--json']);
    assert.equal(r.error, undefined, String(r.error));
    const s = JSON.parse(r.out) as { file: string; sha256: string; size: number; release: string; arch: string };
    assert.equal(s.file, path.join(dir, 'kheaders-6.1.0-test-x86.tar.xz'));
    assert.deepEqual([s.release, s.arch], ['6.1.0-test', 'x86']);
    assert.equal(s.sha256, await sha(s.file));
    assert.equal(await fs.readFile(`${s.file}.sha256`, 'utf8'), `${s.sha256}  kheaders-6.1.0-test-x86.tar.xz\n`);
    const idx = parseMirrorIndex(await fs.readFile(path.join(dir, 'index.json'), 'utf8'));
    assert.deepEqual(idx.entries, [{ kind: 'kheaders', release: '6.1.0-test', arch: 'x86', file: 'kheaders-6.1.0-test-x86.tar.xz', sha256: s.sha256, size: s.size }]);
    assert.match(r.err, /dangling\.h/);
  });

  test('no mode, two modes, missing -o → errors', async () => {
    assert.ok(isBpfCompileError((await runPack(['-o', tmp.dir])).error, 'USAGE'));
    assert.ok(isBpfCompileError((await runPack(['-o', tmp.dir, '--running', '--running-btf'])).error, 'USAGE'));
    assert.ok(isBpfCompileError((await runPack(['-o', tmp.dir, '--btf', '/nonexistent/file'])).error, 'USAGE'), 'no release for an unnamed BTF');
    const missing = await runPack(['--running']);
    assert.equal((missing.error as { code?: string }).code, 'commander.missingMandatoryOptionValue');
  });
});
