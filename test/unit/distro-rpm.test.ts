/**
 * The rpm-md backend's pure parts, on text and bytes made here: `.repo` files and variables, release → package
 * names, rpm version order, repomd / metalink / mirrorlist, the streaming primary reader, the cpio parser and the RPM
 * container (hostile payloads refused by the same policy as every archive), and the package checks of `verify.ts`.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ErrorCode, isBpfCompileError } from '../../lib/errors.js';
import { CpioParser } from '../../lib/archive/cpio-parser.js';
import { extractPackagesInto } from '../../lib/archive/extract.js';
import type { TarEntry } from '../../lib/archive/tar-parser.js';
import { iniBool, parseIni, parseRepoFile, parseRepoOption, readRepoVars, readRpmRepos, releaseverOf, substituteVars } from '../../lib/distro/rpm/repos.js';
import { isKernelDevelName, matchesWanted, rpmKernelOf } from '../../lib/distro/rpm/names.js';
import { rpmVersionCompare } from '../../lib/distro/rpm/version.js';
import { parseMetalink, parseMirrorlist, parseRepomd } from '../../lib/distro/rpm/repomd.js';
import { PrimaryParser } from '../../lib/distro/rpm/primary.js';
import { verifyRpmPackage } from '../../lib/distro/rpm/verify.js';
import { rpmFamilyOf, aptFamilyOf } from '../../lib/distro/releases.js';
import { craftRpm, newc, type CpioEntry } from '../helpers/rpm-craft.js';
import { makeRsaKey } from '../helpers/rpm-repo.js';
import type { TestKey } from '../helpers/apt-repo.js';
import { readPublicKeys } from '../../lib/distro/openpgp.js';

const vars = new Map([
  ['releasever', '9'],
  ['basearch', 'x86_64'],
  ['arch', 'x86_64'],
  ['awsregion', 'eu-west-1'],
]);

describe('rpm .repo files', () => {
  test('INI: sections, lowercased keys, comments, continuation lines', () => {
    const s = parseIni('# c\n[a]\nBaseURL=http://x/1\n  http://x/2\n; c\nname = A\n[b]\nenabled=0\n');
    assert.equal(s.get('a')?.get('baseurl'), 'http://x/1 http://x/2');
    assert.equal(s.get('a')?.get('name'), 'A');
    assert.equal(s.get('b')?.get('enabled'), '0');
    assert.equal(iniBool('yes', false), true);
    assert.equal(iniBool('False', true), false);
    assert.equal(iniBool(undefined, true), true);
  });

  test('variables: $var, ${var}, longest defined prefix, unknown kept', () => {
    assert.equal(substituteVars('http://h/$releasever/$basearch/os', vars), 'http://h/9/x86_64/os');
    assert.equal(substituteVars('${releasever}x/$awsregion.$awsdomain', vars), '9x/eu-west-1.$awsdomain');
    assert.equal(substituteVars('$basearchive', vars), 'x86_64ive', 'dnf substitutes the longest defined name that prefixes it');
  });

  test('a dnf repo: several baseurls, defaults (gpgcheck on, repo_gpgcheck off), gpgkey list, TLS, proxy with credentials', () => {
    const [r] = parseRepoFile(
      '[baseos]\nname=B\nbaseurl=http://a/$releasever/\n  http://b/$releasever,http://c/\ngpgkey=file:///etc/pki/rpm-gpg/K1 file:///etc/pki/rpm-gpg/K2\nsslclientcert=/etc/pki/entitlement/1.pem\nproxy=http://p:3128\nproxy_username=u\nproxy_password=p w\n',
      '/etc/yum.repos.d/x.repo',
      'dnf',
      vars,
    );
    assert.ok(r);
    assert.deepEqual(r.baseurls, ['http://a/9', 'http://b/9', 'http://c']);
    assert.equal(r.enabled, true);
    assert.equal(r.gpgcheck, true);
    assert.equal(r.repoGpgcheck, false);
    assert.deepEqual(r.gpgkeys, ['file:///etc/pki/rpm-gpg/K1', 'file:///etc/pki/rpm-gpg/K2']);
    assert.equal(r.sslClientCert, '/etc/pki/entitlement/1.pem');
    assert.equal(r.proxy, 'http://u:p%20w@p:3128');
  });

  test('[main] of dnf.conf gives defaults; a repo overrides them; zypper path= is appended; non-rpm-md types are not read', () => {
    const main = parseIni('[main]\ngpgcheck=0\nrepo_gpgcheck=1\n').get('main');
    const [a, b] = parseRepoFile('[a]\nbaseurl=http://a\n[b]\nbaseurl=http://b\ngpgcheck=1\n', 'f', 'dnf', vars, main);
    assert.equal(a?.gpgcheck, false);
    assert.equal(a?.repoGpgcheck, true);
    assert.equal(b?.gpgcheck, true);
    const z = parseRepoFile('[oss]\nbaseurl=http://d/distribution/leap/$releasever/repo\npath=/oss\ntype=rpm-md\n[cd]\nbaseurl=cd:/\ntype=yast2\n', 'z', 'zypper', vars);
    assert.equal(z.length, 1);
    assert.deepEqual(z[0]?.baseurls, ['http://d/distribution/leap/9/repo/oss']);
    const pkg = parseRepoFile('[s]\nbaseurl=http://s\ngpgcheck=0\npkg_gpgcheck=1\n', 'z', 'zypper', vars);
    assert.equal(pkg[0]?.gpgcheck, true, "zypper's pkg_gpgcheck wins");
  });

  test('--rpm-repo: a bare URL, or key=value pairs', () => {
    assert.deepEqual(parseRepoOption('http://h/repo/', 1, vars).baseurls, ['http://h/repo']);
    const r = parseRepoOption('baseurl=http://h/$basearch,gpgkey=file:///k.asc,repo_gpgcheck=1', 2, vars);
    assert.deepEqual(r.baseurls, ['http://h/x86_64']);
    assert.deepEqual(r.gpgkeys, ['file:///k.asc']);
    assert.equal(r.repoGpgcheck, true);
    assert.equal(r.origin, '--rpm-repo #2');
  });

  test('$releasever from os-release (RHEL-likes: the major version) or a vars file; repos read under the root', () => {
    assert.equal(releaseverOf({ id: 'rocky', idLike: ['rhel', 'centos', 'fedora'], versionId: '9.3' }), '9');
    assert.equal(releaseverOf({ id: 'fedora', idLike: [], versionId: '40' }), '40');
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-rpmvars-'));
    try {
      fs.mkdirSync(path.join(root, 'etc/dnf/vars'), { recursive: true });
      fs.mkdirSync(path.join(root, 'etc/yum.repos.d'), { recursive: true });
      fs.mkdirSync(path.join(root, 'etc/zypp/repos.d'), { recursive: true });
      fs.writeFileSync(path.join(root, 'etc/os-release'), 'ID="amzn"\nVERSION_ID="2023"\n');
      fs.writeFileSync(path.join(root, 'etc/dnf/vars/releasever'), '2023.6.20241121\n');
      fs.writeFileSync(
        path.join(root, 'etc/yum.repos.d/a.repo'),
        '[a]\nmirrorlist=https://m/$releasever/$basearch/mirror.list\n[off]\nbaseurl=http://x\nenabled=0\n[empty]\nname=no url\n',
      );
      fs.writeFileSync(path.join(root, 'etc/yum.repos.d/ignored.txt'), '[x]\nbaseurl=http://x\n');
      fs.writeFileSync(path.join(root, 'etc/zypp/repos.d/s.repo'), '[s]\nbaseurl=http://s/$arch\n');
      assert.equal(readRepoVars(root, 'aarch64').get('basearch'), 'aarch64');
      const cfg = readRpmRepos(root, 'x86_64');
      assert.deepEqual(cfg.files, ['/etc/yum.repos.d/a.repo', '/etc/zypp/repos.d/s.repo']);
      assert.equal(cfg.repos.find((r) => r.id === 'a')?.mirrorlist, 'https://m/2023.6.20241121/x86_64/mirror.list');
      assert.equal(cfg.repos.find((r) => r.id === 'off')?.enabled, false);
      assert.equal(cfg.repos.find((r) => r.id === 's')?.tool, 'zypper');
      assert.match(cfg.problems.map((p) => `${p.origin} ${p.problem}`).join(), /\[empty\] no baseurl/);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('rpm kernel releases → packages', () => {
  const one = (rel: string, arch = 'x86_64', family?: 'suse'): string[] =>
    (rpmKernelOf(rel, arch, family)?.packages ?? []).map((p) => `${p.name} ${p.version}-${p.release} ${p.arch} ${p.releaseMatch}`);
  test('Red Hat family', () => {
    assert.deepEqual(one('6.5.6-300.fc39.x86_64'), ['kernel-devel 6.5.6-300.fc39 x86_64 exact']);
    assert.deepEqual(one('5.14.0-362.8.1.el9_3.x86_64+rt'), ['kernel-rt-devel 5.14.0-362.8.1.el9_3 x86_64 exact']);
    assert.deepEqual(one('6.11.0-0.rc5.23.el10.aarch64+64k', 'aarch64'), ['kernel-64k-devel 6.11.0-0.rc5.23.el10 aarch64 exact']);
    assert.deepEqual(one('4.18.0-193.rt13.51.el8.x86_64'), ['kernel-rt-devel 4.18.0-193.rt13.51.el8 x86_64 exact']);
    assert.deepEqual(one('5.15.0-200.131.27.el9uek.x86_64'), ['kernel-uek-devel 5.15.0-200.131.27.el9uek x86_64 exact']);
    assert.deepEqual(one('3.10.0-1160.el7.x86_64.debug'), ['kernel-debug-devel 3.10.0-1160.el7 x86_64 exact']);
    assert.deepEqual(one('6.1.56-82.125.amzn2023.x86_64'), ['kernel-devel 6.1.56-82.125.amzn2023 x86_64 exact']);
    assert.deepEqual(rpmKernelOf('6.5.6-300.fc39.x86_64', 'x86_64')?.trees[1], {
      source: '/usr/src/kernels/6.5.6-300.fc39.x86_64',
      build: '/usr/src/kernels/6.5.6-300.fc39.x86_64',
    });
  });
  test('SUSE: flavour package + noarch source package, release as a prefix (rebuild counters)', () => {
    assert.deepEqual(one('5.14.21-150500.55.39-default'), ['kernel-default-devel 5.14.21-150500.55.39 x86_64 prefix', 'kernel-devel 5.14.21-150500.55.39 noarch prefix']);
    assert.deepEqual(one('6.4.0-150600.10.5-rt'), ['kernel-rt-devel 6.4.0-150600.10.5 x86_64 prefix', 'kernel-devel-rt 6.4.0-150600.10.5 noarch prefix']);
    const w = rpmKernelOf('5.14.21-150500.55.39-default', 'x86_64')?.packages[0];
    assert.ok(w);
    assert.equal(matchesWanted({ name: 'kernel-default-devel', arch: 'x86_64', version: '5.14.21', release: '150500.55.39.1' }, w), true);
    assert.equal(matchesWanted({ name: 'kernel-default-devel', arch: 'x86_64', version: '5.14.21', release: '150500.55.390' }, w), false);
    assert.equal(matchesWanted({ name: 'kernel-default-devel', arch: 'aarch64', version: '5.14.21', release: '150500.55.39' }, w), false);
  });
  test('shapes: custom kernels are neither; Debian is not RPM; names kept from primary', () => {
    assert.equal(rpmFamilyOf('6.18.44-fc-v669'), undefined);
    // Debian's and SUSE's shapes overlap (Tumbleweed's 6.11.8-1-default): which repositories exist decides (source.ts)
    assert.equal(rpmFamilyOf('6.1.0-57-amd64')?.family, 'openSUSE/SLES');
    assert.equal(rpmKernelOf('6.18.44-fc-v669', 'x86_64'), undefined);
    assert.equal(rpmFamilyOf('6.5.6-300.fc39.x86_64')?.family, 'Fedora/RHEL/Amazon Linux');
    assert.equal(aptFamilyOf('6.5.6-300.fc39.x86_64'), undefined);
    assert.equal(rpmFamilyOf('5.14.21-150500.55.39-default')?.family, 'openSUSE/SLES');
    for (const n of ['kernel-devel', 'kernel-rt-devel', 'kernel-64k-debug-devel', 'kernel-default-devel', 'kernel-devel-rt', 'kernel-uek-devel'])
      assert.equal(isKernelDevelName(n), true, n);
    for (const n of ['kernel', 'kernel-headers', 'kernel-core', 'perf', 'bash-devel']) assert.equal(isKernelDevelName(n), false, n);
  });
});

describe('rpm version order (rpmvercmp)', () => {
  const cases: [string, string, number][] = [
    ['1.0', '1.0', 0],
    ['1.0', '2.0', -1],
    ['2.0.1', '2.0', 1],
    ['150500.55.39.2', '150500.55.39.1', 1],
    ['10', '9', 1],
    ['1.0a', '1.0', 1],
    ['1.0~rc1', '1.0', -1],
    ['1.0^git1', '1.0', 1],
    ['1.a', '1.1', -1],
    ['001', '1', 0],
    ['el9_3', 'el9_10', -1],
  ];
  for (const [a, b, want] of cases) test(`${a} vs ${b}`, () => assert.equal(Math.sign(rpmVersionCompare(a, b)), want));
});

describe('repomd.xml, metalink, mirrorlist', () => {
  test('repomd: data entries with checksums, locations, sizes', () => {
    const r = parseRepomd(
      '<?xml version="1.0"?><repomd xmlns="http://linux.duke.edu/metadata/repo" xmlns:rpm="http://linux.duke.edu/metadata/rpm"><revision>17</revision><data type="primary"><checksum type="sha256">AB12</checksum><open-checksum type="sha256">cd</open-checksum><location href="repodata/ab12-primary.xml.zst"/><size>620</size><open-size>1250</open-size></data><data type="filelists"><checksum type="sha">ee</checksum><location href="repodata/f.xml.gz"/></data></repomd>',
    );
    assert.equal(r.revision, '17');
    assert.deepEqual(r.data[0], { type: 'primary', href: 'repodata/ab12-primary.xml.zst', checksumType: 'sha256', checksum: 'ab12', size: 620, openSize: 1250 });
    assert.equal(r.data[1]?.checksumType, 'sha1');
    assert.throws(() => parseRepomd('<html></html>'), /not <repomd>/);
    assert.throws(() => parseRepomd('<repomd><data'), /./);
  });
  test('no entity expansion beyond the predefined ones (no DTD games)', () => {
    assert.throws(() => parseRepomd('<!DOCTYPE r [<!ENTITY a "aaaa">]><repomd><revision>&a;</revision></repomd>'), /./);
  });
  test('metalink: sha256/sha512 hashes (alternates too), https and http mirrors by preference', () => {
    const m = parseMetalink(
      '<metalink version="3.0" xmlns="http://www.metalinker.org/" xmlns:mm0="http://fedorahosted.org/mirrormanager"><files><file name="repomd.xml"><verification><hash type="md5">x</hash><hash type="sha256">AA</hash><hash type="sha512">BB</hash></verification><mm0:alternates><mm0:alternate><verification><hash type="sha256">cc</hash></verification></mm0:alternate></mm0:alternates><resources><url protocol="http" preference="90">http://m2/f/repodata/repomd.xml</url><url protocol="https" preference="100">https://m1/f/repodata/repomd.xml</url><url protocol="rsync" preference="100">rsync://m3/f/repodata/repomd.xml</url></resources></file></files></metalink>',
    );
    assert.deepEqual([...m.sha256].sort(), ['aa', 'cc']);
    assert.deepEqual(m.sha512, ['bb']);
    assert.deepEqual(m.bases, ['https://m1/f', 'http://m2/f']);
    assert.throws(() => parseMetalink('<metalink><files/></metalink>'), /repomd\.xml/);
  });
  test('mirrorlist: URLs only, comments dropped, repodata suffix removed', () => {
    assert.deepEqual(parseMirrorlist('# list\nhttps://a/x/\n\nhttp://b/y/repodata/repomd.xml\nftp://c/\n'), ['https://a/x', 'http://b/y']);
  });
});

describe('primary.xml streaming reader', () => {
  const pkg = (name: string, rel: string, extra = ''): string =>
    `<package type="rpm"><name>${name}</name><arch>x86_64</arch><version epoch="0" ver="6.1.0" rel="${rel}"/><checksum type="sha256" pkgid="YES">ABCD${rel.length}</checksum><summary>s &amp; t</summary><location href="Packages/k/${name}.rpm"${extra}/><size package="1234" installed="1" archive="2"/><format><rpm:provides><rpm:entry name="kernel-devel-uname-r"/></rpm:provides><file>/usr/src/kernels/x/<name>not this</name></file></format></package>`;
  const doc = `<?xml version="1.0" encoding="UTF-8"?>\n<metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="http://linux.duke.edu/metadata/rpm" packages="3">${pkg('kernel-devel', '57.fc99')}${pkg('bash', '1.fc99')}${pkg('kernel-rt-devel', '5.el9', ' xml:base="http://other/base"')}</metadata>`;
  test('keeps only kernel devel packages, with their fields; the same whatever the chunking (1 byte, UTF-8 split)', () => {
    for (const size of [1, 7, 100_000]) {
      const p = new PrimaryParser();
      const bytes = Buffer.from(doc.replace('s &amp; t', 'é ü &amp; t'));
      for (let i = 0; i < bytes.length; i += size) p.push(bytes.subarray(i, i + size));
      p.end();
      assert.equal(p.listed, 3);
      assert.deepEqual(
        p.packages.map((x) => [x.name, x.version, x.release, x.arch, x.checksum, x.href, x.base, x.size]),
        [
          ['kernel-devel', '6.1.0', '57.fc99', 'x86_64', 'abcd7', 'Packages/k/kernel-devel.rpm', undefined, 1234],
          ['kernel-rt-devel', '6.1.0', '5.el9', 'x86_64', 'abcd5', 'Packages/k/kernel-rt-devel.rpm', 'http://other/base', 1234],
        ],
      );
    }
  });
  test('elements that only start like <package>, an end marker split across chunks, no end marker', () => {
    const text = '<metadata packages="1"><packager-note/>' + pkg('kernel-devel', '1.x') + '</metadata>';
    for (const size of [1, 5, 11]) {
      const p = new PrimaryParser();
      const b = Buffer.from(text);
      for (let i = 0; i < b.length; i += size) p.push(b.subarray(i, i + size));
      p.end();
      assert.equal(p.listed, 1);
      assert.equal(p.packages[0]?.release, '1.x');
    }
    const cut = new PrimaryParser();
    cut.push(Buffer.from(text.replace('</metadata>', '')));
    assert.throws(() => cut.end(), /does not end with <\/metadata>/);
  });
  test('truncated or malformed → error', () => {
    const p = new PrimaryParser();
    p.push(Buffer.from(doc.slice(0, doc.length - 40)));
    assert.throws(() => p.end());
    const q = new PrimaryParser();
    assert.throws(() => {
      q.push(Buffer.from('<metadata><package><name>kernel-devel</nam></package></metadata>'));
      q.end();
    });
  });
});

function parseCpio(bytes: Buffer, chunk = bytes.length): { entries: (TarEntry & { data: string })[] } {
  const entries: (TarEntry & { data: string })[] = [];
  const p = new CpioParser((e) => {
    const rec = { ...e, data: '' };
    entries.push(rec);
    return {
      write(b: Uint8Array): void {
        rec.data += Buffer.from(b).toString();
      },
      close(): void {},
    };
  });
  for (let i = 0; i < bytes.length; i += chunk) p.push(bytes.subarray(i, i + chunk));
  p.end();
  return { entries };
}

describe('cpio (newc) parser', () => {
  const sample: CpioEntry[] = [
    { name: './usr/src/kernels/r', mode: 0o040755 },
    { name: './usr/src/kernels/r/Makefile', mode: 0o100644, data: 'all:\n' },
    { name: './usr/src/kernels/r/empty', mode: 0o100644 },
    { name: './usr/src/kernels/r/link', mode: 0o120777, data: '../r' },
  ];
  test('files, directories, empty files, symlinks (target from the data), any chunking', () => {
    for (const chunk of [1, 3, 110, 4096]) {
      const { entries } = parseCpio(newc(sample), chunk);
      assert.deepEqual(
        entries.map((e) => [e.name, e.type, e.size, e.linkname, e.data]),
        [
          ['./usr/src/kernels/r', 'directory', 0, null, ''],
          ['./usr/src/kernels/r/Makefile', 'file', 5, null, 'all:\n'],
          ['./usr/src/kernels/r/empty', 'file', 0, null, ''],
          ['./usr/src/kernels/r/link', 'symlink', 0, '../r', ''],
        ],
      );
    }
  });
  test('types from the mode; a multiply-linked file is a hard link', () => {
    const { entries } = parseCpio(
      newc([
        { name: 'c', mode: 0o020644 },
        { name: 'b', mode: 0o060644 },
        { name: 'p', mode: 0o010644 },
        { name: 'h', mode: 0o100644, nlink: 2 },
      ]),
    );
    assert.deepEqual(
      entries.map((e) => e.type),
      ['character-device', 'block-device', 'fifo', 'link'],
    );
  });
  test('malformed: bad magic, stripped 07070X, truncation anywhere, junk after the trailer, no entries', () => {
    const good = newc(sample);
    assert.throws(() => parseCpio(newc(sample, { magic: '070707' })), /bad magic/);
    assert.throws(() => parseCpio(newc(sample, { magic: '07070X' })), /stripped cpio/);
    for (const cut of [0, 50, 111, 200, good.length - 10])
      assert.throws(
        () => parseCpio(good.subarray(0, cut)),
        (e: unknown) => isBpfCompileError(e, ErrorCode.ARCHIVE_CORRUPT),
        `cut at ${cut}`,
      );
    assert.throws(() => parseCpio(Buffer.concat([good, Buffer.from('junk')])), /after the TRAILER/);
    assert.doesNotThrow(() => parseCpio(Buffer.concat([good, Buffer.alloc(512)])), 'NUL padding after the trailer');
    assert.throws(() => parseCpio(newc([])), /empty/);
  });
});

describe('RPM container → the package policy and writer', () => {
  const policy = { keep: [['usr', 'src']] as const };
  const tree = (entries: CpioEntry[]): CpioEntry[] => [
    { name: './usr/src/kernels/r/include/linux/kconfig.h', mode: 0o100644, data: '#define X\n' },
    { name: './usr/share/doc/kernel/README', mode: 0o100644, data: 'skipped\n' },
    ...entries,
  ];
  async function unpack(rpm: Buffer): Promise<{ dir: string; result: Awaited<ReturnType<typeof extractPackagesInto>> }> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-rpmx-'));
    try {
      return { dir, result: await extractPackagesInto([{ source: rpm, format: 'rpm' }], dir, policy) };
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }
  test('a well-formed package unpacks; outside the kept dirs is skipped; absolute links are re-rooted; the payload digest is recorded', async () => {
    const rpm = craftRpm(newc(tree([{ name: './usr/src/kernels/r/build', mode: 0o120777, data: '/usr/src/kernels/r' }])));
    const { dir, result } = await unpack(rpm);
    try {
      assert.equal(result.files, 1);
      assert.equal(fs.readlinkSync(path.join(dir, 'usr/src/kernels/r/build')), '../../../../usr/src/kernels/r');
      assert.equal(fs.existsSync(path.join(dir, 'usr/share')), false);
      const info = result.packages[0]?.rpm;
      assert.ok(info);
      assert.equal(result.packages[0]?.decoder, 'rpm+gzip');
      const v = await verifyRpmPackage(info, '/nonexistent', undefined, 'crafted.rpm');
      assert.equal(v.signature, 'not checked (gpgcheck=0)');
      await assert.rejects(verifyRpmPackage(info, '/nonexistent', { keys: [], fingerprints: [] }, 'crafted.rpm'), /is not signed/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  test('a payload that does not match PAYLOADDIGEST → checksum', async () => {
    const { dir, result } = await unpack(craftRpm(newc(tree([])), { payloadDigest: '00'.repeat(32) }));
    fs.rmSync(dir, { recursive: true, force: true });
    await assert.rejects(
      verifyRpmPackage(result.packages[0]?.rpm as never, '/nonexistent', undefined, 'x.rpm'),
      (e: unknown) => isBpfCompileError(e) && /PAYLOADDIGEST/.test((e as Error).message),
    );
  });
  test('signatures: header-only with PAYLOADDIGEST, legacy header+payload (EL ≤ 7), each by the allowed key only', async (t) => {
    if (spawnSync('gpg', ['--version'], { stdio: 'ignore' }).status !== 0) return t.skip('gpg is not installed');
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-rpmsig-'));
    try {
      const key = makeRsaKey(work, 'sig');
      const other = makeRsaKey(work, 'other');
      const signer =
        (k: TestKey) =>
        (bytes: Buffer): Buffer =>
          execFileSync('gpg', ['--batch', '--local-user', k.fingerprint, '--digest-algo', 'SHA256', '--detach-sign', '--output', '-'], {
            input: bytes,
            env: { ...process.env, GNUPGHOME: k.home },
          });
      const keys = await readPublicKeys(Buffer.from(key.armored), 'test key');
      const check = async (rpm: Buffer): Promise<Awaited<ReturnType<typeof verifyRpmPackage>>> => {
        const file = path.join(work, 'p.rpm');
        fs.writeFileSync(file, rpm);
        const { dir, result } = await unpack(rpm);
        fs.rmSync(dir, { recursive: true, force: true });
        return verifyRpmPackage(result.packages[0]?.rpm as never, file, keys, 'p.rpm');
      };
      const cpio = newc(tree([]));
      assert.equal((await check(craftRpm(cpio, { sign: { over: 'header', with: signer(key) } }))).signature, 'header');
      const legacy = await check(craftRpm(cpio, { payloadDigest: null, sign: { over: 'header+payload', with: signer(key) } }));
      assert.equal(legacy.signature, 'header+payload');
      assert.ok(key.fingerprint.endsWith(legacy.signers[0] ?? 'none'));
      await assert.rejects(check(craftRpm(cpio, { sign: { over: 'header', with: signer(other) } })), (e: unknown) => isBpfCompileError(e) && e.details['reason'] === 'signature');
      await assert.rejects(
        check(craftRpm(cpio, { payloadDigest: null, sign: { over: 'header+payload', with: signer(other) } })),
        (e: unknown) => isBpfCompileError(e) && e.details['reason'] === 'signature',
      );
      // a header signature proves nothing of the files without a PAYLOADDIGEST
      await assert.rejects(check(craftRpm(cpio, { payloadDigest: null, sign: { over: 'header', with: signer(key) } })), /without a PAYLOADDIGEST/);
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
  });
  const hostile: [string, CpioEntry][] = [
    ['traversal', { name: './usr/src/kernels/../../../etc/passwd', mode: 0o100644, data: 'x' }],
    ['absolute name', { name: '/usr/src/kernels/r/abs', mode: 0o100644, data: 'x' }],
    ['device node', { name: './usr/src/kernels/r/null', mode: 0o020666 }],
    ['fifo', { name: './usr/src/kernels/r/fifo', mode: 0o010644 }],
    ['hard link', { name: './usr/src/kernels/r/hard', mode: 0o100644, nlink: 2, data: 'x' }],
    ['link out of the tree', { name: './usr/src/kernels/r/out', mode: 0o120777, data: '../../../../../../etc' }],
    ['socket', { name: './usr/src/kernels/r/sock', mode: 0o140755 }],
  ];
  for (const [what, entry] of hostile) {
    test(`hostile: ${what} → ARCHIVE_UNSAFE, nothing outside the dir`, async () => {
      await assert.rejects(unpack(craftRpm(newc(tree([entry])))), (e: unknown) => isBpfCompileError(e, ErrorCode.ARCHIVE_UNSAFE));
    });
  }
  test('corrupt containers: no lead, truncated headers, truncated payload, unknown compressor', async () => {
    const good = craftRpm(newc(tree([])));
    await assert.rejects(unpack(Buffer.from('not an rpm at all, not even close to one of them, no lead here at all.....................................')), /no RPM lead/);
    await assert.rejects(unpack(good.subarray(0, 150)), (e: unknown) => isBpfCompileError(e, ErrorCode.ARCHIVE_CORRUPT));
    await assert.rejects(unpack(good.subarray(0, good.length - 20)), (e: unknown) => isBpfCompileError(e, ErrorCode.ARCHIVE_CORRUPT));
    await assert.rejects(unpack(craftRpm(newc(tree([])), { compressor: 'bzip2' })), /bzip2/);
  });
});
