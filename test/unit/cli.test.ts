import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { main } from '../../lib/cli/main.js';
import { EXIT } from '../../lib/cli/exit-codes.js';
import { makeDebianRoot, tempDir, writeOsRelease } from '../helpers/fake-kernel.js';

const REL = '6.1.0-99-amd64';
let tmp: { dir: string; cleanup: () => Promise<void> };
before(async () => {
  tmp = await tempDir();
});
after(async () => tmp.cleanup());

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = { ...process.env };
  for (const k of ['BPF_KERNEL_SOURCE', 'BPF_KERNEL_BUILD', 'BCC_KERNEL_SOURCE', 'BPFTRACE_KERNEL_SOURCE', 'BPFTRACE_KERNEL_BUILD']) delete process.env[k];
  try {
    const code = await main(['node', 'bpf-compile', ...args], { stdout: (t) => void (out += t), stderr: (t) => void (err += t) });
    return { code, out, err };
  } finally {
    Object.assign(process.env, saved);
  }
}

test('--version and --help exit 0; help lists commands and exit codes', async () => {
  const v = await run('--version');
  assert.equal(v.code, EXIT.OK);
  assert.match(v.out, /^\d+\.\d+\.\d+\n$/);
  const h = await run('--help');
  assert.equal(h.code, EXIT.OK);
  for (const word of ['headers', 'cflags', 'compile', 'Exit codes']) assert.ok(h.out.includes(word), word);
  const ch = await run('compile', '--help');
  assert.equal(ch.code, EXIT.OK);
  assert.match(ch.out, /--kernel-release/);
  assert.match(ch.out, /--mode/);
});

test('usage errors exit 2 without a stack trace', async () => {
  for (const args of [['frobnicate'], ['compile'], ['compile', 'x.c'], ['compile', 'x.c', '-o', 'x.o', '--mode', 'weird'], ['headers', '--arch', 'pdp11']]) {
    const r = await run(...args);
    assert.equal(r.code, EXIT.USAGE, `${args.join(' ')}: ${r.err}`);
    assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace');
  }
});

test('headers on a fake Debian root, human and JSON', async () => {
  const root = path.join(tmp.dir, 'deb');
  await makeDebianRoot(root, REL);
  const r = await run('headers', '--root', root, '--kernel-release', REL, '--arch', 'x86');
  assert.equal(r.code, EXIT.OK, r.err);
  assert.match(r.out, /^source: +modules/m);
  assert.match(r.out, /linux-headers-6\.1\.0-99-amd64-common\/include$/m);
  const j = await run('headers', '--root', root, '--kernel-release', REL, '--json');
  const parsed = JSON.parse(j.out) as { source: string; utsRelease: string; arch: { srcarch: string }; tried: unknown[] };
  assert.equal(parsed.source, 'modules');
  assert.equal(parsed.utsRelease, REL);
  assert.equal(parsed.arch.srcarch, 'x86');
  assert.deepEqual(
    parsed.tried.map((t: unknown) => (t as { what: string }).what),
    ['override', 'modules'],
  );
});

test('headers not found exits 3 with what was tried and a hint', async () => {
  const root = path.join(tmp.dir, 'empty');
  await fs.mkdir(root, { recursive: true });
  await writeOsRelease(root, 'ubuntu');
  const r = await run('headers', '--root', root, '--kernel-release', REL);
  assert.equal(r.code, EXIT.HEADERS_NOT_FOUND);
  assert.match(r.err, /^bpf-compile: error: no kernel headers found for 6\.1\.0-99-amd64/m);
  assert.match(r.err, /^ {2}modules +.*does not exist/m);
  assert.match(r.err, /^hint: .*apt-get install linux-headers-6\.1\.0-99-amd64/m);
  assert.doesNotMatch(r.err, /\n\s+at /);
});

test('--strict turns a release mismatch into exit 3', async () => {
  const root = path.join(tmp.dir, 'deb2');
  await makeDebianRoot(root, REL);
  const other = await run(
    'headers',
    '--root',
    root,
    '--kernel-release',
    REL,
    '--kernel-source',
    path.join(root, 'usr/src', `linux-headers-${REL}-common`),
    '--kernel-build',
    path.join(root, 'usr/src', `linux-headers-${REL}`),
  );
  assert.equal(other.code, EXIT.OK, other.err);
  const r = await run(
    'headers',
    '--root',
    root,
    '--kernel-release',
    '6.1.0-1-amd64',
    '--kernel-source',
    path.join(root, 'usr/src', `linux-headers-${REL}-common`),
    '--kernel-build',
    path.join(root, 'usr/src', `linux-headers-${REL}`),
    '--strict',
  );
  assert.equal(r.code, EXIT.HEADERS_NOT_FOUND);
  assert.match(r.err, /headers are for 6\.1\.0-99-amd64, target kernel is 6\.1\.0-1-amd64/);
});

test('an unreadable source file exits 5', async () => {
  const r = await run('compile', path.join(tmp.dir, 'missing.c'), '-o', path.join(tmp.dir, 'x.o'), '--mode', 'plain');
  assert.equal(r.code, EXIT.OTHER);
  assert.match(r.err, /cannot read/);
});

test('cache path, list, prune and clear on a private cache dir', async () => {
  const cacheDir = path.join(tmp.dir, 'cache');
  const p = await run('cache', 'path', '--cache-dir', cacheDir);
  assert.equal(p.code, EXIT.OK, p.err);
  assert.equal(p.out, `${cacheDir}\n`);
  const l = await run('cache', 'list', '--cache-dir', cacheDir, '--json');
  assert.equal(l.code, EXIT.OK, l.err);
  assert.deepEqual(JSON.parse(l.out), []);
  const pr = await run('cache', 'prune', '--cache-dir', cacheDir, '--older-than', '30d', '--json');
  assert.equal(pr.code, EXIT.OK, pr.err);
  assert.deepEqual((JSON.parse(pr.out) as { removed: unknown[] }).removed, []);
  const c = await run('cache', 'clear', '--cache-dir', cacheDir);
  assert.equal(c.code, EXIT.OK, c.err);
  assert.match(c.out, /0 removed/);
  const bad = await run('cache', 'prune', '--cache-dir', cacheDir);
  assert.equal(bad.code, EXIT.USAGE);
  assert.match(bad.err, /--older-than or --max-size/);
  const badSize = await run('cache', 'prune', '--cache-dir', cacheDir, '--max-size', 'lots');
  assert.equal(badSize.code, EXIT.USAGE);
});

test('an unsafe cache dir is refused with exit 5 and a hint', async () => {
  const cacheDir = path.join(tmp.dir, 'open-cache');
  await fs.mkdir(cacheDir, { mode: 0o777 });
  await fs.chmod(cacheDir, 0o777);
  const r = await run('cache', 'list', '--cache-dir', cacheDir);
  assert.equal(r.code, EXIT.OTHER);
  assert.match(r.err, /refusing to use the cache/);
  assert.match(r.err, /^hint: /m);
});
