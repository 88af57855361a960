/**
 * The distro source against real rpm-md repositories made by the tests with the distributions' tools as Debian
 * packages them (rpmbuild, rpmsign, createrepo_c, gpg) and served on loopback — one per family, each kernel-devel
 * built from the real Debian headers tree laid out that distribution's way, resolved, compiled and loaded:
 *
 * - Fedora-like: zstd payload, zstd primary, signed repomd (repo_gpgcheck), `baseurl`;
 * - Amazon Linux 2023-like: `mirrorlist` whose first mirror is dead, `$releasever`/`$basearch` from os-release;
 * - openSUSE-like: zypper `.repo`, xz payloads, the split `kernel-default-devel` + noarch `kernel-devel` pair with
 *   different rebuild counters;
 * - RHEL-like: https with a client certificate (entitlement), `sslcacert`, `sslclientcert`, `sslclientkey`.
 *
 * Then one case per fault, each a typed error with nothing published.
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
import type { TestKey } from '../helpers/apt-repo.js';
import { bpfLoadPermitted, loadAll } from '../helpers/bpf.js';
import { makeFakeTree } from '../helpers/fake-kernel.js';
import { startMirrorServer, type MirrorServer } from '../helpers/mirror-server.js';
import {
  buildRpm,
  createRepo,
  debianHeaders,
  fedoraTree,
  makeRsaKey,
  rpmToolsSkipReason,
  signRepomd,
  signRpm,
  suseTrees,
  tamperZstdPayload,
  type RpmExtra,
} from '../helpers/rpm-repo.js';

const skip = rpmToolsSkipReason();
const tlsDir = path.resolve('test/fixtures/tls');

function entries(cacheDir: string, ns: string): string[] {
  try {
    return fs.readdirSync(path.join(cacheDir, ns)).filter((n) => !n.startsWith('.leases') && !n.endsWith('.lock') && !n.endsWith('.owner'));
  } catch {
    return [];
  }
}

function write(file: string, text: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

describe('distro source: loopback rpm-md repositories', { skip }, () => {
  let work: string;
  let www: string;
  let key: TestKey;
  let other: TestKey;
  let server: MirrorServer;
  const deb = debianHeaders();

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-rpm-'));
    www = path.join(work, 'www');
    fs.mkdirSync(www);
    key = makeRsaKey(work, 'repo');
    other = makeRsaKey(work, 'other');
    server = await startMirrorServer(www);
  });
  after(async () => {
    await server?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** A fake root: os-release, repo files, keys and other files (system paths → content). */
  function makeRoot(name: string, files: Record<string, string | Buffer>): string {
    const root = fs.mkdtempSync(path.join(work, `root-${name}-`));
    for (const [p, c] of Object.entries(files)) write(path.join(root, p), c);
    return root;
  }

  const opts = (root: string, cacheDir: string, release: string, more: Partial<ResolveOptions> = {}): ResolveOptions & { kind: 'kernel-tree' } => ({
    root,
    cacheDir,
    kernelRelease: release,
    arch: 'x86_64',
    sources: ['distro'],
    env: { PATH: process.env['PATH'] },
    strict: true,
    ...more,
    kind: 'kernel-tree',
  });

  /** Compile the kernel-mode examples against `h` and load them. */
  async function compileAndLoad(t: { diagnostic(m: string): void }, h: Awaited<ReturnType<typeof resolveHeaders>>, tag: string): Promise<void> {
    for (const ex of ['task_exec', 'syscall_count']) {
      const obj = path.join(work, `${ex}-${tag}.o`);
      const r = await compile({ source: path.resolve(`examples/${ex}.bpf.c`), output: obj, headers: h, mode: 'kernel', cache: false });
      assert.equal(r.diagnostics.includes('warning'), false, r.diagnostics);
      const bpf = await bpfLoadPermitted();
      if (!bpf.ok) {
        t.diagnostic(`not loaded: ${bpf.reason}`);
        continue;
      }
      const loaded = await loadAll(obj);
      assert.ok(loaded.programs.length > 0);
      await loaded.cleanup();
    }
  }

  /** A small signed kernel-devel for `release` (`<v>-<r>.<arch>`), in a fresh repo under www/`name`. */
  async function small(name: string, release: string, o: { signer?: TestKey | null; extras?: RpmExtra[]; signRepomd?: boolean } = {}): Promise<{ dir: string; rpm: string }> {
    const m = /^([^-]+)-(.+)\.(x86_64)$/.exec(release) as RegExpExecArray;
    const tree = await makeFakeTree(path.join(work, `small-${name}`), { release });
    const dir = path.join(www, name);
    fs.mkdirSync(dir, { recursive: true });
    const rpm = buildRpm(
      {
        name: 'kernel-devel',
        version: m[1] as string,
        release: m[2] as string,
        arch: 'x86_64',
        copy: [{ from: tree, to: `/usr/src/kernels/${release}` }],
        extras: o.extras ?? [],
        payload: 'zstd',
      },
      dir,
    );
    if (o.signer !== null) signRpm(rpm, o.signer ?? key);
    createRepo(dir, { compress: 'zstd', ...(o.signRepomd === false ? {} : { signWith: key }) });
    return { dir, rpm };
  }

  function fedoraRoot(name: string, repo: string, more: Record<string, string | Buffer> = {}): string {
    return makeRoot(name, {
      '/etc/os-release': 'ID=fedora\nVERSION_ID=99\n',
      '/etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-99-primary': key.armored,
      '/etc/yum.repos.d/fedora.repo': repo,
      ...more,
    });
  }

  const fedoraRepo = (url: string, extra = ''): string =>
    `[fedora]\nname=Fedora $releasever - $basearch\nbaseurl=${url}\nenabled=1\nrepo_gpgcheck=1\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-fedora-$releasever-primary\n${extra}`;

  /** Assert a typed failure with nothing published in the distro namespace. */
  async function failsClean(o: ResolveOptions, check: (e: { code: string; message: string; details: Record<string, unknown> }) => void): Promise<void> {
    await assert.rejects(resolveHeaders(o), (e: unknown) => {
      assert.ok(isBpfCompileError(e), String(e));
      check(e as never);
      return true;
    });
    assert.deepEqual(entries(o.cacheDir as string, 'distro'), [], 'nothing published, no leftovers');
  }

  /** A signed Red Hat-family kernel-devel (`<v>-<r>.x86_64`) made from the real Debian headers, in `dir` (created). */
  function realKernelDevel(d: NonNullable<typeof deb>, rel: string, dir: string): string {
    const [, version, release] = /^([^-]+)-(.+)\.x86_64$/.exec(rel) as unknown as [string, string, string];
    fs.mkdirSync(dir, { recursive: true });
    const tree = fedoraTree(d, rel, work);
    const rpm = buildRpm({ name: 'kernel-devel', version, release, arch: 'x86_64', copy: [{ from: tree, to: `/usr/src/kernels/${rel}` }], payload: 'zstd' }, dir);
    fs.rmSync(tree, { recursive: true, force: true });
    signRpm(rpm, key);
    return rpm;
  }

  test('Fedora-like: zstd payload and primary, signed repomd, baseurl → resolve → compile → verifier', { timeout: 300_000 }, async (t) => {
    if (deb === undefined) return t.skip('no Debian kernel headers under /usr/src (apt-get install linux-headers-amd64)');
    const rel = '6.1.0-57.fc99.x86_64';
    const dir = path.join(www, 'fedora/releases/99/Everything/x86_64/os');
    realKernelDevel(deb, rel, dir);
    createRepo(dir, { compress: 'zstd', signWith: key });
    const root = fedoraRoot('fedora', fedoraRepo(`${server.url}/fedora/releases/$releasever/Everything/$basearch/os/`));
    const cacheDir = path.join(work, 'cache-fedora');
    const h = await resolveHeaders(opts(root, cacheDir, rel));
    assert.equal(h.source, 'distro');
    assert.equal(h.utsRelease, rel);
    assert.equal(h.sourceDir, h.buildDir, 'one tree: source = build');
    assert.ok(h.buildDir.endsWith(`/usr/src/kernels/${rel}`));
    assert.match(h.detail, /kernel-devel-6\.1\.0-57\.fc99\.x86_64 from fedora \(signatures verified\)/);
    const manifest = JSON.parse(fs.readFileSync(path.join(h.buildDir, '../../../../../manifest.json'), 'utf8')) as {
      extra: { decoders: string[]; family: string; packages: { verified: { signature: string; signers: string[] } }[] };
    };
    assert.deepEqual(manifest.extra.decoders, ['rpm+zstd']);
    assert.equal(manifest.extra.family, 'rpm');
    assert.equal(manifest.extra.packages[0]?.verified.signature, 'header');
    assert.ok(key.fingerprint.endsWith(manifest.extra.packages[0]?.verified.signers[0] ?? 'none'), 'signed by the repo key');
    await compileAndLoad(t, h, 'fedora');
    // again: from the cache, the indexes not downloaded again
    const primaryHits = server.log.filter((p) => p.includes('primary.xml')).length;
    const again = await resolveHeaders(opts(root, cacheDir, rel));
    assert.equal(again.buildDir, h.buildDir);
    assert.match(again.detail, /cached/);
    assert.equal(server.log.filter((p) => p.includes('primary.xml')).length, primaryHits, 'primary is cached by its checksum');
    // offline: the remembered repomd, the cached index and set
    const hits = server.log.length;
    const off = await resolveHeaders(opts(root, cacheDir, rel, { offline: true }));
    assert.equal(off.buildDir, h.buildDir);
    // and the cached source finds the set for a root with no repositories at all
    const bare = fs.mkdtempSync(path.join(work, 'bare-'));
    const cached = await resolveHeaders({ root: bare, cacheDir, kernelRelease: rel, arch: 'x86_64', offline: true, env: { PATH: process.env['PATH'] }, kind: 'kernel-tree' });
    assert.equal(cached.source, 'cached');
    assert.equal(cached.buildDir, h.buildDir);
    assert.match(cached.detail, /distro packages kernel-devel 6\.1\.0-57\.fc99/);
    assert.equal(server.log.length, hits, 'offline: not one request');
  });

  test('Amazon Linux 2023-like: mirrorlist (first mirror dead), $releasever/$basearch, gpgcheck without repo_gpgcheck → resolve → compile', { timeout: 300_000 }, async (t) => {
    if (deb === undefined) return t.skip('no Debian kernel headers under /usr/src');
    const rel = '6.1.0-57.125.amzn2023.x86_64';
    const dir = path.join(www, 'al2023/core/guids/abc/x86_64');
    realKernelDevel(deb, rel, dir);
    createRepo(dir, { compress: 'xz' });
    write(
      path.join(www, 'al2023/core/mirrors/2023.6.20241121/x86_64/mirror.list'),
      `${server.url}/dead-mirror/core/guids/abc/x86_64/\n${server.url}/al2023/core/guids/abc/x86_64/\n`,
    );
    const root = makeRoot('al2023', {
      '/etc/os-release': 'NAME="Amazon Linux"\nID="amzn"\nID_LIKE="fedora"\nVERSION_ID="2023"\n',
      '/etc/dnf/vars/releasever': '2023.6.20241121\n',
      '/etc/dnf/vars/awsdomain': 'test.invalid\n',
      '/etc/pki/rpm-gpg/RPM-GPG-KEY-amazon-linux-2023': key.armored,
      '/etc/yum.repos.d/amazonlinux.repo': `[amazonlinux]\nname=Amazon Linux 2023 repository\nmirrorlist=${server.url}/al2023/core/mirrors/$releasever/$basearch/mirror.list\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=0\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-amazon-linux-2023\n\n[amazonlinux-source]\nname=sources\nmirrorlist=${server.url}/nowhere\nenabled=0\n`,
    });
    const h = await resolveHeaders(opts(root, path.join(work, 'cache-al'), rel));
    assert.equal(h.utsRelease, rel);
    assert.ok(server.hits('/dead-mirror/core/guids/abc/x86_64/repodata/repomd.xml') >= 1, 'the first mirror was tried');
    assert.equal(server.hits('/nowhere'), 0, 'a disabled repository is not asked');
    await compileAndLoad(t, h, 'al2023');
  });

  test(
    'openSUSE-like: zypper repo, xz payloads, split kernel-default-devel + noarch kernel-devel (other rebuild counters) → resolve → compile',
    { timeout: 300_000 },
    async (t) => {
      if (deb === undefined) return t.skip('no Debian kernel headers under /usr/src');
      const ver = '6.1.0';
      const r = '150500.57.1';
      const rel = `${ver}-${r}-default`;
      const dir = path.join(www, 'opensuse/update/leap/15.5/oss');
      fs.mkdirSync(dir, { recursive: true });
      const trees = suseTrees(deb, rel, work);
      const srcDir = `/usr/src/linux-${ver}-${r}`;
      const objDir = `/usr/src/linux-${ver}-${r}-obj/x86_64/default`;
      const flavour = buildRpm(
        {
          name: 'kernel-default-devel',
          version: ver,
          release: `${r}.1`,
          arch: 'x86_64',
          copy: [{ from: trees.obj, to: objDir }],
          extras: [
            { symlink: `/lib/modules/${rel}/build`, target: objDir },
            { symlink: `/lib/modules/${rel}/source`, target: srcDir },
          ],
          payload: 'xz',
        },
        dir,
      );
      const source = buildRpm({ name: 'kernel-devel', version: ver, release: `${r}.2`, arch: 'noarch', copy: [{ from: trees.source, to: srcDir }], payload: 'xz' }, dir);
      signRpm(flavour, key);
      signRpm(source, key);
      createRepo(dir, { compress: 'xz' });
      signRepomd(dir, key);
      const root = makeRoot('suse', {
        '/etc/os-release': 'NAME="openSUSE Leap"\nID="opensuse-leap"\nID_LIKE="suse opensuse"\nVERSION_ID="15.5"\n',
        '/usr/lib/rpm/gnupg/keys/gpg-pubkey-test.asc': key.armored,
        '/etc/zypp/repos.d/repo-update.repo': `[repo-update]\nname=Update Repository (OSS)\nenabled=1\nautorefresh=1\nbaseurl=${server.url}/opensuse/update/leap/$releasever/oss\ntype=rpm-md\nkeeppackages=0\n`,
      });
      const h = await resolveHeaders(opts(root, path.join(work, 'cache-suse'), rel));
      assert.equal(h.utsRelease, rel);
      assert.notEqual(h.sourceDir, h.buildDir, 'split: source tree and obj tree');
      assert.ok(h.buildDir.endsWith(objDir) && h.sourceDir.endsWith(srcDir), `${h.buildDir} ${h.sourceDir}`);
      assert.match(h.detail, /kernel-default-devel-6\.1\.0-150500\.57\.1\.1\.x86_64 \+ kernel-devel-6\.1\.0-150500\.57\.1\.2\.noarch/);
      const manifest = JSON.parse(fs.readFileSync(path.join(h.buildDir, '../../../../../../manifest.json'), 'utf8')) as { extra: { decoders: string[] } };
      assert.deepEqual(manifest.extra.decoders, ['rpm+xz', 'rpm+xz']);
      await compileAndLoad(t, h, 'suse');
    },
  );

  test('RHEL-like: https with a client certificate (entitlement), sslcacert → resolve; without the certificate → typed error', { timeout: 300_000 }, async (t) => {
    if (deb === undefined) return t.skip('no Debian kernel headers under /usr/src');
    if (fs.existsSync(path.join(tlsDir, 'cert.pem')) === false) return t.skip('no test TLS certificate');
    const rel = '6.1.0-57.el9.x86_64';
    const rhelWww = path.join(work, 'rhel-www');
    const dir = path.join(rhelWww, 'content/dist/rhel9/9/x86_64/baseos/os');
    realKernelDevel(deb, rel, dir);
    createRepo(dir, { compress: 'gz' });
    // an entitlement CA and a client certificate it signed
    const pki = path.join(work, 'pki');
    fs.mkdirSync(pki);
    const ssl = (...args: string[]): void => {
      execFileSync('openssl', args, { cwd: pki, stdio: 'ignore' });
    };
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=entitlement test CA');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'client.key', '-out', 'client.csr', '-subj', '/CN=1234567890');
    ssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'client.pem', '-days', '2');
    const rhel = await startMirrorServer(rhelWww, {
      tls: { key: fs.readFileSync(path.join(tlsDir, 'key.pem')), cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')), clientCa: fs.readFileSync(path.join(pki, 'ca.pem')) },
    });
    try {
      const repo = (withCert: boolean): string =>
        `[rhel-9-for-x86_64-baseos-rpms]\nname = Red Hat Enterprise Linux 9 for x86_64 - BaseOS (RPMs)\nbaseurl = ${rhel.url}/content/dist/rhel9/$releasever/$basearch/baseos/os\nenabled = 1\ngpgcheck = 1\ngpgkey = file:///etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release\nsslverify = 1\nsslcacert = /etc/rhsm/ca/redhat-uep.pem\n${withCert ? 'sslclientkey = /etc/pki/entitlement/1234567890-key.pem\nsslclientcert = /etc/pki/entitlement/1234567890.pem\n' : ''}`;
      const files = (withCert: boolean): Record<string, string | Buffer> => ({
        '/etc/os-release': 'NAME="Red Hat Enterprise Linux"\nID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\n',
        '/etc/pki/rpm-gpg/RPM-GPG-KEY-redhat-release': key.armored,
        '/etc/rhsm/ca/redhat-uep.pem': fs.readFileSync(path.join(tlsDir, 'cert.pem')),
        '/etc/pki/entitlement/1234567890.pem': fs.readFileSync(path.join(pki, 'client.pem')),
        '/etc/pki/entitlement/1234567890-key.pem': fs.readFileSync(path.join(pki, 'client.key')),
        '/etc/yum.repos.d/redhat.repo': repo(withCert),
      });
      const noCert = path.join(work, 'cache-rhel-nocert');
      const e = await resolveHeaders(opts(makeRoot('rhel-nocert', files(false)), noCert, rel)).catch((err: unknown) => err);
      assert.ok(isBpfCompileError(e, ErrorCode.HEADERS_NOT_FOUND), String(e));
      assert.match(JSON.stringify(e), /rhel-9-for-x86_64-baseos-rpms/, 'names the repository it could not read');
      assert.deepEqual(entries(noCert, 'distro'), []);
      const h = await resolveHeaders(opts(makeRoot('rhel', files(true)), path.join(work, 'cache-rhel'), rel));
      assert.equal(h.utsRelease, rel);
      assert.ok(rhel.hits('/content/dist/rhel9/9/x86_64/baseos/os/repodata/repomd.xml') >= 1, '$releasever is the major version on RHEL');
      await compileAndLoad(t, h, 'rhel');
    } finally {
      await rhel.close();
    }
  });

  test('a metalink over https: repomd checked against its hashes (sslcacert trusts the loopback certificate); a mirror not matching it is skipped', async () => {
    const rel = '6.1.0-3.fc98.x86_64';
    const { dir } = await small('metalink', rel, { signRepomd: false });
    const tlsWww = path.join(work, 'tls-www');
    fs.mkdirSync(tlsWww, { recursive: true });
    fs.symlinkSync(dir, path.join(tlsWww, 'good'));
    fs.mkdirSync(path.join(tlsWww, 'stale/repodata'), { recursive: true });
    fs.writeFileSync(path.join(tlsWww, 'stale/repodata/repomd.xml'), fs.readFileSync(path.join(dir, 'repodata/repomd.xml'), 'utf8').replace(/<revision>\d+/, '<revision>1'));
    const sha256 = execFileSync('sha256sum', [path.join(dir, 'repodata/repomd.xml')], { encoding: 'utf8' }).split(' ')[0] as string;
    const tls = await startMirrorServer(tlsWww, { tls: { key: fs.readFileSync(path.join(tlsDir, 'key.pem')), cert: fs.readFileSync(path.join(tlsDir, 'cert.pem')) } });
    try {
      fs.writeFileSync(
        path.join(tlsWww, 'metalink'),
        `<?xml version="1.0" encoding="utf-8"?>\n<metalink version="3.0" xmlns="http://www.metalinker.org/" xmlns:mm0="http://fedorahosted.org/mirrormanager">\n <files>\n  <file name="repomd.xml">\n   <verification>\n    <hash type="md5">00000000000000000000000000000000</hash>\n    <hash type="sha256">${sha256}</hash>\n   </verification>\n   <resources maxconnections="1">\n    <url protocol="https" type="https" location="XX" preference="100">${tls.url}/stale/repodata/repomd.xml</url>\n    <url protocol="https" type="https" location="XX" preference="99">${tls.url}/good/repodata/repomd.xml</url>\n   </resources>\n  </file>\n </files>\n</metalink>\n`,
      );
      const root = makeRoot('metalink', {
        '/etc/os-release': 'ID=fedora\nVERSION_ID=98\n',
        '/etc/pki/rpm-gpg/key': key.armored,
        '/etc/pki/tls/loopback.pem': fs.readFileSync(path.join(tlsDir, 'cert.pem')),
        '/etc/yum.repos.d/fedora.repo': `[fedora]\nmetalink=${tls.url}/metalink?repo=fedora-$releasever&arch=$basearch\ngpgcheck=1\ngpgkey=file:///etc/pki/rpm-gpg/key\nsslcacert=/etc/pki/tls/loopback.pem\n`,
      });
      const h = await resolveHeaders(opts(root, path.join(work, 'cache-metalink'), rel));
      assert.equal(h.utsRelease, rel);
      assert.equal(tls.hits('/stale/repodata/repomd.xml'), 1, 'the preferred mirror was asked, and skipped: its repomd is not the metalink one');
      assert.ok(tls.hits('/good/repodata/repomd.xml') >= 1);
    } finally {
      await tls.close();
    }
  });

  test('faults: an unsigned package with gpgcheck=1 → signature', async () => {
    const rel = '6.1.0-10.fc98.x86_64';
    await small('unsigned', rel, { signer: null });
    const root = fedoraRoot('unsigned', fedoraRepo(`${server.url}/unsigned`));
    await failsClean(opts(root, path.join(work, 'c-unsigned'), rel), (e) => {
      assert.equal(e.details['reason'], 'signature');
      assert.match(e.message, /is not signed/);
    });
  });

  test('faults: a package signed by another key → signature, naming the key', async () => {
    const rel = '6.1.0-11.fc98.x86_64';
    await small('otherkey', rel, { signer: other });
    const root = fedoraRoot('otherkey', fedoraRepo(`${server.url}/otherkey`));
    await failsClean(opts(root, path.join(work, 'c-otherkey'), rel), (e) => {
      assert.equal(e.details['reason'], 'signature');
      assert.match(e.message, new RegExp(other.fingerprint.slice(-16)));
    });
  });

  test('faults: a tampered payload (the repository re-made over it, so its sha256 matches) → checksum (PAYLOADDIGEST)', async () => {
    const rel = '6.1.0-12.fc98.x86_64';
    const { dir, rpm } = await small('tampered', rel);
    tamperZstdPayload(rpm, 'CONFIG_BPF 1', 'CONFIG_BPF 0');
    fs.rmSync(path.join(dir, 'repodata'), { recursive: true });
    createRepo(dir, { compress: 'zstd', signWith: key });
    const root = fedoraRoot('tampered', fedoraRepo(`${server.url}/tampered`));
    await failsClean(opts(root, path.join(work, 'c-tampered'), rel), (e) => {
      assert.equal(e.details['reason'], 'checksum');
      assert.match(e.message, /PAYLOADDIGEST/);
    });
  });

  test('faults: primary.xml changed after repomd was made → checksum; repomd changed after it was signed → signature', async () => {
    const rel = '6.1.0-13.fc98.x86_64';
    const { dir } = await small('badprimary', rel);
    const primary = fs.readdirSync(path.join(dir, 'repodata')).find((n) => n.includes('primary')) as string;
    fs.appendFileSync(path.join(dir, 'repodata', primary), Buffer.from([0]));
    const root = fedoraRoot('badprimary', fedoraRepo(`${server.url}/badprimary`));
    await failsClean(opts(root, path.join(work, 'c-badprimary'), rel), (e) => assert.equal(e.details['reason'], 'checksum'));
    const { dir: d2 } = await small('badrepomd', '6.1.0-14.fc98.x86_64');
    fs.appendFileSync(path.join(d2, 'repodata/repomd.xml'), '<!-- changed -->\n');
    const root2 = fedoraRoot('badrepomd', fedoraRepo(`${server.url}/badrepomd`));
    await failsClean(opts(root2, path.join(work, 'c-badrepomd'), '6.1.0-14.fc98.x86_64'), (e) => assert.equal(e.details['reason'], 'signature'));
  });

  test('faults: a release the repositories lack → not found, naming what was searched, with the vault hint', async () => {
    await small('missing', '6.1.0-15.fc98.x86_64');
    const root = fedoraRoot('missing', fedoraRepo(`${server.url}/missing`));
    const e = await resolveHeaders(opts(root, path.join(work, 'c-missing'), '6.1.0-16.fc98.x86_64')).catch((err: unknown) => err);
    assert.ok(isBpfCompileError(e, ErrorCode.HEADERS_NOT_FOUND), String(e));
    const text = `${JSON.stringify(e)} ${(e as { hint?: string }).hint ?? ''}`;
    assert.match(text, /kernel-devel-6\.1\.0-16\.fc98\.x86_64 not in fedora/);
    assert.match(text, /1 kernel devel packages of 1/);
    assert.match(text, /vault/);
  });

  test('faults: a truncated download is retried; always truncated → typed error, nothing published', async () => {
    const rel = '6.1.0-17.fc98.x86_64';
    const { rpm } = await small('truncated', rel);
    const p = `/truncated/${path.basename(rpm)}`;
    server.fault(p, { kind: 'truncate', sendBytes: 1000, times: 1 });
    const root = fedoraRoot('truncated', fedoraRepo(`${server.url}/truncated`));
    const h = await resolveHeaders(opts(root, path.join(work, 'c-trunc1'), rel));
    assert.equal(h.utsRelease, rel);
    server.fault(p, { kind: 'truncate', sendBytes: 1000 });
    await failsClean(opts(root, path.join(work, 'c-trunc2'), rel), (e) => assert.equal(e.code, ErrorCode.INPUT_UNREADABLE));
    server.fault(p, undefined);
  });

  test('faults: hostile entries in a signed package (a device node, a link out of the tree) → ARCHIVE_UNSAFE', async () => {
    const dev = '6.1.0-18.fc98.x86_64';
    await small('device', dev, { extras: [{ device: `/usr/src/kernels/${dev}/null`, kind: 'c', major: 1, minor: 3 }] });
    await failsClean(opts(fedoraRoot('device', fedoraRepo(`${server.url}/device`)), path.join(work, 'c-device'), dev), (e) => {
      assert.equal(e.code, ErrorCode.ARCHIVE_UNSAFE);
      assert.match(e.message, /device node/);
    });
    const esc = '6.1.0-19.fc98.x86_64';
    await small('escape', esc, { extras: [{ symlink: `/usr/src/kernels/${esc}/include/evil`, target: '../../../../../../../../etc' }] });
    await failsClean(opts(fedoraRoot('escape', fedoraRepo(`${server.url}/escape`)), path.join(work, 'c-escape'), esc), (e) => {
      assert.equal(e.code, ErrorCode.ARCHIVE_UNSAFE);
      assert.match(e.message, /outside the tree/);
    });
  });

  test('gpgcheck=0 over plain http with unsigned metadata → refused: nothing vouches for the package', async () => {
    const rel = '6.1.0-20.fc98.x86_64';
    await small('novouch', rel, { signRepomd: false });
    const root = fedoraRoot('novouch', `[local]\nbaseurl=${server.url}/novouch\ngpgcheck=0\n`);
    await failsClean(opts(root, path.join(work, 'c-novouch'), rel), (e) => {
      assert.equal(e.details['reason'], 'signature');
      assert.match(e.message, /nothing vouches/);
    });
  });

  test('--rpm-repo on the command line (host key file) finds a package for a custom-looking release', async () => {
    const rel = '6.1.0-21.fc98.x86_64';
    await small('cli', rel);
    const keyFile = path.join(work, 'cli-key.asc');
    fs.writeFileSync(keyFile, key.armored);
    const bare = fs.mkdtempSync(path.join(work, 'bare-'));
    const h = await resolveHeaders(opts(bare, path.join(work, 'c-cli'), rel, { rpmRepositories: [`baseurl=${server.url}/cli,gpgkey=file://${keyFile},repo_gpgcheck=1`] }));
    assert.equal(h.utsRelease, rel);
  });
});
