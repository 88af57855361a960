/**
 * BTF for kernels without `/sys/kernel/btf/vmlinux`, found where libbpf looks for it under a fake root: a vmlinux ELF
 * carrying `.BTF` (made with `objcopy` from the live BTF, so a CO-RE example compiles and loads against it), a
 * debuginfo vmlinux with only DWARF (encoded by `pahole`), a local btfhub-archive checkout chosen from os-release,
 * and a malformed ELF reported, not fatal.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compile } from '../../lib/compile/index.js';
import { ErrorCode, isBpfCompileError } from '../../lib/errors.js';
import { resolveHeaders } from '../../lib/resolve.js';
import { bpfLoadPermitted, loadAll } from '../helpers/bpf.js';

const LIVE = '/sys/kernel/btf/vmlinux';
const have = (t: string): boolean => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status === 0;
const REL = '5.4.0-42-generic';

describe('btf source: BTF found where libbpf looks, and in a btfhub checkout', () => {
  let work: string;
  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-btfloc-'));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  const opts = (root: string, cacheDir: string, more: Record<string, unknown> = {}) => ({
    root,
    cacheDir,
    kernelRelease: REL,
    arch: 'x86_64',
    sources: ['btf'],
    env: { PATH: process.env['PATH'] },
    kind: 'vmlinux' as const,
    ...more,
  });

  /** An ELF object holding `btf` as its .BTF section (and the DWARF of a tiny C file when `dwarf`). */
  function elfWith(btf: string | undefined, out: string): void {
    const c = path.join(work, 'k.c');
    fs.writeFileSync(c, 'struct task_struct { int pid; long state; struct task_struct *parent; };\nstruct task_struct t;\n');
    execFileSync('gcc', ['-g', '-c', c, '-o', out]);
    if (btf !== undefined) execFileSync('objcopy', ['--add-section', `.BTF=${btf}`, out]);
  }

  test('/boot/vmlinux-<release> with .BTF (the live BTF, put in an ELF) → vmlinux.h → a CO-RE example compiles and loads', { timeout: 120_000 }, async (t) => {
    if (!fs.existsSync(LIVE)) return t.skip(`no ${LIVE} to make the vmlinux from`);
    if (!have('objcopy') || !have('gcc')) return t.skip('objcopy/gcc not installed (binutils, gcc)');
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    fs.mkdirSync(path.join(root, 'boot'));
    const raw = path.join(work, 'live.btf');
    fs.copyFileSync(LIVE, raw);
    elfWith(raw, path.join(root, `boot/vmlinux-${REL}`));
    const cacheDir = path.join(work, 'cache-elf');
    const h = await resolveHeaders(opts(root, cacheDir));
    assert.equal(h.source, 'btf');
    assert.match(h.detail, new RegExp(`/boot/vmlinux-${REL} \\(its \\.BTF section\\)`));
    const header = fs.readFileSync(h.header, 'utf8');
    assert.match(header, /struct task_struct \{/);
    const obj = path.join(work, 'core_kprobe.o');
    const r = await compile({ source: path.resolve('examples/core_kprobe.bpf.c'), output: obj, headers: h, mode: 'core', cache: false });
    assert.equal(r.diagnostics, '');
    const again = await resolveHeaders(opts(root, cacheDir));
    assert.equal(again.header, h.header, 'the extracted BTF and the header are cached');
    const bpf = await bpfLoadPermitted();
    if (!bpf.ok) return t.diagnostic(`not loaded: ${bpf.reason}`);
    const l = await loadAll(obj);
    assert.ok(l.programs.length > 0);
    await l.cleanup();
  });

  test('a debuginfo vmlinux with only DWARF → BTF encoded by pahole', async (t) => {
    if (!have('pahole')) return t.skip('pahole is not installed (apt-get install dwarves)');
    if (!have('gcc')) return t.skip('gcc is not installed');
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    fs.mkdirSync(path.join(root, 'usr/lib/debug/boot'), { recursive: true });
    elfWith(undefined, path.join(root, `usr/lib/debug/boot/vmlinux-${REL}`));
    const h = await resolveHeaders(opts(root, path.join(work, 'cache-dwarf')));
    assert.match(h.detail, /BTF encoded from its DWARF by pahole/);
    assert.match(fs.readFileSync(h.header, 'utf8'), /struct task_struct \{\n\s+int pid;\n\s+long int state;\n\s+struct task_struct \*parent;\n\};/);
  });

  test('a local btfhub-archive checkout, chosen from the target os-release and arch', async (t) => {
    if (!have('tar')) return t.skip('tar is not installed');
    const hub = path.join(work, 'btfhub-archive');
    const dir = path.join(hub, 'ubuntu/20.04/x86_64');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.resolve('test/fixtures/btf/sample.btf'), path.join(work, `${REL}.btf`));
    execFileSync('tar', ['-cJf', path.join(dir, `${REL}.btf.tar.xz`), '-C', work, `${REL}.btf`]);
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    fs.mkdirSync(path.join(root, 'etc'));
    fs.writeFileSync(path.join(root, 'etc/os-release'), 'ID=ubuntu\nVERSION_ID="20.04"\n');
    const h = await resolveHeaders(opts(root, path.join(work, 'cache-hub'), { btfhub: hub }));
    assert.match(h.detail, /btfhub-archive/);
    assert.equal(fs.readFileSync(h.header, 'utf8'), fs.readFileSync(path.resolve('test/fixtures/btf/sample.vmlinux.h'), 'utf8'));
    // the environment variable, and a release the checkout does not hold
    const viaEnv = await resolveHeaders(opts(root, path.join(work, 'cache-hub2'), { env: { PATH: process.env['PATH'], BPF_COMPILE_BTFHUB: hub } }));
    assert.equal(viaEnv.source, 'btf');
    const e = await resolveHeaders(opts(root, path.join(work, 'cache-hub3'), { btfhub: hub, kernelRelease: '5.4.0-43-generic' })).catch((err: unknown) => err);
    assert.ok(isBpfCompileError(e, ErrorCode.HEADERS_NOT_FOUND));
    assert.match(JSON.stringify(e), /ubuntu\/20\.04\/x86_64\/5\.4\.0-43-generic\.btf\.tar\.xz/);
  });

  test('a malformed vmlinux is reported with why, never fatal', async () => {
    const root = fs.mkdtempSync(path.join(work, 'root-'));
    fs.mkdirSync(path.join(root, 'boot'));
    const bytes = Buffer.alloc(64);
    bytes.write('\x7fELF', 0, 'latin1');
    bytes[4] = 2;
    bytes[5] = 1;
    bytes.writeBigUInt64LE(1n << 40n, 0x28); // section headers far past the end
    bytes.writeUInt16LE(64, 0x3a);
    bytes.writeUInt16LE(3, 0x3c);
    bytes.writeUInt16LE(1, 0x3e);
    fs.writeFileSync(path.join(root, `boot/vmlinux-${REL}`), bytes);
    const e = await resolveHeaders(opts(root, path.join(work, 'cache-bad'))).catch((err: unknown) => err);
    assert.ok(isBpfCompileError(e, ErrorCode.HEADERS_NOT_FOUND), String(e));
    assert.match(JSON.stringify(e), /boot\/vmlinux-5\.4\.0-42-generic: .*not a well-formed ELF/);
  });
});
