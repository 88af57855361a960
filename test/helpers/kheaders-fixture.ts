/**
 * Test fixtures shaped like the kernel's in-kernel headers archive (`CONFIG_IKHEADERS`,
 * `/sys/kernel/kheaders.tar.xz`), built the way `kernel/gen_kheaders.sh` builds it:
 *
 * 1. every `*.h` under `include/` and `arch/<SRCARCH>/include/` of the source tree, then of the
 *    build (object) tree on top (build overrides source; symlinks are copied as symlinks, as
 *    `cpio -pd` does);
 * 2. every block comment stripped except the ones carrying an SPDX tag;
 * 3. `tar --owner=0 --group=0 --sort=name --numeric-owner --mode=u=rw,go=r,a+X -I xz -cf OUT -C DIR .`
 *    (GNU tar).
 *
 * On this Debian machine the source tree is `/usr/src/linux-headers-<rel>-common` and the build tree
 * `/usr/src/linux-headers-<rel>-<flavour>`. The built archive is cached (keyed by a hash of the input
 * listing) in a private per-user directory so the several test files of one run build it once.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostArch } from '../../lib/arch.js';

/** Bump when the fixture recipe changes so cached fixtures are rebuilt. */
const FIXTURE_RECIPE_VERSION = 2;

/** A pair of Debian-style header trees. */
export interface HeaderTrees {
  /** Source tree (`linux-headers-<rel>-common`). */
  readonly source: string;
  /** Build tree (`linux-headers-<rel>-<flavour>`), holding `include/generated`. */
  readonly build: string;
  /** `UTS_RELEASE` of the build tree. */
  readonly release: string;
  /** Kernel `SRCARCH` (`x86`, `arm64`, …). */
  readonly srcArch: string;
}

/** A built fixture archive. */
export interface KheadersFixture {
  /** Path of the `.tar.xz`. */
  readonly archive: string;
  /** The release it serves (`UTS_RELEASE`). */
  readonly release: string;
  /** Number of regular files in it. */
  readonly files: number;
  /** Number of symlinks in it. */
  readonly symlinks: number;
}

/** Read `UTS_RELEASE` from a tree's `include/generated/utsrelease.h`, or undefined. */
function releaseOf(tree: string): string | undefined {
  try {
    const text = fs.readFileSync(path.join(tree, 'include/generated/utsrelease.h'), 'utf8');
    return /#define\s+UTS_RELEASE\s+"([^"]+)"/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * Find installed Debian-style kernel header trees under `usrSrc` (default `/usr/src`), or
 * undefined when there are none (tests then skip with a reason).
 */
export function findDebianHeaderTrees(usrSrc = '/usr/src'): HeaderTrees | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(usrSrc).sort();
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!name.startsWith('linux-headers-') || name.endsWith('-common')) continue;
    const build = path.join(usrSrc, name);
    const release = releaseOf(build);
    if (release === undefined) continue;
    // linux-headers-6.1.0-56-amd64 → linux-headers-6.1.0-56-common
    const dash = name.lastIndexOf('-');
    const common = path.join(usrSrc, `${name.slice(0, dash)}-common`);
    const source = fs.existsSync(path.join(common, 'include/linux/kconfig.h')) ? common : build;
    return { source, build, release, srcArch: hostArch().srcarch };
  }
  return undefined;
}

/** Why the real-headers fixture cannot be built here, or undefined when it can. */
export function kheadersFixtureSkipReason(): string | undefined {
  if (findDebianHeaderTrees() === undefined) return 'no Debian kernel headers under /usr/src (apt install linux-headers-$(uname -r))';
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
    execFileSync('xz', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'GNU tar and xz are needed to build the kheaders fixture';
  }
  return undefined;
}

/**
 * Strip C block comments except those mentioning SPDX, as gen_kheaders.sh does. Unlike the
 * kernel's perl one-liner this is a small lexer: it does not start a comment inside a string or
 * character literal, or inside a `//` comment. Newlines of stripped comments are not kept (as
 * with the kernel's regex).
 */
export function stripComments(text: string): string {
  let out = '';
  let i = 0;
  let copyFrom = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x2f /* / */ && text.charCodeAt(i + 1) === 0x2a /* * */) {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? n : end + 2;
      const body = text.slice(i, stop);
      if (!body.includes('SPDX')) {
        out += text.slice(copyFrom, i);
        copyFrom = stop;
      }
      i = stop;
    } else if (c === 0x2f && text.charCodeAt(i + 1) === 0x2f) {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? n : nl;
    } else if (c === 0x22 /* " */ || c === 0x27 /* ' */) {
      // A literal ends at its closing quote or, unterminated (an apostrophe in #error text), at
      // the end of the line.
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i += 2;
        else if (d === c) {
          i++;
          break;
        } else if (d === 0x0a) break;
        else i++;
      }
    } else {
      i++;
    }
  }
  return out + text.slice(copyFrom);
}

function walkHeaders(root: string, rel: string, out: Map<string, string>): void {
  let dirents: fs.Dirent[];
  try {
    dirents = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const d of dirents) {
    const r = `${rel}/${d.name}`;
    if (d.isDirectory()) walkHeaders(root, r, out);
    else if ((d.isFile() || d.isSymbolicLink()) && d.name.endsWith('.h')) out.set(r, path.join(root, r));
  }
}

