/**
 * Kernel header trees: the include order, the validity check of a source/build pair, and directory lookups (also
 * under another root).
 */
import fs_ from 'node:fs';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import type { ArchInfo } from '../arch.js';
import { resolveUnderRoot, underRoot } from '../system/root.js';
import type { KernelTree } from './types.js';

/** Which tree a kernel include dir lives in. */
type TreeRole = 'source' | 'build';

/**
 * The kernel include order (BCC and bpftrace agree): arch headers, generic headers, then uapi, each from the
 * source tree before the build tree's generated counterpart. `{arch}` is the SRCARCH.
 */
export const KERNEL_INCLUDE_LAYOUT: ReadonlyArray<readonly [TreeRole, string]> = [
  ['source', 'arch/{arch}/include'],
  ['build', 'arch/{arch}/include/generated'],
  ['source', 'include'],
  ['build', 'include'],
  ['source', 'arch/{arch}/include/uapi'],
  ['build', 'arch/{arch}/include/generated/uapi'],
  ['source', 'include/uapi'],
  ['build', 'include/generated/uapi'],
];

/** The ordered `-I` dirs of a tree for an arch (duplicates dropped when source and build are one dir). */
export function kernelIncludeDirs(tree: KernelTree, arch: ArchInfo): string[] {
  const dirs: string[] = [];
  for (const [role, rel] of KERNEL_INCLUDE_LAYOUT) {
    const dir = path.join(role === 'source' ? tree.sourceDir : tree.buildDir, rel.replace('{arch}', arch.srcarch));
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  return dirs;
}

/** The `-include`d config header of a tree. */
export function kconfigHeader(tree: KernelTree): string {
  return path.join(tree.sourceDir, 'include/linux/kconfig.h');
}

/** Outcome of looking at a directory that should be a header tree. */
export type DirState = { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly reason: string };

/** Follow symlinks to a directory; say precisely why not when it is missing, dangling, looping or not a dir. */
export async function realDir(p: string): Promise<DirState> {
  // synchronous calls (as for every small probe of a tree): a warm resolve should not wait on thread-pool round trips
  try {
    const real = fs_.realpathSync(p);
    const st = fs_.statSync(real);
    if (!st.isDirectory()) return { ok: false, reason: `${p} is not a directory` };
    return { ok: true, dir: real };
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      let isLink = false;
      try {
        isLink = fs_.lstatSync(p).isSymbolicLink();
      } catch {
        // gone altogether
      }
      return { ok: false, reason: isLink ? `${p} is a dangling symlink` : `${p} does not exist` };
    }
    if (code === 'ELOOP') return { ok: false, reason: `${p} is a symlink loop` };
    if (code === 'EACCES') return { ok: false, reason: `${p} is not readable (permission denied)` };
    return { ok: false, reason: `${p}: ${code ?? String(err)}` };
  }
}

/**
 * Like {@link realDir} for a path of the target system under `root`: every symlink on the way is resolved against
 * the root (an absolute link in a fake or mounted root never reaches the host's file system).
 */
export function realDirUnderRoot(root: string, systemPath: string): DirState {
  const shown = underRoot(root, systemPath);
  const r = resolveUnderRoot(root, systemPath);
  if (!r.ok) {
    if (r.code === 'ENOENT') {
      let link: string | undefined;
      try {
        link = fs_.lstatSync(shown).isSymbolicLink() ? fs_.readlinkSync(shown) : undefined;
      } catch {
        link = undefined;
      }
      return { ok: false, reason: link === undefined ? `${shown} does not exist` : `${shown} is a dangling symlink (-> ${link}: ${r.reason})` };
    }
    if (r.code === 'ELOOP') return { ok: false, reason: `${shown} is a symlink loop` };
    return { ok: false, reason: `${shown}: ${r.reason}` };
  }
  try {
    if (!fs_.statSync(r.path).isDirectory()) return { ok: false, reason: `${shown} is not a directory` };
  } catch (err) {
    return { ok: false, reason: `${shown}: ${errnoCode(err) ?? String(err)}` };
  }
  return { ok: true, dir: r.path };
}

/** Is `p` a regular file (following links)? Synchronous, like every small probe of a tree. */
export function isFile(p: string): boolean {
  try {
    return fs_.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The files a pair must hold between them to count as a kernel header tree. */
const REQUIRED = {
  kconfig: 'include/linux/kconfig.h',
  autoconf: 'include/generated/autoconf.h',
} as const;

/**
 * Decide which of two candidate dirs is the source tree and which the build tree, and check that together they
 * hold a usable tree for `arch`: `include/linux/kconfig.h`, `include/generated/autoconf.h` and
 * `arch/<srcarch>/include`. Empty leftover dirs (a bare `include/uapi`, bcc #4213) fail here.
 *
 * @param a - first candidate (the one named "source", or the only one)
 * @param b - second candidate (the one named "build"); may equal `a`
 */
export async function validateTreePair(a: string, b: string, arch: ArchInfo): Promise<{ ok: true; tree: KernelTree } | { ok: false; reason: string }> {
  const candidates = a === b ? [a] : [a, b];
  const has = (rel: string): string | undefined => candidates.find((dir) => isFile(path.join(dir, rel)));
  const kconfigIn = has(REQUIRED.kconfig);
  const autoconfIn = has(REQUIRED.autoconf);
  const missing = [...(kconfigIn === undefined ? [REQUIRED.kconfig] : []), ...(autoconfIn === undefined ? [REQUIRED.autoconf] : [])];
  if (kconfigIn === undefined || autoconfIn === undefined) {
    return { ok: false, reason: `no ${missing.join(' or ')} in ${candidates.join(' or ')}` };
  }
  const tree: KernelTree = { sourceDir: kconfigIn, buildDir: autoconfIn };
  const archDir = path.join(tree.sourceDir, 'arch', arch.srcarch, 'include');
  const archState = await realDir(archDir);
  if (!archState.ok) return { ok: false, reason: `tree has no headers for arch ${arch.srcarch} (${archState.reason})` };
  return { ok: true, tree };
}

/**
 * The installed tree of `release` on the system rooted at `root`: `/lib/modules/<release>/build` and `…/source`,
 * links resolved against the root, either one alone serving as both, validated for `arch`.
 */
export async function modulesTreeUnder(root: string, release: string, arch: ArchInfo): Promise<{ ok: true; tree: KernelTree } | { ok: false; reason: string }> {
  const dir = path.posix.join('/lib/modules', release);
  const build = realDirUnderRoot(root, `${dir}/build`);
  const source = realDirUnderRoot(root, `${dir}/source`);
  const present = [source, build].flatMap((s) => (s.ok ? [s.dir] : []));
  if (present.length === 0) return { ok: false, reason: `${build.ok ? '' : build.reason}; ${source.ok ? '' : source.reason}` };
  return validateTreePair(present[0] as string, present[present.length - 1] as string, arch);
}
