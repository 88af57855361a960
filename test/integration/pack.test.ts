/**
 * `pack` against the real Debian headers: reproducible archives, the gen_kheaders file set, the archive resolves
 * through the kheaders source and compiles an example; `--running-btf` resolves as vmlinux BTF; index.json.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Command } from 'commander';
import { register as registerPack } from '../../lib/cli/commands/pack.js';
import { cliContext } from '../../lib/cli/context.js';
import type { CliIo } from '../../lib/cli/context.js';
import { extractArchive } from '../../lib/archive/index.js';
import { compile } from '../../lib/compile/index.js';
import { packKheaders } from '../../lib/pack/kheaders.js';
import { parseMirrorIndex } from '../../lib/mirror/index-format.js';
import { resolveHeaders } from '../../lib/resolve.js';
import { cleanEnv, tempDir } from '../helpers/fake-kernel.js';
import { findDebianHeaderTrees } from '../helpers/kheaders-fixture.js';

/** The installed Debian headers package (`-common` + `-<flavour>`), whatever its ABI number. */
const trees = findDebianHeaderTrees();
const COMMON = trees?.source ?? '/usr/src/linux-headers-none-common';
const BUILD = trees?.build ?? '/usr/src/linux-headers-none-amd64';
const RELEASE = trees?.release ?? 'no-debian-headers-installed';
const EXAMPLES = path.resolve(import.meta.dirname, '../../examples');

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

const skipTrees =
  (await exists(path.join(BUILD, 'include/generated/utsrelease.h'))) && (await exists(path.join(COMMON, 'include/linux/kconfig.h'))) ? undefined : `no ${BUILD} + ${COMMON}`;
const skipBtf = (await exists('/sys/kernel/btf/vmlinux')) ? undefined : 'no /sys/kernel/btf/vmlinux';

interface Summary {
  file: string;
  sha256: string;
  size: number;
  release: string;
  arch: string;
}

async function pack(args: readonly string[]): Promise<Summary> {
  let out = '';
  const io: CliIo = { stdout: (t) => void (out += t), stderr: () => {} };
  const program = new Command('bpf-compile').option('-q, --quiet').exitOverride();
  registerPack(program, cliContext(program, io));
  await program.parseAsync(['pack', ...args, '--json'], { from: 'user' });
  return JSON.parse(out) as Summary;
}

const sha = async (f: string): Promise<string> =>
  createHash('sha256')
    .update(await fs.readFile(f))
    .digest('hex');

async function headersUnder(root: string, rel: string, out: Set<string>): Promise<void> {
  const r = execFileSync('find', [rel, '-name', '*.h'], { cwd: root, encoding: 'utf8' }).trim();
  for (const l of r.split('\n')) if (l !== '') out.add(l);
}

let tmp: { dir: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir('bpfc-pack-int-');
});
after(async () => tmp.cleanup());