/** The merged header list (relative path → absolute input path), build tree overriding source. */
function headerList(trees: HeaderTrees): Map<string, string> {
  const merged = new Map<string, string>();
  for (const tree of [trees.source, trees.build]) {
    for (const top of ['include', `arch/${trees.srcArch}/include`]) walkHeaders(tree, top, merged);
  }
  return merged;
}

/** A private per-user directory for built fixtures (0700, ours, not a symlink). */
export function fixtureCacheDir(): string {
  const dir = process.env['BPF_COMPILE_FIXTURE_DIR'] ?? path.join(os.tmpdir(), `bpf-compile-test-fixtures-${process.getuid?.() ?? 0}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? st.uid) || (st.mode & 0o022) !== 0) {
    throw new Error(`fixture dir ${dir} is not a private directory of this user`);
  }
  return dir;
}

/** Populate `dir` the way gen_kheaders.sh does (copy, override, strip). */
export function stageKheadersTree(trees: HeaderTrees, dir: string): { files: number; symlinks: number } {
  let files = 0;
  let symlinks = 0;
  for (const [rel, abs] of headerList(trees)) {
    const dest = path.join(dir, rel);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const st = fs.lstatSync(abs);
    if (st.isSymbolicLink()) {
      fs.symlinkSync(fs.readlinkSync(abs), dest);
      symlinks++;
    } else {
      fs.writeFileSync(dest, stripComments(fs.readFileSync(abs, 'latin1')), 'latin1');
      files++;
    }
  }
  return { files, symlinks };
}

/** Run GNU tar with the kernel's flags over `dir` into `out`. */
export function tarLikeKernel(dir: string, out: string): void {
  execFileSync('tar', ['--owner=0', '--group=0', '--sort=name', '--numeric-owner', '--mode=u=rw,go=r,a+X', '-I', 'xz', '-cf', out, '-C', dir, '.']);
}

/**
 * Build (or reuse) the gen_kheaders-style archive of the installed Debian headers. Throws when
 * they are absent; check {@link kheadersFixtureSkipReason} first.
 */
export function buildKheadersFixture(trees: HeaderTrees | undefined = findDebianHeaderTrees()): KheadersFixture {
  if (trees === undefined) throw new Error('no Debian kernel headers installed');
  const list = headerList(trees);
  const h = createHash('sha256').update(`recipe ${FIXTURE_RECIPE_VERSION}\n`);
  for (const [rel, abs] of [...list].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const st = fs.lstatSync(abs);
    h.update(`${rel}\0${abs}\0${st.size}\0${st.mtimeMs}\n`);
  }
  const key = h.digest('hex').slice(0, 24);
  const cacheDir = fixtureCacheDir();
  const archive = path.join(cacheDir, `kheaders-${trees.release}-${key}.tar.xz`);
  const metaPath = `${archive}.json`;
  if (fs.existsSync(archive) && fs.existsSync(metaPath)) {
    const meta = JSON.parse(fs.readFileSync(metaPath, 'utf8')) as { files: number; symlinks: number };
    return { archive, release: trees.release, files: meta.files, symlinks: meta.symlinks };
  }
  const stage = fs.mkdtempSync(path.join(cacheDir, 'stage-'));
  try {
    const counts = stageKheadersTree(trees, stage);
    const tmp = `${archive}.${process.pid}.tmp`;
    tarLikeKernel(stage, tmp);
    fs.writeFileSync(metaPath, JSON.stringify(counts));
    fs.renameSync(tmp, archive);
    return { archive, release: trees.release, ...counts };
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

/** One entry of a small synthetic archive. */
export type SyntheticEntry =
  | { readonly type: 'file'; readonly name: string; readonly content: string | Buffer }
  | { readonly type: 'dir'; readonly name: string }
  | { readonly type: 'symlink'; readonly name: string; readonly target: string };

/**
 * Build a small, well-formed `.tar.xz` with GNU tar from a list of entries (written to a staging
 * dir, then archived with the kernel's flags). Default entries make a minimal kheaders-like tree
 * serving `release`.
 */
export function buildSyntheticArchive(out: string, options: { release?: string; entries?: readonly SyntheticEntry[] } = {}): string {
  const release = options.release ?? '6.1.0-test';
  const entries: readonly SyntheticEntry[] = options.entries ?? [
    { type: 'file', name: 'include/generated/utsrelease.h', content: `#define UTS_RELEASE "${release}"\n` },
    { type: 'file', name: 'include/linux/kconfig.h', content: '#ifndef _KCONFIG_H\n#define _KCONFIG_H\n#endif\n' },
    { type: 'file', name: 'include/linux/types.h', content: 'typedef int s32;\n' },
    { type: 'symlink', name: 'include/linux/alias.h', target: 'types.h' },
    { type: 'file', name: 'arch/x86/include/asm/ptrace.h', content: 'struct pt_regs { long ax; };\n' },
  ];
  const stage = fs.mkdtempSync(path.join(fixtureCacheDir(), 'synthetic-'));
  try {
    for (const e of entries) {
      const dest = path.join(stage, e.name);
      if (e.type === 'dir') {
        fs.mkdirSync(dest, { recursive: true });
        continue;
      }
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (e.type === 'file') fs.writeFileSync(dest, e.content);
      else fs.symlinkSync(e.target, dest);
    }
    tarLikeKernel(stage, out);
    return out;
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}
