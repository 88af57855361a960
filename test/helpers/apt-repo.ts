/**
 * Real apt repositories for tests, made with Debian's own tools: packages with `dpkg-deb`, indexes with
 * `apt-ftparchive`, signatures with `gpg` (a throwaway ed25519 key in a private GNUPGHOME). Served by
 * `mirror-server.ts` on loopback.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** Why these tests cannot run here, or undefined. */
export function aptToolsSkipReason(): string | undefined {
  for (const [tool, pkg] of [
    ['dpkg-deb', 'dpkg'],
    ['apt-ftparchive', 'apt-utils'],
    ['gpg', 'gnupg'],
    ['zstd', 'zstd'],
    ['xz', 'xz-utils'],
    ['ar', 'binutils'],
  ] as const) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).status !== 0) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  return undefined;
}

/** A signing key. */
export interface TestKey {
  readonly home: string;
  readonly fingerprint: string;
  /** Binary keyring (`.gpg`) with the public key. */
  readonly keyring: string;
  /** The armored public key. */
  readonly armored: string;
}

/** Make a throwaway signing key under `dir` (ed25519 by default; `rsa2048` as Fedora, RHEL and SUSE sign with). */
export function makeKey(dir: string, name: string, algo: 'ed25519' | 'rsa2048' = 'ed25519'): TestKey {
  const home = path.join(dir, `gnupg-${name}`);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const env = { ...process.env, GNUPGHOME: home };
  execFileSync('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', `bpf-compile test ${name} <${name}@test.invalid>`, algo, 'sign', 'never'], { env, stdio: 'ignore' });
  const out = execFileSync('gpg', ['--batch', '--with-colons', '--list-keys'], { env, encoding: 'utf8' });
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(out)?.[1] as string;
  const keyring = path.join(dir, `${name}.gpg`);
  fs.writeFileSync(keyring, execFileSync('gpg', ['--batch', '--export', fingerprint], { env }));
  const armored = execFileSync('gpg', ['--batch', '--armor', '--export', fingerprint], { env, encoding: 'utf8' });
  return { home, fingerprint, keyring, armored };
}

/** One file or link of a package, relative to its root (`usr/src/…`). */
export type PackageFile = { readonly path: string; readonly content: string | Buffer } | { readonly path: string; readonly symlink: string };

/** A package to build. */
export interface PackageSpec {
  readonly name: string;
  readonly version: string;
  readonly arch: string;
  readonly depends?: string;
  readonly source?: string;
  /** Files to put in, and/or a directory to copy under `copy.to` (symlinks kept). */
  readonly files?: readonly PackageFile[];
  readonly copy?: readonly { readonly from: string; readonly to: string; readonly only?: readonly string[] }[];
  readonly compression?: 'xz' | 'zstd' | 'gzip';
}

