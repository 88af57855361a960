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
  assert.equal(parsed.tried.length, 2);
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
  const other = await run('headers', '--root', root, '--kernel-release', REL, '--kernel-source', path.join(root, 'usr/src', `linux-headers-${REL}-common`), '--kernel-build', path.join(root, 'usr/src', `linux-headers-${REL}`));
  assert.equal(other.code, EXIT.OK, other.err);
  const r = await run('headers', '--root', root, '--kernel-release', '6.1.0-1-amd64', '--kernel-source', path.join(root, 'usr/src', `linux-headers-${REL}-common`), '--kernel-build', path.join(root, 'usr/src', `linux-headers-${REL}`), '--strict');
  assert.equal(r.code, EXIT.HEADERS_NOT_FOUND);
  assert.match(r.err, /headers are for 6\.1\.0-99-amd64, target kernel is 6\.1\.0-1-amd64/);
});

test('an unreadable source file exits 5', async () => {
  const r = await run('compile', path.join(tmp.dir, 'missing.c'), '-o', path.join(tmp.dir, 'x.o'), '--mode', 'plain');
  assert.equal(r.code, EXIT.OTHER);
  assert.match(r.err, /cannot read/);
});
