/**
 * Real rpm-md repositories for tests, made with the distributions' own tools as Debian packages them: packages with
 * `rpmbuild`, signatures with `rpmsign` (gpg, a throwaway key in a private GNUPGHOME), metadata with `createrepo_c`,
 * `repomd.xml.asc` with `gpg`. Kernel-devel packages are made from the real Debian headers tree, laid out the way
 * each distribution lays its out (see {@link fedoraTree}, {@link suseTrees}). Served by `mirror-server.ts` on loopback.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';
import fs from 'node:fs';
import path from 'node:path';
import { makeKey, type TestKey } from './apt-repo.js';

/** Why these tests cannot run here, or undefined. */
export function rpmToolsSkipReason(): string | undefined {
  for (const [tool, pkg, arg] of [
    ['rpmbuild', 'rpm', '--version'],
    ['rpmsign', 'rpm', '--version'],
    ['createrepo_c', 'createrepo-c', '--version'],
    ['gpg', 'gnupg', '--version'],
    ['zstd', 'zstd', '--version'],
    ['xz', 'xz-utils', '--version'],
  ] as const) {
    if (spawnSync(tool, [arg], { stdio: 'ignore' }).status !== 0) return `${tool} is not installed (apt-get install ${pkg})`;
  }
  return undefined;
}

/** A throwaway RSA signing key (what Fedora, RHEL and SUSE sign with) under `dir`. */
export function makeRsaKey(dir: string, name: string): TestKey {
  return makeKey(dir, name, 'rsa2048');
}

/** An extra entry of a package (hostile ones included). */
export type RpmExtra =
  { readonly symlink: string; readonly target: string } | { readonly device: string; readonly kind: 'c' | 'b'; readonly major: number; readonly minor: number };

/** A package to build. */
export interface RpmSpec {
  readonly name: string;
  readonly version: string;
  readonly release: string;
  /** `x86_64`, `noarch`, … */
  readonly arch: string;
  /** Directories to put in: each `from` (a directory, copied with links kept) lands at `to` (a system path). */
  readonly copy: readonly { readonly from: string; readonly to: string }[];
  readonly extras?: readonly RpmExtra[];
  readonly payload: 'zstd' | 'xz' | 'gzip';
}

const PAYLOAD: Record<RpmSpec['payload'], string> = { zstd: 'w3.zstdio', xz: 'w2.xzdio', gzip: 'w6.gzdio' };

