/**
 * The distro source against the real Debian repositories this machine's apt is configured with (read from its own
 * /etc/apt, copied into a fake root that has no headers installed): several kernel ABIs and flavours resolved,
 * compiled in kernel mode and loaded by the verifier; an arm64 release built on this x86 host; a real arm64 package
 * unpacked into a --root; offline reuse. Skips, saying why, when the repositories cannot be reached.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { compile } from '../../lib/compile/index.js';
import { ErrorCode, isBpfCompileError } from '../../lib/errors.js';
import { fetchFailureReason } from '../../lib/fetch/errors.js';
import { resolveHeaders, type ResolvedKernelTree } from '../../lib/resolve.js';
import type { DebPackage } from '../../lib/distro/apt/packages.js';
import { compareDebVersions } from '../../lib/distro/apt/version.js';
import { bpfLoadPermitted, loadAll } from '../helpers/bpf.js';

const EXAMPLES = path.resolve(import.meta.dirname, '../../examples');
const env = { PATH: process.env['PATH'] };
const HOST_ARCH = os.arch() === 'x64' ? 'amd64' : undefined;

let work: string;
let root: string;
let cacheDir: string;
let skipReason: string | undefined;
/** The headers packages the real indexes list, by name (newest first). */
let listed: Map<string, (DebPackage & { uri?: string })[]>;
let load: Awaited<ReturnType<typeof bpfLoadPermitted>>;

function copyTree(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  execFileSync('cp', ['-a', from, to]);
}

/** Every headers stanza the cache's indexes hold (after a first resolve downloaded them). */
function indexedPackages(): Map<string, DebPackage[]> {
  const out = new Map<string, DebPackage[]>();
  const dir = path.join(cacheDir, 'apt-index');
  for (const key of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const f = path.join(dir, key, 'data/headers.json');
    if (!fs.existsSync(f)) continue;
    for (const p of JSON.parse(fs.readFileSync(f, 'utf8')) as DebPackage[]) out.set(p.package, [...(out.get(p.package) ?? []), p]);
  }
  for (const list of out.values()) list.sort((a, b) => compareDebVersions(b.version, a.version));
  return out;
}

/** The newest ABI release with this flavour suffix the repositories hold (`-amd64`, `-cloud-amd64`, `-arm64`). */
function newestRelease(re: RegExp): string | undefined {
  const names = [...listed.keys()].filter((n) => re.test(n)).map((n) => n.replace(/^linux-headers-/, ''));
  return names.sort((a, b) => compareDebVersions(b.replace(/[-+]/g, '.'), a.replace(/[-+]/g, '.')))[0];
}

