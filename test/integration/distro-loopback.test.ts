/**
 * The distro source against real apt repositories made by the tests (dpkg-deb, apt-ftparchive, gpg) and served on
 * loopback: an Ubuntu-style pair built from the real Debian headers (zstd, a flavour tree of relative links into the
 * common tree, /proc/version_signature), compiled and loaded; then one case per fault, each a typed error with
 * nothing published and nothing written outside the cache.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ErrorCode, isBpfCompileError } from '../../lib/errors.js';
import { resolveHeaders, type ResolveOptions } from '../../lib/resolve.js';
import { compile } from '../../lib/compile/index.js';
import { aptRoot, aptToolsSkipReason, buildDeb, buildRepo, makeKey, replaceDebData, type TestKey } from '../helpers/apt-repo.js';
import { bpfLoadPermitted, loadAll } from '../helpers/bpf.js';
import { findDebianHeaderTrees } from '../helpers/kheaders-fixture.js';
import { makeFakeTree } from '../helpers/fake-kernel.js';
import { rawTar, xz } from '../helpers/hostile-archives.js';
import { startMirrorServer, type MirrorServer } from '../helpers/mirror-server.js';

const skip = aptToolsSkipReason();
const REL = '6.1.0-99-generic';
const ABI = '6.1.0-99';

/** Entries of a cache namespace that are complete or half-made (anything but the namespace's own bookkeeping). */
function entries(cacheDir: string, ns: string): string[] {
  try {
    return fs.readdirSync(path.join(cacheDir, ns)).filter((n) => !n.startsWith('.leases'));
  } catch {
    return [];
  }
}