describe('pack the real Debian headers', { skip: skipTrees }, () => {
  let first: Summary;
  let mirror: string;

  test('packing twice gives byte-identical archives', async (t) => {
    mirror = path.join(tmp.dir, 'mirror');
    const t0 = Date.now();
    first = await pack(['--source', COMMON, '--build', BUILD, '-o', mirror]);
    t.diagnostic(`packed ${first.size} bytes in ${Date.now() - t0} ms`);
    const second = await pack(['--source', COMMON, '--build', BUILD, '-o', path.join(tmp.dir, 'mirror2')]);
    assert.equal(first.release, RELEASE);
    assert.equal(first.arch, 'x86');
    assert.equal(path.basename(first.file), `kheaders-${RELEASE}-x86.tar.xz`);
    assert.equal(first.sha256, second.sha256);
    assert.deepEqual(await fs.readFile(first.file), await fs.readFile(second.file));
    assert.equal(first.sha256, await sha(first.file));
  });

  test('--from-modules packs the same bytes from /lib/modules/<release>/{source,build}', async (t) => {
    if (!(await exists(`/lib/modules/${RELEASE}/build/include/generated/utsrelease.h`))) return t.skip(`no /lib/modules/${RELEASE}/build`);
    const m = await pack(['--from-modules', '--kernel-release', RELEASE, '--load-module', 'never', '-o', path.join(tmp.dir, 'mirror-modules')]);
    assert.equal(m.sha256, first.sha256);
  });

  test('the archive is in independent blocks that xz decodes in parallel; both encoders and both decoders agree', async (t) => {
    // block sizes in the block headers are what multi-threaded decoding needs: `xz --robot -lvv` prints them per block
    const list = execFileSync('xz', ['--robot', '--list', '-vv', first.file], { encoding: 'utf8' });
    const blocks = list.split('\n').filter((l) => l.startsWith('block\t'));
    assert.ok(blocks.length >= 3, `${blocks.length} blocks`);
    // robot block line: ... column 11 = header size, 12 = flags ("cu": compressed and uncompressed size present)
    for (const b of blocks) assert.match(b.split('\t')[12] ?? '', /^cu/, `block sizes recorded: ${b}`);
    const native = await packKheaders({ sourceDir: COMMON, buildDir: BUILD, srcarch: 'x86', outFile: path.join(tmp.dir, 'native.tar.xz'), encoder: 'lzma-native' });
    t.diagnostic(`xz ${first.sha256.slice(0, 12)}, lzma-native ${native.sha256.slice(0, 12)}`);
    assert.equal(native.sha256, first.sha256, 'the in-process encoder writes the same bytes as xz here');
    const viaXz = await extractArchive(first.file, path.join(tmp.dir, 'dec-xz'), { decoder: 'xz' });
    const viaNative = await extractArchive(first.file, path.join(tmp.dir, 'dec-native'), { decoder: 'lzma-native' });
    assert.deepEqual({ ...viaNative, decoder: 'xz' }, viaXz);
    assert.equal(
      await fs.readFile(path.join(tmp.dir, 'dec-xz/include/generated/utsrelease.h'), 'utf8'),
      await fs.readFile(path.join(tmp.dir, 'dec-native/include/generated/utsrelease.h'), 'utf8'),
    );
  });

  test('GNU tar extracts the merged set of .h files of include/ and arch/x86/include/', async () => {
    const x = path.join(tmp.dir, 'x');
    await fs.mkdir(x);
    execFileSync('tar', ['-xJf', first.file, '-C', x]);
    const want = new Set<string>();
    for (const tree of [COMMON, BUILD]) for (const rel of ['include', 'arch/x86/include']) if (await exists(path.join(tree, rel))) await headersUnder(tree, rel, want);
    const got = new Set<string>();
    for (const rel of ['include', 'arch/x86/include']) await headersUnder(x, rel, got);
    assert.equal(got.size, want.size);
    assert.deepEqual([...got].sort(), [...want].sort());
    const top = (await fs.readdir(x)).sort();
    assert.deepEqual(top, ['arch', 'include']);
  });

  test('the archive resolves through the kheaders source and task_exec.bpf.c compiles against it', async () => {
    const root = path.join(tmp.dir, 'empty-root');
    await fs.mkdir(root);
    const headers = await resolveHeaders({
      kheaders: first.file,
      kind: 'kernel-tree',
      cacheDir: path.join(tmp.dir, 'cache'),
      kernelRelease: RELEASE,
      root,
      loadModule: 'never',
      env: cleanEnv(),
    });
    assert.equal(headers.source, 'kheaders');
    assert.equal(headers.utsRelease, RELEASE);
    const out = path.join(tmp.dir, 'task_exec.o');
    const r = await compile({ headers, source: path.join(EXAMPLES, 'task_exec.bpf.c'), output: out, kernelRelease: RELEASE, root, env: cleanEnv(), cache: false });
    assert.equal(r.mode, 'kernel');
    // …exactly like the installed tree: the same instructions, relocations, sections and symbols (debug info differs
    // only because pack strips comments, which moves line numbers)
    const installed = await resolveHeaders({
      kernelSource: COMMON,
      kernelBuild: BUILD,
      kind: 'kernel-tree',
      cacheDir: path.join(tmp.dir, 'cache'),
      kernelRelease: RELEASE,
      root,
      loadModule: 'never',
      env: cleanEnv(),
    });
    const ref = path.join(tmp.dir, 'task_exec.installed.o');
    await compile({ headers: installed, source: path.join(EXAMPLES, 'task_exec.bpf.c'), output: ref, kernelRelease: RELEASE, root, env: cleanEnv(), cache: false });
    const code = (obj: string): string =>
      execFileSync('llvm-objdump', ['-d', '-r', '-t', '-h', obj], { encoding: 'utf8' })
        .replace(/^.*file format.*$/m, '')
        .replace(/^\s+\d+\s+\.(debug|BTF)\S*.*$/gm, '');
    const packed = code(out);
    assert.match(packed, /kprobe\//, 'the program section is there');
    assert.equal(packed, code(ref));
  });

  test('--running-btf packs a .btf.tar.xz that resolves as vmlinux BTF; index.json lists both', { skip: skipBtf }, async () => {
    const btf = await pack(['--running-btf', '-o', mirror]);
    assert.match(btf.file, /\.btf\.tar\.xz$/);
    const again = await pack(['--running-btf', '-o', path.join(tmp.dir, 'mirror3')]);
    assert.equal(btf.sha256, again.sha256);
    const vm = await resolveHeaders({ kind: 'vmlinux', btf: btf.file, cacheDir: path.join(tmp.dir, 'cache'), env: cleanEnv() });
    assert.equal(vm.kind, 'vmlinux');
    assert.ok((await fs.stat(vm.header)).size > 100_000);
    const idx = parseMirrorIndex(await fs.readFile(path.join(mirror, 'index.json'), 'utf8'));
    assert.equal(idx.entries.length, 2);
    for (const s of [first, btf]) {
      const e = idx.entries.find((x) => x.file === path.basename(s.file));
      assert.ok(e, path.basename(s.file));
      assert.equal(e.sha256, await sha(s.file));
      assert.equal(e.size, (await fs.stat(s.file)).size);
      assert.equal(await fs.readFile(`${s.file}.sha256`, 'utf8'), `${e.sha256}  ${e.file}\n`);
    }
    assert.deepEqual(idx.entries.map((e) => e.kind).sort(), ['btf', 'kheaders']);
  });
});