before(async () => {
  load = await bpfLoadPermitted();
  if (HOST_ARCH === undefined) {
    skipReason = 'these tests pick amd64 releases (an x86_64 host)';
    return;
  }
  if (!fs.existsSync('/etc/apt/sources.list') && !fs.existsSync('/etc/apt/sources.list.d')) {
    skipReason = 'no apt configuration on this machine';
    return;
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-debian-'));
  root = path.join(work, 'root');
  cacheDir = path.join(work, 'cache');
  // the host's own apt configuration and keyrings, nothing else: no /lib/modules, no /usr/src
  copyTree('/etc/apt', path.join(root, 'etc/apt'));
  fs.copyFileSync('/etc/os-release', path.join(root, 'etc/os-release'));
  if (fs.existsSync('/usr/share/keyrings')) copyTree('/usr/share/keyrings', path.join(root, 'usr/share/keyrings'));
  // a first lookup downloads the indexes (and tells whether the repositories can be reached at all)
  try {
    await resolveHeaders({ root, cacheDir, kernelRelease: '6.1.0-0-amd64', arch: 'x86_64', sources: ['distro'], env, kind: 'kernel-tree' });
  } catch (err) {
    if (!isBpfCompileError(err, ErrorCode.HEADERS_NOT_FOUND)) {
      skipReason = `the configured apt repositories cannot be used here: ${(err as Error).message}`;
      return;
    }
    const outcome = (err as unknown as { tried: readonly { outcome: string }[] }).tried.map((t) => t.outcome).join(' ');
    if (!/InRelease verified[^;]*? [1-9]\d* headers packages/.test(outcome)) {
      skipReason = `the configured apt repositories list no kernel headers packages here (${outcome.slice(0, 300)})`;
      return;
    }
  }
  listed = indexedPackages();
});
after(() => {
  if (work !== undefined) fs.rmSync(work, { recursive: true, force: true });
});

async function viaDistro(release: string, arch = 'x86_64'): Promise<ResolvedKernelTree> {
  return resolveHeaders({ root, cacheDir, kernelRelease: release, arch, sources: ['distro'], env, kind: 'kernel-tree', strict: true });
}

async function compileAndLoad(t: { diagnostic(s: string): void }, h: ResolvedKernelTree, prog: string): Promise<void> {
  const out = path.join(work, `${prog}-${h.release}.o`);
  const r = await compile({ source: path.join(EXAMPLES, `${prog}.bpf.c`), output: out, headers: h, mode: 'kernel', cache: false, env });
  assert.equal(r.diagnostics, '', `no warnings from the kernel's headers (${h.release})`);
  if (!load.ok) {
    t.diagnostic(`not loaded: ${load.reason}`);
    return;
  }
  const loaded = await loadAll(out);
  try {
    assert.ok(loaded.programs.length > 0);
  } finally {
    await loaded.cleanup();
  }
}

describe('distro source: the real Debian repositories', () => {
  test('several ABIs and flavours resolve from the repositories alone, compile in kernel mode, and load', { timeout: 600_000 }, async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const picks = [
      newestRelease(/^linux-headers-6\.1\.0-\d+-amd64$/),
      newestRelease(/^linux-headers-6\.12\.\d+\+deb\d+-amd64$/),
      newestRelease(/^linux-headers-6\.1\.0-\d+-cloud-amd64$/),
    ].filter((r): r is string => r !== undefined);
    t.diagnostic(`releases: ${picks.join(', ')}`);
    assert.ok(picks.length >= 2, `at least a 6.1 and one more ABI are listed (${[...listed.keys()].length} headers packages)`);
    for (const release of picks) {
      const started = Date.now();
      const h = await viaDistro(release);
      t.diagnostic(`${release}: ${Date.now() - started} ms, ${h.detail.replace(/ → .*/, '')}`);
      assert.equal(h.source, 'distro');
      assert.equal(h.utsRelease, release);
      assert.ok(h.sourceDir.startsWith(fs.realpathSync(cacheDir)) && h.buildDir.startsWith(fs.realpathSync(cacheDir)));
      assert.notEqual(h.sourceDir, h.buildDir, 'Debian splits the flavour tree and -common');
      for (const prog of ['task_exec', 'syscall_count']) await compileAndLoad(t, h, prog);
    }
  });

  test("the program's own warnings are still shown against 6.12 headers", async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const release = newestRelease(/^linux-headers-6\.12\.\d+\+deb\d+-amd64$/);
    if (release === undefined) return t.skip('the repositories list no 6.12 headers');
    const h = await viaDistro(release);
    const src = path.join(work, 'own-warning.bpf.c');
    fs.writeFileSync(
      src,
      '#include <linux/sched.h>\n#include <bpf/bpf_helpers.h>\nSEC("kprobe/do_nanosleep") int f(void *ctx) { int unused; return 0; }\nchar LICENSE[] SEC("license") = "GPL";\n',
    );
    const r = await compile({ source: src, output: path.join(work, 'own.o'), headers: h, mode: 'kernel', cache: false, env, extraArgs: ['-Wall'] });
    const warnings = r.diagnostics.split('\n').filter((l) => /warning:/.test(l));
    assert.equal(warnings.length, 1, r.diagnostics);
    assert.match(warnings[0] ?? '', /own-warning\.bpf\.c:3:.*unused variable 'unused'/);
  });

  test('an arm64 release on this x86 host: binary-arm64 is read, and the object reads pt_regs the arm64 way', async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    let release = newestRelease(/^linux-headers-6\.1\.0-\d+-arm64$/);
    if (release === undefined) {
      // the arm64 index is fetched on first use
      await resolveHeaders({ root, cacheDir, kernelRelease: '6.1.0-0-arm64', arch: 'arm64', sources: ['distro'], env }).catch(() => undefined);
      listed = indexedPackages();
      release = newestRelease(/^linux-headers-6\.1\.0-\d+-arm64$/);
    }
    if (release === undefined) return t.skip('the repositories list no arm64 6.1 headers');
    const h = await viaDistro(release, 'arm64');
    assert.equal(h.arch.srcarch, 'arm64');
    assert.ok(fs.existsSync(path.join(h.buildDir, 'arch/arm64/include/generated')));
    const src = path.join(work, 'parm1.bpf.c');
    fs.writeFileSync(
      src,
      '#include <linux/ptrace.h>\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\nSEC("kprobe/do_sys_openat2") int f(struct pt_regs *ctx) { return (int)PT_REGS_PARM1(ctx); }\nchar LICENSE[] SEC("license") = "GPL";\n',
    );
    const out = path.join(work, 'parm1-arm64.o');
    const r = await compile({ source: src, output: out, headers: h, mode: 'kernel', cache: false, env });
    assert.equal(r.diagnostics, '');
    const dis = execFileSync('llvm-objdump', ['-d', out], { encoding: 'utf8' });
    // arm64: regs[0] at offset 0 of struct pt_regs; x86 would read di at 0x70
    assert.match(dis, /r\d = \*\(u(64|32) \*\)\(r1 \+ (0x)?0\)/, dis);
    assert.doesNotMatch(dis, /\(r1 \+ (0x70|112)\)/);
  });

  test('--root with a real arm64 package unpacked into it: build and source resolve inside the root, never on the host', async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const release = newestRelease(/^linux-headers-6\.1\.0-\d+-arm64$/);
    if (release === undefined) return t.skip('the repositories list no arm64 6.1 headers');
    const flavour = (listed.get(`linux-headers-${release}`) ?? [])[0] as DebPackage;
    const common = (listed.get(`linux-headers-${release.replace(/-arm64$/, '-common')}`) ?? []).find((p) => p.version === flavour.version) as DebPackage;
    const uri = fs.readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8').match(/^URIs:\s*(\S+)/m)?.[1];
    if (uri === undefined) return t.skip('cannot tell the repository URI from /etc/apt/sources.list.d/debian.sources');
    const unpack = async (p: DebPackage, into: string): Promise<void> => {
      let res = await fetch(`${uri}/${p.filename}`);
      if (!res.ok) res = await fetch(`${uri.replace(/\/debian$/, '/debian-security')}/${p.filename}`);
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(createHash('sha256').update(bytes).digest('hex'), p.sha256, `${p.package} matches its signed index`);
      const deb = path.join(work, path.basename(p.filename));
      fs.writeFileSync(deb, bytes);
      execFileSync('dpkg-deb', ['-x', deb, into]);
    };
    const dir = path.join(work, 'arm64-root');
    await unpack(flavour, dir);
    assert.equal(fs.readlinkSync(path.join(dir, 'lib/modules', release, 'build')), `/usr/src/linux-headers-${release}`, 'the package ships an absolute link');
    const opts = { root: dir, kernelRelease: release, arch: 'arm64', sources: ['modules'], env, kind: 'kernel-tree' as const };
    await assert.rejects(resolveHeaders(opts), (e: unknown) => {
      assert.ok(isBpfCompileError(e, ErrorCode.HEADERS_NOT_FOUND));
      // the package's `source -> /usr/src/linux-headers-…-common` dangles inside the root: the host's -common tree (installed
      // here by linux-headers-amd64) must not be taken instead
      assert.match(JSON.stringify(e.tried), /no include\/linux\/kconfig\.h in [^"]*arm64-root\/usr\/src\/linux-headers-/, JSON.stringify(e.tried));
      return true;
    });
    await unpack(common, dir);
    const h = await resolveHeaders(opts);
    const real = fs.realpathSync(dir);
    assert.equal(h.buildDir, path.join(real, 'usr/src', `linux-headers-${release}`));
    assert.equal(h.sourceDir, path.join(real, 'usr/src', `linux-headers-${release.replace(/-arm64$/, '-common')}`));
  });

  test('offline, with no repositories and no mirror: found again in the cache', async (t) => {
    if (skipReason !== undefined) return t.skip(skipReason);
    const release = newestRelease(/^linux-headers-6\.1\.0-\d+-amd64$/) as string;
    const bare = path.join(work, 'bare');
    fs.mkdirSync(bare, { recursive: true });
    const h = await resolveHeaders({ root: bare, cacheDir, kernelRelease: release, arch: 'x86_64', offline: true, env, kind: 'kernel-tree' });
    assert.equal(h.source, 'cached');
    const err = await resolveHeaders({ root: bare, cacheDir, kernelRelease: '6.1.0-0-amd64', arch: 'x86_64', offline: true, env, kind: 'kernel-tree' }).catch((e: unknown) => e);
    assert.ok(isBpfCompileError(err, ErrorCode.HEADERS_NOT_FOUND));
    assert.equal(fetchFailureReason(err), undefined);
  });
});
