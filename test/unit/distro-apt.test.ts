import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { parseAptConf, readAptOptions } from '../../lib/distro/apt/conf.js';
import { parseDepends, parsePackages, isHeadersPackageName } from '../../lib/distro/apt/packages.js';
import { packagesIndexOf, parseRelease } from '../../lib/distro/apt/release.js';
import { selectPackages, type RepoPackage } from '../../lib/distro/apt/select.js';
import { parseDeb822Sources, parseOneLineSources, readAptSources } from '../../lib/distro/apt/sources.js';
import { compareDebVersions } from '../../lib/distro/apt/version.js';
import { parseProcVersion, parseVersionSignature, readKernelIdentity } from '../../lib/system/kernel-identity.js';
import { resolveUnderRoot } from '../../lib/system/root.js';

const KEY = `-----BEGIN PGP PUBLIC KEY BLOCK-----

mDMEZ0000BYJKwYBBAHaRw8BAQdA
=abcd
-----END PGP PUBLIC KEY BLOCK-----`;

describe('apt sources', () => {
  test('one-line entries: options, several components, deb-src and comments skipped, flat repositories', () => {
    const { sources, problems } = parseOneLineSources(
      [
        '# a comment',
        'deb http://deb.debian.org/debian bookworm main contrib # trailing',
        'deb-src http://deb.debian.org/debian bookworm main',
        'deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/x.gpg check-valid-until=no] https://example.test/debian/ bookworm-security main',
        'deb http://example.test/flat ./',
        'deb cdrom:[Debian]/ bookworm main',
        'garbage',
      ].join('\n'),
      '/etc/apt/sources.list',
    );
    assert.equal(sources.length, 3);
    assert.deepEqual(sources[0], {
      uri: 'http://deb.debian.org/debian',
      suite: 'bookworm',
      components: ['main', 'contrib'],
      flat: false,
      architectures: undefined,
      signedBy: undefined,
      checkValidUntil: undefined,
      origin: '/etc/apt/sources.list:2',
    });
    assert.equal(sources[1]?.uri, 'https://example.test/debian');
    assert.deepEqual(sources[1]?.architectures, ['amd64', 'arm64']);
    assert.deepEqual(sources[1]?.signedBy?.keyrings, ['/usr/share/keyrings/x.gpg']);
    assert.equal(sources[1]?.checkValidUntil, false);
    assert.equal(sources[2]?.flat, true);
    assert.deepEqual(sources[2]?.components, []);
    assert.equal(problems.length, 2, JSON.stringify(problems));
    assert.match(problems.map((p) => p.problem).join('\n'), /only http:\/\/ and https:\/\//);
  });

  test('deb822 stanzas: several URIs and suites, Enabled: no, fingerprints, an inline key with its blank line', () => {
    const text = [
      'Types: deb deb-src',
      'URIs: http://a.test/debian http://b.test/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: 0123456789ABCDEF0123456789ABCDEF01234567 fedcba9876543210fedcba9876543210fedcba98!',
      '',
      'Types: deb',
      'URIs: http://c.test/debian',
      'Suites: bookworm',
      'Components: main',
      'Enabled: no',
      '',
      '# comment',
      'Types: deb',
      'URIs: http://d.test/ubuntu',
      'Suites: jammy',
      'Components: main restricted',
      'Architectures: arm64',
      'Signed-By:',
      ...KEY.split('\n').map((l) => (l === '' ? ' .' : ` ${l}`)),
      '',
    ].join('\n');
    const { sources, problems } = parseDeb822Sources(text, '/etc/apt/sources.list.d/x.sources');
    assert.deepEqual(problems, []);
    assert.equal(sources.length, 5);
    assert.deepEqual(
      sources.slice(0, 4).map((s) => `${s.uri} ${s.suite}`),
      ['http://a.test/debian bookworm', 'http://a.test/debian bookworm-updates', 'http://b.test/debian bookworm', 'http://b.test/debian bookworm-updates'],
    );
    assert.deepEqual(sources[0]?.signedBy?.fingerprints, ['0123456789ABCDEF0123456789ABCDEF01234567', 'FEDCBA9876543210FEDCBA9876543210FEDCBA98']);
    const last = sources[4];
    assert.deepEqual(last?.architectures, ['arm64']);
    assert.equal(last?.signedBy?.inlineKey, KEY, 'the inline key keeps its blank line');
    assert.equal(last?.origin, '/etc/apt/sources.list.d/x.sources:14');
  });

  test('readAptSources reads sources.list, then sources.list.d/*.list and *.sources in name order, under the root', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-apt-'));
    fs.mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/apt/sources.list'), 'deb http://one.test/debian bookworm main\n');
    fs.writeFileSync(path.join(root, 'etc/apt/sources.list.d/b.sources'), 'Types: deb\nURIs: http://three.test/x\nSuites: s\nComponents: c\n');
    fs.writeFileSync(path.join(root, 'etc/apt/sources.list.d/a.list'), 'deb http://two.test/debian bookworm main\n');
    fs.writeFileSync(path.join(root, 'etc/apt/sources.list.d/c.list.disabled'), 'deb http://never.test/ x y\n');
    const r = readAptSources(root);
    assert.deepEqual(
      r.sources.map((s) => s.uri),
      ['http://one.test/debian', 'http://two.test/debian', 'http://three.test/x'],
    );
    assert.deepEqual(r.files, ['/etc/apt/sources.list', '/etc/apt/sources.list.d/a.list', '/etc/apt/sources.list.d/b.sources']);
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describe('apt.conf', () => {
  test('nested scopes, comments, later assignments win; the options that matter are read', () => {
    const m = parseAptConf(
      [
        '// a comment',
        'Acquire::Check-Valid-Until "true";',
        '/* block',
        '   comment */',
        'Acquire { http { Proxy "http://proxy.test:3128/"; }; https::Proxy "DIRECT"; };',
        '# hash comment',
        'APT::Architectures { "amd64"; "arm64"; };',
        'acquire::check-valid-until "false";',
        '#clear Foo::Bar;',
        'Dir::Etc "etc/apt/"; // trailing',
      ].join('\n'),
    );
    assert.equal(m.get('acquire::check-valid-until'), 'false');
    assert.equal(m.get('acquire::http::proxy'), 'http://proxy.test:3128/');
    assert.equal(m.get('acquire::https::proxy'), 'DIRECT');
    assert.equal(m.get('dir::etc'), 'etc/apt/');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-aptconf-'));
    fs.mkdirSync(path.join(root, 'etc/apt/apt.conf.d'), { recursive: true });
    fs.writeFileSync(path.join(root, 'etc/apt/apt.conf.d/10a'), 'Acquire::http::Proxy "http://p.test:1/";\n');
    fs.writeFileSync(path.join(root, 'etc/apt/apt.conf.d/99b'), 'Acquire::Check-Valid-Until "false";\nAcquire::https::Proxy "DIRECT";\n');
    const o = readAptOptions(root);
    assert.equal(o.checkValidUntil, false);
    assert.equal(o.httpProxy, 'http://p.test:1/');
    assert.equal(o.httpsProxy, undefined, 'DIRECT means no proxy');
    assert.equal(readAptOptions(path.join(root, 'none')).checkValidUntil, true, 'default: Valid-Until is checked');
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describe('Release and Packages', () => {
  const release = parseRelease(
    [
      'Origin: Debian',
      'Suite: stable-security',
      'Codename: bookworm-security',
      'Date: Mon, 30 Nov 2026 00:22:33 UTC',
      'Valid-Until: Mon, 07 Dec 2026 00:22:33 UTC',
      'Acquire-By-Hash: yes',
      'No-Support-for-Architecture-all: Packages',
      'Architectures: all amd64 arm64',
      'Components: main',
      'MD5Sum:',
      ' 00000000000000000000000000000000 1 main/binary-amd64/Packages.xz',
      'SHA256:',
      ` ${'a'.repeat(64)}   383968 main/binary-amd64/Packages.xz`,
      ` ${'b'.repeat(64)}  2000000 main/binary-amd64/Packages`,
      ` ${'c'.repeat(64)}    50824 main/binary-arm64/Packages.gz`,
    ].join('\n'),
  );
  test('Release: dates, flags, only SHA256 hashes', () => {
    assert.equal(release.validUntil?.toISOString(), '2026-12-07T00:22:33.000Z');
    assert.equal(release.acquireByHash, true);
    assert.equal(release.allInArchIndexes, true);
    assert.equal(release.files.size, 3);
    assert.equal(packagesIndexOf(release, 'main', 'amd64')?.sha256, 'a'.repeat(64), '.xz preferred');
    assert.equal(packagesIndexOf(release, 'main', 'arm64')?.path, 'main/binary-arm64/Packages.gz');
    assert.equal(packagesIndexOf(release, 'main', 'riscv64'), undefined);
  });

  test('Packages: only headers stanzas are kept; Depends and Pre-Depends joined', () => {
    const text = [
      'Package: bash',
      'Version: 5.2',
      'Filename: pool/b/bash.deb',
      `SHA256: ${'1'.repeat(64)}`,
      '',
      'Package: linux-headers-6.1.0-57-amd64',
      'Source: linux-signed-amd64 (6.1.192+3)',
      'Version: 6.1.192-3',
      'Architecture: amd64',
      'Pre-Depends: x',
      'Depends: linux-headers-6.1.0-57-common (= 6.1.192-3), linux-kbuild-6.1 (>= 6.1.192-3)',
      'Description: headers',
      ' continued line: Package: not-this',
      'Filename: pool/main/l/linux/linux-headers-6.1.0-57-amd64_6.1.192-3_amd64.deb',
      'Size: 1841556',
      `SHA256: ${'2'.repeat(64)}`,
      '',
      'Package: linux-hwe-6.2-headers-6.2.0-35',
      'Version: 6.2.0-35.35~22.04.1',
      'Architecture: all',
      'Filename: pool/main/l/linux-hwe-6.2/x.deb',
      `SHA256: ${'3'.repeat(64)}`,
      '',
      'Package: linux-headers-broken',
      'Version: 1',
      '',
    ].join('\n');
    const pkgs = parsePackages(text);
    assert.deepEqual(
      pkgs.map((p) => p.package),
      ['linux-headers-6.1.0-57-amd64', 'linux-hwe-6.2-headers-6.2.0-35'],
    );
    assert.equal(pkgs[0]?.source, 'linux-signed-amd64');
    assert.equal(pkgs[0]?.size, 1841556);
    assert.match(pkgs[0]?.depends ?? '', /^x, linux-headers-6\.1\.0-57-common/);
    assert.ok(
      isHeadersPackageName('linux-aws-headers-5.15.0-1051') &&
        isHeadersPackageName('linux-headers-5.15.0-91') &&
        !isHeadersPackageName('linux-kbuild-6.1') &&
        !isHeadersPackageName('linux-headers-amd64'),
    );
  });

  test('Depends: alternatives, version constraints, arch qualifiers', () => {
    assert.deepEqual(parseDepends('a (= 1.0-1), b | c:any (>= 2), d (<< 3~)'), [
      [{ name: 'a', op: '=', version: '1.0-1' }],
      [
        { name: 'b', op: undefined, version: undefined },
        { name: 'c', op: '>=', version: '2' },
      ],
      [{ name: 'd', op: '<<', version: '3~' }],
    ]);
  });

  test('Debian version order (Policy 5.6.12)', () => {
    const ordered = ['1.0~rc1', '1.0', '1.0-1', '1.0-1.1', '1.0a', '1.0+deb12u1', '1.1', '1:0.9'];
    for (let i = 0; i < ordered.length; i++) {
      for (let j = 0; j < ordered.length; j++) {
        assert.equal(Math.sign(compareDebVersions(ordered[i] as string, ordered[j] as string)), Math.sign(i - j), `${ordered[i]} vs ${ordered[j]}`);
      }
    }
    assert.equal(compareDebVersions('6.1.192-3', '6.1.192-10') < 0, true);
    assert.equal(compareDebVersions('6.12.117-1~deb12u1', '6.12.117-1') < 0, true);
    assert.equal(compareDebVersions('0:1.0', '1.0'), 0);
  });
});

describe('choosing the package set', () => {
  const pkg = (name: string, version: string, arch: string, depends = '', suite = 's'): RepoPackage => ({
    package: name,
    version,
    architecture: arch,
    depends,
    source: 'linux',
    filename: `pool/${name}_${version}.deb`,
    size: 1,
    sha256: `${name}${version}${arch}`.padEnd(64, '0').slice(0, 64),
    uri: 'http://r.test',
    suite,
  });
  const pool = [
    pkg('linux-headers-6.1.0-57-amd64', '6.1.192-1', 'amd64', 'linux-headers-6.1.0-57-common (= 6.1.192-1), linux-kbuild-6.1 (>= 6.1.192-1)'),
    pkg('linux-headers-6.1.0-57-amd64', '6.1.192-3', 'amd64', 'linux-headers-6.1.0-57-common (= 6.1.192-3), linux-kbuild-6.1 (>= 6.1.192-3)', 'security'),
    pkg('linux-headers-6.1.0-57-arm64', '6.1.192-3', 'arm64', 'linux-headers-6.1.0-57-common (= 6.1.192-3)'),
    pkg('linux-headers-6.1.0-57-common', '6.1.192-1', 'all'),
    pkg('linux-headers-6.1.0-57-common', '6.1.192-3', 'all'),
  ];
  test('newest by default; the dependency in the version it asks for; linux-kbuild not followed', () => {
    const s = selectPackages(pool, '6.1.0-57-amd64', 'amd64', undefined);
    assert.ok(!('missing' in s));
    assert.deepEqual(
      s.packages.map((p) => `${p.package} ${p.version}`),
      ['linux-headers-6.1.0-57-amd64 6.1.192-3', 'linux-headers-6.1.0-57-common 6.1.192-3'],
    );
    assert.match(s.why, /newest of 2 versions/);
  });
  test("the running kernel's build wins when the repositories hold it, and is named when they do not", () => {
    const s = selectPackages(pool, '6.1.0-57-amd64', 'amd64', '6.1.192-1');
    assert.ok(!('missing' in s));
    assert.deepEqual(
      s.packages.map((p) => p.version),
      ['6.1.192-1', '6.1.192-1'],
    );
    const t = selectPackages(pool, '6.1.0-57-amd64', 'amd64', '6.1.192-2');
    assert.ok(!('missing' in t));
    assert.match(t.why, /running kernel is 6\.1\.192-2, which the repositories no longer hold/);
  });
  test('the target arch only (arm64 on an amd64 host); a missing release or dependency is a reason', () => {
    const a = selectPackages(pool, '6.1.0-57-arm64', 'arm64', undefined);
    assert.ok(!('missing' in a) && a.packages[0]?.architecture === 'arm64');
    const m = selectPackages(pool, '6.1.0-57-arm64', 'amd64', undefined);
    assert.ok('missing' in m && /no package linux-headers-6\.1\.0-57-arm64 for amd64/.test(m.missing));
    const d = selectPackages([pool[1] as RepoPackage], '6.1.0-57-amd64', 'amd64', undefined);
    assert.ok('missing' in d && /depends on linux-headers-6\.1\.0-57-common \(= 6\.1\.192-3\)/.test(d.missing));
  });
});

describe('kernel identity', () => {
  test('/proc/version (Debian) and /proc/version_signature (Ubuntu), only for the release they describe', () => {
    const v =
      'Linux version 6.1.0-57-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14+deb12u1) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.192-3 (2026-11-26)\n';
    assert.deepEqual(parseProcVersion(v), { release: '6.1.0-57-amd64', debianVersion: '6.1.192-3' });
    assert.deepEqual(parseVersionSignature('Ubuntu 5.15.0-91.101-generic 5.15.131\n'), { release: '5.15.0-91-generic', packageVersion: '5.15.0-91.101' });
    assert.deepEqual(parseVersionSignature('Ubuntu 6.2.0-35.35~22.04.1-generic 6.2.16\n'), { release: '6.2.0-35-generic', packageVersion: '6.2.0-35.35' });
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-ident-'));
    fs.mkdirSync(path.join(root, 'proc'));
    fs.writeFileSync(path.join(root, 'proc/version'), v);
    assert.equal(readKernelIdentity(root, '6.1.0-57-amd64')?.packageVersion, '6.1.192-3');
    assert.equal(readKernelIdentity(root, '6.1.0-56-amd64'), undefined, 'another kernel: no identity');
    fs.writeFileSync(path.join(root, 'proc/version_signature'), 'Ubuntu 6.1.0-57.101-generic 6.1.192\n');
    assert.equal(readKernelIdentity(root, '6.1.0-57-generic')?.distro, 'ubuntu');
    fs.rmSync(root, { recursive: true, force: true });
  });
});

describe('resolving paths under another root', () => {
  test('absolute links are taken from the root, never the host; loops and escapes are reported', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-root-'));
    fs.mkdirSync(path.join(root, 'usr/src/linux-headers-x'), { recursive: true });
    fs.mkdirSync(path.join(root, 'lib/modules/x'), { recursive: true });
    fs.symlinkSync('/usr/src/linux-headers-x', path.join(root, 'lib/modules/x/build'));
    fs.symlinkSync('/etc', path.join(root, 'lib/modules/x/hostetc'));
    fs.symlinkSync('../../../../../../../../../../etc', path.join(root, 'lib/modules/x/up'));
    fs.symlinkSync('loop2', path.join(root, 'lib/modules/x/loop1'));
    fs.symlinkSync('loop1', path.join(root, 'lib/modules/x/loop2'));
    const real = fs.realpathSync(root);
    assert.deepEqual(resolveUnderRoot(root, '/lib/modules/x/build'), { ok: true, path: path.join(real, 'usr/src/linux-headers-x') });
    const etc = resolveUnderRoot(root, '/lib/modules/x/hostetc');
    assert.ok(!etc.ok && etc.code === 'ENOENT', 'the host /etc is not reached');
    const up = resolveUnderRoot(root, '/lib/modules/x/up');
    assert.ok(!up.ok && up.code === 'ESCAPE');
    const loop = resolveUnderRoot(root, '/lib/modules/x/loop1');
    assert.ok(!loop.ok && loop.code === 'ELOOP');
    assert.deepEqual(resolveUnderRoot('/', '/'), { ok: true, path: '/' });
    fs.rmSync(root, { recursive: true, force: true });
  });
});