describe('distro source: loopback apt repositories', { skip }, () => {
  let work: string;
  let key: TestKey;
  let other: TestKey;
  let server: MirrorServer;
  let repoDir: string;

  before(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-apt-'));
    key = makeKey(work, 'repo');
    other = makeKey(work, 'other');
    repoDir = path.join(work, 'repo');
    fs.mkdirSync(repoDir);
  });
  after(async () => {
    await server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** A small fake headers pair (`-common` arch all + flavour), built into suite `suite` of the served repo. */
  async function smallSuite(
    suite: string,
    o: { flavourFiles?: Parameters<typeof buildDeb>[0]['files']; validUntil?: Date; signer?: TestKey; detachedOnly?: boolean; debs?: string[] } = {},
  ): Promise<string[]> {
    const stage = path.join(work, `stage-${suite}`);
    await makeFakeTree(path.join(stage, 'common'), { build: false });
    await makeFakeTree(path.join(stage, 'flavour'), { source: false, release: `${ABI}-amd64` });
    const out = path.join(work, `debs-${suite}`);
    fs.mkdirSync(out, { recursive: true });
    const debs = o.debs ?? [
      buildDeb(
        { name: `linux-headers-${ABI}-common`, version: '6.1.200-1', arch: 'all', copy: [{ from: path.join(stage, 'common'), to: `usr/src/linux-headers-${ABI}-common` }] },
        out,
      ),
      buildDeb(
        {
          name: `linux-headers-${ABI}-amd64`,
          version: '6.1.200-1',
          arch: 'amd64',
          depends: `linux-headers-${ABI}-common (= 6.1.200-1), linux-kbuild-6.1 (>= 6.1.200-1)`,
          copy: [{ from: path.join(stage, 'flavour'), to: `usr/src/linux-headers-${ABI}-amd64` }],
          files: [
            { path: `lib/modules/${ABI}-amd64/build`, symlink: `/usr/src/linux-headers-${ABI}-amd64` },
            { path: `lib/modules/${ABI}-amd64/source`, symlink: `/usr/src/linux-headers-${ABI}-common` },
            { path: `usr/src/linux-headers-${ABI}-amd64/scripts`, symlink: '../../lib/linux-kbuild-6.1/scripts' },
            ...(o.flavourFiles ?? []),
          ],
        },
        out,
      ),
    ];
    const dir = path.join(repoDir, suite);
    buildRepo({
      dir,
      suite,
      component: 'main',
      archs: ['amd64'],
      debs,
      key: o.signer ?? key,
      ...(o.validUntil === undefined ? {} : { validUntil: o.validUntil }),
      ...(o.detachedOnly === true ? { detachedOnly: true } : {}),
    });
    return debs;
  }

  function rootFor(suite: string, extra: { keyring?: string; aptConf?: string; sourcesLine?: string } = {}): string {
    const root = fs.mkdtempSync(path.join(work, `root-${suite}-`));
    aptRoot(root, {
      sources: extra.sourcesLine ?? `deb [signed-by=/etc/apt/keyrings/repo.gpg] ${server.url}/${suite} ${suite} main\n`,
      keyrings: { '/etc/apt/keyrings/repo.gpg': fs.readFileSync(extra.keyring ?? key.keyring) },
      ...(extra.aptConf === undefined ? {} : { aptConf: extra.aptConf }),
    });
    return root;
  }

  const small = (root: string, cacheDir: string, more: Partial<ResolveOptions> = {}): ResolveOptions & { kind: 'kernel-tree' } => ({
    root,
    cacheDir,
    kernelRelease: `${ABI}-amd64`,
    arch: 'x86_64',
    sources: ['distro'],
    env: { PATH: process.env['PATH'] },
    ...more,
    kind: 'kernel-tree',
  });

  /** Assert a typed failure with nothing published in the distro namespace. */
  async function failsClean(opts: ResolveOptions, check: (e: { code: string; message: string; details: Record<string, unknown> }) => void): Promise<void> {
    await assert.rejects(resolveHeaders(opts), (e: unknown) => {
      assert.ok(isBpfCompileError(e), String(e));
      check(e as never);
      return true;
    });
    assert.deepEqual(
      entries(opts.cacheDir as string, 'distro').filter((n) => !n.endsWith('.lock') && !n.endsWith('.owner')),
      [],
      'nothing published, no leftovers',
    );
  }

  test('server up', async () => {
    server = await startMirrorServer(repoDir);
  });

  test('an Ubuntu-style pair from the real Debian headers (zstd, relative-link flavour tree, version_signature) → compile → verifier', { timeout: 300_000 }, async (t) => {
    const trees = findDebianHeaderTrees();
    if (trees === undefined) return t.skip('no Debian kernel headers under /usr/src (apt-get install linux-headers-amd64)');
    const out = path.join(work, 'debs-ubuntu');
    fs.mkdirSync(out, { recursive: true });
    const common = `linux-headers-${ABI}`;
    const flavour = `linux-headers-${REL}`;
    // the common tree: what BPF needs of the real one (include/ and the host arch)
    const srcArch = trees.srcArch;
    const commonDeb = buildDeb(
      {
        name: common,
        version: '6.1.0-99.101',
        arch: 'all',
        source: 'linux',
        compression: 'zstd',
        copy: [{ from: trees.source, to: `usr/src/${common}`, only: ['include', `arch/${srcArch}`, 'Makefile'] }],
      },
      out,
    );
    // the flavour tree, Ubuntu's way: generated headers and .config real, the rest relative links into the common tree
    const stage = path.join(work, 'ubuntu-flavour');
    const ft = path.join(stage, `usr/src/${flavour}`);
    fs.mkdirSync(path.join(ft, 'include'), { recursive: true });
    fs.mkdirSync(path.join(ft, `arch/${srcArch}/include`), { recursive: true });
    execFileSync('cp', ['-a', path.join(trees.build, 'include/generated'), path.join(ft, 'include/generated')]);
    execFileSync('cp', ['-a', path.join(trees.build, 'include/config'), path.join(ft, 'include/config')]);
    execFileSync('cp', ['-a', path.join(trees.build, `arch/${srcArch}/include/generated`), path.join(ft, `arch/${srcArch}/include/generated`)]);
    fs.copyFileSync(path.join(trees.build, '.config'), path.join(ft, '.config'));
    for (const d of fs.readdirSync(path.join(trees.source, 'include'))) {
      if (d !== 'generated' && d !== 'config') fs.symlinkSync(`../../${common}/include/${d}`, path.join(ft, 'include', d));
    }
    for (const d of fs.readdirSync(path.join(trees.source, `arch/${srcArch}/include`))) {
      if (d !== 'generated') fs.symlinkSync(`../../../../${common}/arch/${srcArch}/include/${d}`, path.join(ft, `arch/${srcArch}/include`, d));
    }
    const uts = path.join(ft, 'include/generated/utsrelease.h');
    fs.writeFileSync(uts, `#define UTS_RELEASE "${REL}"\n`);
    const mk = (version: string): string =>
      buildDeb(
        {
          name: flavour,
          version,
          arch: 'amd64',
          source: 'linux',
          depends: `${common}, libc6 (>= 2.34)`,
          compression: 'zstd',
          copy: [{ from: path.join(stage, 'usr'), to: 'usr' }],
          files: [{ path: `lib/modules/${REL}/build`, symlink: `/usr/src/${flavour}` }],
        },
        out,
      );
    const older = mk('6.1.0-99.100');
    const newer = mk('6.1.0-99.102');
    const running = mk('6.1.0-99.101');
    buildRepo({ dir: path.join(repoDir, 'jammy'), suite: 'jammy', component: 'main', archs: ['amd64'], debs: [commonDeb, older, newer, running], key });
    const root = fs.mkdtempSync(path.join(work, 'root-ubuntu-'));
    aptRoot(root, {
      sources: `deb [signed-by=/etc/apt/keyrings/repo.asc] ${server.url}/jammy jammy main\n`,
      osRelease: 'ID=ubuntu\nVERSION_ID="22.04"\n',
      keyrings: { '/etc/apt/keyrings/repo.asc': key.armored },
      proc: { version_signature: `Ubuntu 6.1.0-99.101-generic 6.1.192\n`, version: `Linux version ${REL} (buildd@test) (gcc) #101-Ubuntu SMP\n` },
    });
    const cacheDir = path.join(work, 'cache-ubuntu');
    const h = await resolveHeaders({
      root,
      cacheDir,
      kernelRelease: REL,
      arch: 'x86_64',
      sources: ['distro'],
      env: { PATH: process.env['PATH'] },
      kind: 'kernel-tree',
      strict: true,
    });
    assert.equal(h.source, 'distro');
    assert.equal(h.utsRelease, REL);
    assert.match(h.detail, new RegExp(`${flavour} 6\\.1\\.0-99\\.101 \\+ ${common} 6\\.1\\.0-99\\.101`), 'the running build, chosen by version_signature, not the newest');
    assert.match(h.detail, /running kernel's build/);
    assert.ok(h.buildDir.startsWith(fs.realpathSync(cacheDir)) && h.sourceDir === h.buildDir, 'one tree, Ubuntu has no source link');
    assert.ok(fs.lstatSync(path.join(h.buildDir, 'include/linux')).isSymbolicLink(), 'the relative links are kept');
    const entry = JSON.parse(fs.readFileSync(path.join(h.buildDir, `../../../../manifest.json`), 'utf8')) as { extra: { decoders: string[] } };
    assert.deepEqual(entry.extra.decoders, ['deb+zstd', 'deb+zstd']);
    const obj = path.join(work, 'task_exec.o');
    const r = await compile({ source: path.resolve('examples/task_exec.bpf.c'), output: obj, headers: h, mode: 'kernel', cache: false });
    assert.equal(r.diagnostics.includes('warning'), false, r.diagnostics);
    const bpf = await bpfLoadPermitted();
    if (!bpf.ok) {
      t.diagnostic(`not loaded: ${bpf.reason}`);
      return;
    }
    const loaded = await loadAll(obj);
    assert.ok(loaded.programs.length > 0);
    await loaded.cleanup();
  });

  test('offline afterwards: the cached source finds the tree again without a network or repositories', async () => {
    const debs = await smallSuite('offline');
    assert.equal(debs.length, 2);
    const root = rootFor('offline');
    const cacheDir = path.join(work, 'cache-offline');
    const first = await resolveHeaders(small(root, cacheDir));
    assert.match(first.detail, /downloaded/);
    assert.match(first.detail, /1 links into packages not needed for BPF left out/);
    assert.equal(fs.existsSync(path.join(first.buildDir, 'scripts')), false, 'the scripts link into linux-kbuild is dropped');
    const hits = server.log.length;
    const again = await resolveHeaders(small(root, cacheDir, { sources: ['distro'], offline: true }));
    assert.equal(again.buildDir, first.buildDir, 'distro offline: remembered Release + cached index + cached set');
    const bare = fs.mkdtempSync(path.join(work, 'bare-'));
    const cached = await resolveHeaders({
      root: bare,
      cacheDir,
      kernelRelease: `${ABI}-amd64`,
      arch: 'x86_64',
      offline: true,
      env: { PATH: process.env['PATH'] },
      kind: 'kernel-tree',
    });
    assert.equal(cached.source, 'cached');
    assert.equal(cached.buildDir, first.buildDir);
    assert.equal(server.log.length, hits, 'offline: not one request');
    const arm = await resolveHeaders({
      root: bare,
      cacheDir,
      kernelRelease: `${ABI}-amd64`,
      arch: 'arm64',
      offline: true,
      env: { PATH: process.env['PATH'] },
      sources: ['cached'],
    }).catch((e: unknown) => e);
    assert.ok(isBpfCompileError(arm, ErrorCode.HEADERS_NOT_FOUND), 'an amd64 set never serves arm64');
  });

  test('Release + Release.gpg (no InRelease) works; an inline Signed-By key works', async () => {
    await smallSuite('detached', { detachedOnly: true });
    const root = rootFor('detached', { sourcesLine: '' });
    fs.writeFileSync(
      path.join(root, 'etc/apt/sources.list.d/x.sources'),
      `Types: deb\nURIs: ${server.url}/detached\nSuites: detached\nComponents: main\nSigned-By:\n${key.armored
        .trim()
        .split('\n')
        .map((l) => (l === '' ? ' .' : ` ${l}`))
        .join('\n')}\n`,
    );
    const h = await resolveHeaders(small(root, path.join(work, 'cache-detached')));
    assert.equal(h.source, 'distro');
  });

  test('Signed-By fingerprints select among trusted.gpg.d: the right one works, another one is a signature error', async () => {
    await smallSuite('fingerprint');
    const root = rootFor('fingerprint', { sourcesLine: `deb [signed-by=${key.fingerprint}] ${server.url}/fingerprint fingerprint main\n` });
    fs.mkdirSync(path.join(root, 'etc/apt/trusted.gpg.d'), { recursive: true });
    fs.copyFileSync(key.keyring, path.join(root, 'etc/apt/trusted.gpg.d/repo.gpg'));
    fs.copyFileSync(other.keyring, path.join(root, 'etc/apt/trusted.gpg.d/other.gpg'));
    const h = await resolveHeaders(small(root, path.join(work, 'c-fpr')));
    assert.equal(h.source, 'distro');
    fs.writeFileSync(path.join(root, 'etc/apt/sources.list'), `deb [signed-by=${other.fingerprint}] ${server.url}/fingerprint fingerprint main\n`);
    await failsClean(small(root, path.join(work, 'c-fpr2')), (e) => assert.equal(e.details['reason'], 'signature'));
  });

  test('faults: tampered .deb → checksum', async () => {
    const [, flavourDeb] = await smallSuite('tampered-deb');
    const pooled = path.join(repoDir, 'tampered-deb/pool/main', path.basename(flavourDeb as string));
    const bytes = fs.readFileSync(pooled);
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] ?? 0) ^ 0xff;
    fs.writeFileSync(pooled, bytes);
    await failsClean(small(rootFor('tampered-deb'), path.join(work, 'c-tdeb')), (e) => {
      assert.equal(e.code, ErrorCode.INPUT_UNREADABLE);
      assert.equal(e.details['reason'], 'checksum');
    });
  });

  test('faults: tampered Packages → checksum', async () => {
    await smallSuite('tampered-packages');
    const p = path.join(repoDir, 'tampered-packages/dists/tampered-packages/main/binary-amd64/Packages.xz');
    fs.writeFileSync(p, xz(Buffer.from('Package: linux-headers-6.1.0-99-amd64\nVersion: 9\nFilename: pool/evil.deb\nSHA256: ' + '0'.repeat(64) + '\n')));
    await failsClean(small(rootFor('tampered-packages'), path.join(work, 'c-tpkg')), (e) => assert.equal(e.details['reason'], 'checksum'));
  });

  test('faults: a Release changed after signing → signature', async () => {
    await smallSuite('bad-signature');
    const p = path.join(repoDir, 'bad-signature/dists/bad-signature/InRelease');
    fs.writeFileSync(p, fs.readFileSync(p, 'utf8').replace(/^(Suite: .*)$/m, '$1-evil'));
    await failsClean(small(rootFor('bad-signature'), path.join(work, 'c-bsig')), (e) => {
      assert.equal(e.details['reason'], 'signature');
      assert.match(e.message, /no valid signature/);
    });
  });

  test('faults: signed by a key this source does not allow → signature, naming the key ids', async () => {
    await smallSuite('other-key', { signer: other });
    await failsClean(small(rootFor('other-key'), path.join(work, 'c-okey')), (e) => {
      assert.equal(e.details['reason'], 'signature');
      assert.ok(
        (e.details['keyIds'] as string[]).some((k) => other.fingerprint.endsWith(k)),
        JSON.stringify(e.details),
      );
    });
  });

  test('faults: past Valid-Until → expired; Acquire::Check-Valid-Until "false" accepts it', async () => {
    await smallSuite('expired', { validUntil: new Date(Date.now() - 86_400_000) });
    await failsClean(small(rootFor('expired'), path.join(work, 'c-exp')), (e) => assert.equal(e.details['reason'], 'expired'));
    const h = await resolveHeaders(small(rootFor('expired', { aptConf: 'Acquire::Check-Valid-Until "false";\n' }), path.join(work, 'c-exp2')));
    assert.equal(h.source, 'distro');
  });

  test('faults: a release the repositories do not hold → HEADERS_NOT_FOUND naming the package and suites', async () => {
    await smallSuite('missing');
    await failsClean(small(rootFor('missing'), path.join(work, 'c-miss'), { kernelRelease: '6.1.0-98-amd64' }), (e) => {
      assert.equal(e.code, ErrorCode.HEADERS_NOT_FOUND);
      assert.match(e.message + JSON.stringify(e), /no package linux-headers-6\.1\.0-98-amd64 for amd64 in http:\/\/127\.0\.0\.1:\d+\/missing missing/);
      assert.match(JSON.stringify(e), /snapshot/);
    });
  });

  test('faults: a truncated download is retried; truncated every time → typed error', async () => {
    const [, flavourDeb] = await smallSuite('truncated');
    const p = `/truncated/pool/main/${path.basename(flavourDeb as string)}`;
    server.fault(p, { kind: 'truncate', sendBytes: 100, times: 1 });
    const h = await resolveHeaders(small(rootFor('truncated'), path.join(work, 'c-trunc1')));
    assert.equal(h.source, 'distro');
    assert.equal(server.hits(p), 2);
    server.fault(p, { kind: 'truncate', sendBytes: 100 });
    const cacheDir = path.join(work, 'c-trunc2');
    await assert.rejects(resolveHeaders(small(rootFor('truncated'), cacheDir, { env: { PATH: process.env['PATH'] } })), (e: unknown) => isBpfCompileError(e));
    server.fault(p, undefined);
    assert.deepEqual(
      entries(cacheDir, 'distro').filter((n) => n.startsWith('p1-') && !n.includes('.')),
      [],
    );
  });

  test('faults: hostile entries inside a .deb → ARCHIVE_UNSAFE, nothing written outside the cache', async () => {
    const sentinel = path.join(work, 'sentinel');
    const out = path.join(work, 'debs-hostile');
    fs.mkdirSync(out, { recursive: true });
    const cases: { name: string; entries: Parameters<typeof rawTar>[0] }[] = [
      { name: 'traversal', entries: [{ name: './usr/src/x/../../../../../../../../..' + sentinel, type: '0', content: 'x' }] },
      { name: 'absolute', entries: [{ name: sentinel, type: '0', content: 'x' }] },
      { name: 'device', entries: [{ name: './usr/src/x/null', type: '3' }] },
      { name: 'hardlink', entries: [{ name: './usr/src/x/h', type: '1', linkname: '/etc/passwd' }] },
      {
        name: 'link-escape',
        entries: [
          { name: './usr/src/x/esc', type: '2', linkname: '../../../../../../../../../../tmp' },
          { name: './usr/src/x/esc/f', type: '0', content: 'x' },
        ],
      },
      {
        name: 'write-through-link',
        entries: [
          { name: './usr/src/x/l', type: '2', linkname: '/usr/src' },
          { name: './usr/src/x/l/y', type: '0', content: 'x' },
        ],
      },
    ];
    for (const c of cases) {
      const good = buildDeb({ name: `linux-headers-${ABI}-amd64`, version: '6.1.200-1', arch: 'amd64', files: [{ path: 'usr/src/x/a.h', content: '' }] }, out);
      const deb = path.join(out, `hostile-${c.name}_1_amd64.deb`); // apt-ftparchive lists only name_version_arch.deb files
      replaceDebData(good, xz(rawTar(c.entries)), deb);
      const suite = `hostile-${c.name}`;
      await smallSuite(suite, { debs: [deb] });
      const cacheDir = path.join(work, `c-${suite}`);
      await failsClean(small(rootFor(suite), cacheDir), (e) => assert.equal(e.code, ErrorCode.ARCHIVE_UNSAFE, `${c.name}: ${e.message} ${JSON.stringify(e)}`));
      assert.equal(fs.existsSync(sentinel), false, `${c.name}: wrote outside the cache`);
    }
  });
});