/** Build `spec` into `outDir` with dpkg-deb; returns the .deb path. */
export function buildDeb(spec: PackageSpec, outDir: string): string {
  const stage = fs.mkdtempSync(path.join(outDir, `.stage-${spec.name}-`));
  try {
    fs.mkdirSync(path.join(stage, 'DEBIAN'));
    fs.writeFileSync(
      path.join(stage, 'DEBIAN/control'),
      [
        `Package: ${spec.name}`,
        `Version: ${spec.version}`,
        `Architecture: ${spec.arch}`,
        'Maintainer: bpf-compile tests <tests@test.invalid>',
        ...(spec.source === undefined ? [] : [`Source: ${spec.source}`]),
        ...(spec.depends === undefined ? [] : [`Depends: ${spec.depends}`]),
        'Section: kernel',
        'Priority: optional',
        `Description: test package ${spec.name}`,
        '',
      ].join('\n'),
    );
    for (const c of spec.copy ?? []) {
      const to = path.join(stage, c.to);
      fs.mkdirSync(to, { recursive: true });
      for (const name of c.only ?? fs.readdirSync(c.from)) {
        const src = path.join(c.from, name);
        if (!fs.existsSync(src)) continue;
        fs.mkdirSync(path.dirname(path.join(to, name)), { recursive: true });
        execFileSync('cp', ['-a', src, path.join(to, name)]);
      }
    }
    for (const f of spec.files ?? []) {
      const p = path.join(stage, f.path);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      if ('symlink' in f) fs.symlinkSync(f.symlink, p);
      else fs.writeFileSync(p, f.content);
    }
    const deb = path.join(outDir, `${spec.name}_${spec.version}_${spec.arch}.deb`);
    const z = spec.compression ?? 'xz';
    execFileSync('dpkg-deb', ['--root-owner-group', `-Z${z}`, ...(z === 'zstd' ? ['-z3'] : ['-z1']), '--build', stage, deb], { stdio: 'ignore' });
    return deb;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** Options of {@link buildRepo}. */
export interface RepoSpec {
  /** Served directory (the repository URI points here). */
  readonly dir: string;
  readonly suite: string;
  readonly component: string;
  /** The `binary-<arch>` indexes to write (arch:all packages are listed in each, as Debian does). */
  readonly archs: readonly string[];
  readonly debs: readonly string[];
  readonly key: TestKey;
  /** `Valid-Until` (RFC 1123). */
  readonly validUntil?: Date;
  /** Write `Release` + `Release.gpg` only (no InRelease). */
  readonly detachedOnly?: boolean;
}

/** Lay out `pool/`, `dists/<suite>/…/Packages{,.xz}`, and a signed Release. */
export function buildRepo(spec: RepoSpec): void {
  const pool = path.join(spec.dir, 'pool', spec.component);
  fs.mkdirSync(pool, { recursive: true });
  for (const deb of spec.debs) fs.copyFileSync(deb, path.join(pool, path.basename(deb)));
  const dists = path.join(spec.dir, 'dists', spec.suite);
  for (const arch of spec.archs) {
    const bin = path.join(dists, spec.component, `binary-${arch}`);
    fs.mkdirSync(bin, { recursive: true });
    const packages = execFileSync('apt-ftparchive', ['--arch', arch, 'packages', `pool/${spec.component}`], { cwd: spec.dir, encoding: 'utf8' });
    fs.writeFileSync(path.join(bin, 'Packages'), packages);
    execFileSync('xz', ['-k', '-f', '-1', path.join(bin, 'Packages')]);
  }
  const opts = [
    '-o',
    `APT::FTPArchive::Release::Suite=${spec.suite}`,
    '-o',
    `APT::FTPArchive::Release::Codename=${spec.suite}`,
    '-o',
    `APT::FTPArchive::Release::Architectures=${spec.archs.join(' ')}`,
    '-o',
    `APT::FTPArchive::Release::Components=${spec.component}`,
  ];
  let release = execFileSync('apt-ftparchive', [...opts, 'release', '.'], { cwd: dists, encoding: 'utf8' });
  // apt-ftparchive has no option for Valid-Until: add it after Date, as the archive's own tools write it
  if (spec.validUntil !== undefined) release = release.replace(/^(Date: .*)$/m, `$1\nValid-Until: ${spec.validUntil.toUTCString().replace('GMT', 'UTC')}`);
  signRelease(dists, release, spec.key, spec.detachedOnly === true);
}

/** Write `Release`, `Release.gpg` and (unless detached only) `InRelease` for `text`, signed with `key`. */
export function signRelease(dists: string, text: string, key: TestKey, detachedOnly = false): void {
  const env = { ...process.env, GNUPGHOME: key.home };
  const rel = path.join(dists, 'Release');
  fs.writeFileSync(rel, text);
  fs.rmSync(`${rel}.gpg`, { force: true });
  fs.rmSync(path.join(dists, 'InRelease'), { force: true });
  execFileSync('gpg', ['--batch', '--yes', '--local-user', key.fingerprint, '--armor', '--detach-sign', '--output', `${rel}.gpg`, rel], { env, stdio: 'ignore' });
  if (!detachedOnly)
    execFileSync('gpg', ['--batch', '--yes', '--local-user', key.fingerprint, '--clearsign', '--output', path.join(dists, 'InRelease'), rel], { env, stdio: 'ignore' });
}

/** A fake root that uses the given apt sources (one-line form) and nothing else. */
export function aptRoot(
  root: string,
  o: { sources: string; osRelease?: string; aptConf?: string; proc?: Readonly<Record<string, string>>; keyrings?: Readonly<Record<string, string | Buffer>> },
): void {
  fs.mkdirSync(path.join(root, 'etc/apt/sources.list.d'), { recursive: true });
  fs.mkdirSync(path.join(root, 'etc/apt/apt.conf.d'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/apt/sources.list'), o.sources);
  fs.writeFileSync(path.join(root, 'etc/os-release'), o.osRelease ?? 'ID=debian\nVERSION_ID="12"\n');
  if (o.aptConf !== undefined) fs.writeFileSync(path.join(root, 'etc/apt/apt.conf.d/90test'), o.aptConf);
  for (const [name, text] of Object.entries(o.proc ?? {})) {
    fs.mkdirSync(path.join(root, 'proc'), { recursive: true });
    fs.writeFileSync(path.join(root, 'proc', name), text);
  }
  for (const [p, bytes] of Object.entries(o.keyrings ?? {})) {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), bytes);
  }
}

/** Write an `ar` archive as dpkg-deb does (names without GNU's trailing slash, mode 100644, uid/gid 0). */
export function writeAr(file: string, members: readonly { readonly name: string; readonly data: Buffer }[]): void {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const m of members) {
    const h = `${m.name.padEnd(16)}${'0'.padEnd(12)}${'0'.padEnd(6)}${'0'.padEnd(6)}${'100644'.padEnd(8)}${String(m.data.byteLength).padEnd(10)}\`\n`;
    parts.push(Buffer.from(h, 'latin1'), m.data);
    if (m.data.byteLength % 2 === 1) parts.push(Buffer.from('\n'));
  }
  fs.writeFileSync(file, Buffer.concat(parts));
}

/** A copy of `deb` with its data member replaced by `data` (named `data.tar.xz`): for hostile-payload tests. */
export function replaceDebData(deb: string, data: Buffer, out: string): void {
  const dir = fs.mkdtempSync(path.join(path.dirname(out), '.ar-'));
  try {
    execFileSync('ar', ['x', deb], { cwd: dir });
    const control = fs.readdirSync(dir).find((n) => n.startsWith('control.tar')) as string;
    writeAr(out, [
      { name: 'debian-binary', data: fs.readFileSync(path.join(dir, 'debian-binary')) },
      { name: control, data: fs.readFileSync(path.join(dir, control)) },
      { name: 'data.tar.xz', data },
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