/** Build `spec` into `outDir` with rpmbuild; returns the .rpm path. */
export function buildRpm(spec: RpmSpec, outDir: string): string {
  const top = fs.mkdtempSync(path.join(outDir, `.rpmbuild-${spec.name}-`));
  try {
    const stage = path.join(top, 'stage');
    fs.mkdirSync(stage);
    for (const c of spec.copy) {
      const dest = path.join(stage, c.to);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      execFileSync('cp', ['-a', c.from, dest]);
    }
    const files: string[] = spec.copy.map((c) => c.to);
    for (const e of spec.extras ?? []) {
      if ('symlink' in e) {
        fs.mkdirSync(path.dirname(path.join(stage, e.symlink)), { recursive: true });
        fs.symlinkSync(e.target, path.join(stage, e.symlink));
        files.push(e.symlink);
      } else {
        files.push(`%dev(${e.kind},${e.major},${e.minor}) ${e.device}`);
      }
    }
    const specFile = path.join(top, `${spec.name}.spec`);
    fs.writeFileSync(
      specFile,
      [
        `Name: ${spec.name}`,
        `Version: ${spec.version}`,
        `Release: ${spec.release}`,
        'Summary: bpf-compile test package',
        'License: GPL-2.0-only',
        `BuildArch: ${spec.arch}`,
        'AutoReqProv: no',
        '%description',
        'A kernel headers package for tests.',
        '%install',
        `cp -a ${stage}/. %{buildroot}/`,
        '%files',
        ...files,
        '',
      ].join('\n'),
    );
    execFileSync(
      'rpmbuild',
      [
        '-bb',
        '--quiet',
        '--define',
        `_topdir ${top}/top`,
        '--define',
        `_binary_payload ${PAYLOAD[spec.payload]}`,
        '--define',
        '__os_install_post %{nil}',
        '--define',
        '_build_id_links none',
        '--define',
        'debug_package %{nil}',
        '--target',
        spec.arch,
        specFile,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    const built = path.join(top, 'top/RPMS', spec.arch, `${spec.name}-${spec.version}-${spec.release}.${spec.arch}.rpm`);
    const out = path.join(outDir, path.basename(built));
    fs.renameSync(built, out);
    return out;
  } finally {
    fs.rmSync(top, { recursive: true, force: true });
  }
}

/** Sign a package in place with `rpmsign` (header signature, as rpm ≥ 4.16 writes). */
export function signRpm(file: string, key: TestKey): void {
  execFileSync(
    'rpmsign',
    [
      '--define',
      `__gpg ${execFileSync('sh', ['-c', 'command -v gpg'], { encoding: 'utf8' }).trim()}`,
      '--define',
      `_gpg_name ${key.fingerprint}`,
      '--define',
      "_gpg_sign_cmd_extra_args --batch --pinentry-mode loopback --passphrase ''",
      '--addsign',
      file,
    ],
    { env: { ...process.env, GNUPGHOME: key.home }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

/**
 * Make `repodata/` for the packages in `dir` with createrepo_c; optionally sign repomd.xml. Debian's createrepo_c
 * (0.17) writes gz or xz indexes; `zstd` (what createrepo_c ≥ 1.0 and Fedora ≥ 41 write) is made from its gz primary
 * with the `zstd` program, and repomd.xml's entry rewritten to match.
 */
export function createRepo(dir: string, o: { readonly compress: 'zstd' | 'xz' | 'gz'; readonly signWith?: TestKey }): void {
  const compress = o.compress === 'zstd' ? 'gz' : o.compress;
  execFileSync('createrepo_c', ['--quiet', '--no-database', `--general-compress-type=${compress}`, '--checksum=sha256', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (o.compress === 'zstd') zstdPrimary(dir);
  if (o.signWith !== undefined) signRepomd(dir, o.signWith);
}

function sha256File(p: string): string {
  return createHash('sha256').update(fs.readFileSync(p)).digest('hex');
}

/** Replace the gz primary by a zstd one, as createrepo_c ≥ 1.0 writes it. */
function zstdPrimary(dir: string): void {
  const repomdPath = path.join(dir, 'repodata/repomd.xml');
  let repomd = fs.readFileSync(repomdPath, 'utf8');
  const block = /<data type="primary">[\s\S]*?<\/data>/.exec(repomd)?.[0];
  const href = block === undefined ? undefined : /<location href="([^"]+)"/.exec(block)?.[1];
  if (block === undefined || href === undefined) throw new Error('createrepo_c wrote no primary');
  const gz = path.join(dir, href);
  const xml = zlib.gunzipSync(fs.readFileSync(gz));
  const zstPath = gz.replace(/\.gz$/, '.zst');
  fs.writeFileSync(zstPath, execFileSync('zstd', ['-q', '-c', '-19'], { input: xml, maxBuffer: 1 << 30 }));
  fs.rmSync(gz);
  const sha = sha256File(zstPath);
  const renamed = path.join(path.dirname(zstPath), `${sha}-primary.xml.zst`);
  fs.renameSync(zstPath, renamed);
  const updated = block
    .replace(/<checksum type="sha256">[0-9a-f]+<\/checksum>/, `<checksum type="sha256">${sha}</checksum>`)
    .replace(/<location href="[^"]+"/, `<location href="repodata/${path.basename(renamed)}"`)
    .replace(/<size>\d+<\/size>/, `<size>${fs.statSync(renamed).size}</size>`);
  repomd = repomd.replace(block, updated);
  fs.writeFileSync(repomdPath, repomd);
}

/** Write `repodata/repomd.xml.asc` (detached, armored), as `repo_gpgcheck` repositories carry. */
export function signRepomd(dir: string, key: TestKey): void {
  const repomd = path.join(dir, 'repodata/repomd.xml');
  fs.rmSync(`${repomd}.asc`, { force: true });
  execFileSync('gpg', ['--batch', '--yes', '--armor', '--local-user', key.fingerprint, '--detach-sign', '--output', `${repomd}.asc`, repomd], {
    env: { ...process.env, GNUPGHOME: key.home },
    stdio: 'ignore',
  });
}

/** The real Debian headers of the installed 6.1 kernel: the flavour dir and the common dir, or undefined. */
export function debianHeaders(): { flavour: string; common: string; release: string } | undefined {
  let names: string[];
  try {
    names = fs.readdirSync('/usr/src');
  } catch {
    return undefined;
  }
  const flavour = names.find((n) => /^linux-headers-\d+\.\d+\.\d+-\d+-amd64$/.test(n));
  if (flavour === undefined) return undefined;
  const release = flavour.slice('linux-headers-'.length);
  const common = flavour.replace(/-amd64$/, '-common');
  if (!names.includes(common)) return undefined;
  return { flavour: path.join('/usr/src', flavour), common: path.join('/usr/src', common), release };
}

/** Set the release a tree says it is (`utsrelease.h`, `include/config/kernel.release`). */
function rename(tree: string, release: string): void {
  fs.writeFileSync(path.join(tree, 'include/generated/utsrelease.h'), `#define UTS_RELEASE "${release}"\n`);
  const kr = path.join(tree, 'include/config/kernel.release');
  if (fs.existsSync(kr)) fs.writeFileSync(kr, `${release}\n`);
}

/** Remove Debian's `scripts`/`tools` links into linux-kbuild (not part of these packages). */
function dropKbuildLinks(tree: string): void {
  for (const l of ['scripts', 'tools']) if (fs.lstatSync(path.join(tree, l), { throwIfNoEntry: false })?.isSymbolicLink() === true) fs.rmSync(path.join(tree, l));
}

/** Copy a tree, keeping only `arch/x86` of its `arch/` (as an arch package ships), without the links into linux-kbuild. */
function copyTree(from: string, to: string, onlyX86: boolean): void {
  execFileSync('cp', ['-a', `${from}/.`, to]);
  dropKbuildLinks(to);
  if (onlyX86 && fs.existsSync(path.join(to, 'arch'))) {
    for (const a of fs.readdirSync(path.join(to, 'arch')))
      if (a !== 'x86' && fs.statSync(path.join(to, 'arch', a)).isDirectory()) fs.rmSync(path.join(to, 'arch', a), { recursive: true });
  }
}

/**
 * A Red Hat-family kernel-devel tree (`/usr/src/kernels/<release>`: one tree, source = build) made from the Debian
 * headers: the common tree with the flavour's generated files over it, renamed to `release`. Returns its directory.
 */
export function fedoraTree(deb: { flavour: string; common: string }, release: string, workDir: string): string {
  const tree = path.join(workDir, `fedora-${release}`);
  fs.mkdirSync(tree, { recursive: true });
  copyTree(deb.common, tree, true);
  // the flavour dir's files (its .config, generated headers, Module.symvers) over the common tree; its Makefile is a
  // wrapper that includes the common one, which here is the tree itself
  const makefile = fs.readFileSync(path.join(tree, 'Makefile'));
  execFileSync('cp', ['-a', '--remove-destination', `${deb.flavour}/.`, tree]);
  fs.writeFileSync(path.join(tree, 'Makefile'), makefile);
  dropKbuildLinks(tree);
  rename(tree, release);
  return tree;
}

/**
 * SUSE's split trees from the Debian headers: the source tree (`/usr/src/linux-<v>-<r>`, all of the common tree's
 * arches, as SUSE's noarch kernel-devel ships) and the build tree (`/usr/src/linux-<v>-<r>-obj/<arch>/<flavour>`,
 * the flavour dir), renamed to `release`.
 */
export function suseTrees(deb: { flavour: string; common: string }, release: string, workDir: string): { source: string; obj: string } {
  const source = path.join(workDir, `suse-src-${release}`);
  const obj = path.join(workDir, `suse-obj-${release}`);
  fs.mkdirSync(source, { recursive: true });
  fs.mkdirSync(obj, { recursive: true });
  copyTree(deb.common, source, false);
  copyTree(deb.flavour, obj, false);
  rename(obj, release);
  return { source, obj };
}

/** Where an RPM's payload starts (after the lead, the padded signature header and the main header). */
export function rpmPayloadOffset(bytes: Buffer): number {
  const headerEnd = (at: number): number => at + 16 + bytes.readUInt32BE(at + 8) * 16 + bytes.readUInt32BE(at + 12);
  const sigEnd = headerEnd(96);
  return headerEnd(sigEnd + ((8 - ((sigEnd - 96) % 8)) % 8));
}

/**
 * Alter one byte of a file's content inside a zstd payload, keeping the payload a valid zstd cpio stream (what a
 * malicious mirror would serve): only the signed PAYLOADDIGEST can tell. `marker` must occur in the payload.
 */
export function tamperZstdPayload(file: string, marker: string, replacement: string): void {
  if (marker.length !== replacement.length) throw new Error('same length, so the cpio stays valid');
  const bytes = fs.readFileSync(file);
  const at = rpmPayloadOffset(bytes);
  const cpio = execFileSync('zstd', ['-d', '-q', '-c'], { input: bytes.subarray(at), maxBuffer: 1 << 30 });
  const i = cpio.indexOf(marker);
  if (i < 0) throw new Error(`${marker} is not in the payload`);
  cpio.write(replacement, i, 'latin1');
  fs.writeFileSync(file, Buffer.concat([bytes.subarray(0, at), execFileSync('zstd', ['-q', '-c', '-3'], { input: cpio, maxBuffer: 1 << 30 })]));
}
