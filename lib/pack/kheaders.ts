/**
 * `packKheaders`: build a kernel headers archive in the layout of the in-kernel one (`kernel/gen_kheaders.sh`,
 * `/sys/kernel/kheaders.tar.xz`) from a source/build tree pair, reproducibly: the same trees always pack to the same
 * bytes (with the same xz back end, see `xz-encoder.ts`).
 *
 * Layout: `./`, then depth-first in byte order of names (GNU `tar --sort=name`) the directories holding headers and
 * every `*.h` under `include/` and `arch/<a>/include/`, block comments stripped except SPDX ones; uid/gid 0, no
 * user/group names, modes 0755 (dirs) / 0644 (files), one fixed mtime (`SOURCE_DATE_EPOCH`, else 0).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { stripComments } from './strip-comments.js';
import { defaultMtime, writeTarXz, type TarMember } from './tar-xz.js';
import { classifyHeaders, listHeaders, type HeaderItem } from './tree.js';
import type { XzEncoderChoice } from './xz-encoder.js';

/** Progress of a pack: headers written so far of `total`. */
export interface PackProgress {
  readonly what: string;
  readonly done: number;
  readonly total: number;
}

/** Options of {@link packKheaders}. */
export interface PackKheadersOptions {
  /** Kernel source tree (`include/linux`, `arch/<a>/include`). */
  readonly sourceDir: string;
  /** Kernel build tree (`include/generated`); may equal `sourceDir`. */
  readonly buildDir: string;
  /** Kernel SRCARCH (`x86`, `arm64`, …). */
  readonly srcarch: string;
  /** The `.tar.xz` to write (atomically). */
  readonly outFile: string;
  /** Called as headers are written. */
  readonly onProgress?: (p: PackProgress) => void;
  /** mtime stamped on every member (seconds). Default: `SOURCE_DATE_EPOCH`, else 0. */
  readonly mtime?: number;
  /** xz back end. Default `auto` (system `xz`, else lzma-native). */
  readonly encoder?: XzEncoderChoice;
}

/** What {@link packKheaders} wrote. */
export interface PackKheadersResult {
  /** Absolute path of the archive. */
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  /** Headers packed (regular files plus symlinks). */
  readonly files: number;
  /** Of those, how many are symlinks (targets inside the archive). */
  readonly symlinks: number;
  /** `UTS_RELEASE` of the trees. */
  readonly release: string;
  /** Headers left out (dangling symlinks, special files), relative paths. */
  readonly skipped: readonly string[];
  /** xz back end used. */
  readonly encoder: 'xz' | 'lzma-native';
}

/** `UTS_RELEASE` from `include/generated/utsrelease.h` of the build tree (else the source tree), or undefined. */
export async function readUtsRelease(dirs: readonly string[]): Promise<string | undefined> {
  for (const dir of dirs) {
    const text = await fs.readFile(path.join(dir, 'include/generated/utsrelease.h'), 'latin1').catch(() => undefined);
    const m = text === undefined ? null : /#define\s+UTS_RELEASE\s+"([^"\n]+)"/.exec(text);
    if (m?.[1] !== undefined) return m[1];
  }
  return undefined;
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** Directory (relative, '' for the root) → its children's names, for every directory holding a header. */
function directoryTree(names: Iterable<string>): Map<string, Set<string>> {
  const dirs = new Map<string, Set<string>>([['', new Set()]]);
  for (const name of names) {
    let child = name;
    for (;;) {
      const slash = child.lastIndexOf('/');
      const parent = slash === -1 ? '' : child.slice(0, slash);
      const existed = dirs.has(parent);
      const set = dirs.get(parent) ?? new Set<string>();
      set.add(slash === -1 ? child : child.slice(slash + 1));
      dirs.set(parent, set);
      if (existed || parent === '') break;
      child = parent;
    }
  }
  return dirs;
}

/** A header's text as latin1 (bytes round-trip). @throws BpfCompileError `INPUT_UNREADABLE`. */
async function readHeader(abs: string): Promise<string> {
  try {
    return await fs.readFile(abs, 'latin1');
  } catch (err) {
    throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot read ${abs}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Members in GNU `tar --sort=name` order: `./`, then each directory's children in byte order, depth first. */
async function* members(items: ReadonlyMap<string, HeaderItem>, onDone: () => void): AsyncGenerator<TarMember> {
  const dirs = directoryTree(items.keys());
  async function* visit(dir: string): AsyncGenerator<TarMember> {
    yield { type: 'directory', name: dir === '' ? './' : `./${dir}/` };
    for (const child of [...(dirs.get(dir) ?? [])].sort(byteOrder)) {
      const rel = dir === '' ? child : `${dir}/${child}`;
      if (dirs.has(rel)) {
        yield* visit(rel);
        continue;
      }
      const item = items.get(rel);
      if (item === undefined) continue;
      if (item.kind === 'symlink') yield { type: 'symlink', name: `./${rel}`, target: item.target };
      else yield { type: 'file', name: `./${rel}`, data: Buffer.from(stripComments(await readHeader(item.abs)), 'latin1') };
      onDone();
    }
  }
  yield* visit('');
}

/**
 * Pack the headers of a kernel source/build tree pair into a kheaders-layout `.tar.xz`, atomically.
 * @throws BpfCompileError `HEADERS_NOT_FOUND` when the trees hold no headers or no `UTS_RELEASE`; `INPUT_UNREADABLE`
 *   when the output cannot be written.
 */
export async function packKheaders(options: PackKheadersOptions): Promise<PackKheadersResult> {
  const { sourceDir, buildDir, srcarch } = options;
  const release = await readUtsRelease(buildDir === sourceDir ? [buildDir] : [buildDir, sourceDir]);
  if (release === undefined) {
    throw new BpfCompileError(ErrorCode.HEADERS_NOT_FOUND, `no UTS_RELEASE in include/generated/utsrelease.h of ${buildDir}`, {
      hint: 'pack a configured and prepared kernel tree (make prepare), or a distro headers package',
    });
  }
  const { items, skipped } = await classifyHeaders(await listHeaders(sourceDir, buildDir, srcarch));
  if (!items.has('include/linux/kconfig.h')) {
    throw new BpfCompileError(ErrorCode.HEADERS_NOT_FOUND, `no include/linux/kconfig.h under ${sourceDir} or ${buildDir}`, {
      hint: '--source must be the kernel source tree (with include/linux), --build the build tree (with include/generated)',
      details: { sourceDir, buildDir, headers: items.size },
    });
  }
  const total = items.size;
  let done = 0;
  const what = `packing ${total} headers of ${release}`;
  const file = path.resolve(options.outFile);
  const written = await writeTarXz(
    file,
    members(items, () => options.onProgress?.({ what, done: ++done, total })),
    {
      mtime: options.mtime ?? defaultMtime(),
      ...(options.encoder === undefined ? {} : { encoder: options.encoder }),
    },
  );
  const symlinks = [...items.values()].filter((i) => i.kind === 'symlink').length;
  return { file, sha256: written.sha256, size: written.size, files: total, symlinks, release, skipped, encoder: written.encoder };
}
