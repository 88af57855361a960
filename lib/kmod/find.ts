/**
 * Finding the `kheaders` module file of a kernel release under `/lib/modules/<release>`: first from
 * `modules.dep` (written by `depmod`, so it reflects where the distribution put the module and how it
 * compressed it), then at the path the kernel's own `make modules_install` uses,
 * `kernel/kernel/kheaders.ko[.xz|.gz|.zst]`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { TriedStep } from '../errors.js';
import { errnoCode } from '../errors.js';
import { underRoot } from '../system/root.js';

/** File names a kheaders module may have, in the order they are tried at the default path. */
export const KHEADERS_MODULE_NAMES: readonly string[] = Object.freeze(['kheaders.ko', 'kheaders.ko.xz', 'kheaders.ko.gz', 'kheaders.ko.zst']);

/** Where `make modules_install` puts `kernel/kheaders.ko`, relative to `/lib/modules/<release>`. */
const DEFAULT_DIR = 'kernel/kernel';

/** A module file was found. */
export interface KheadersModuleFound {
  /** Absolute path of the module file (under the root). */
  readonly path: string;
  /** How it was found. */
  readonly via: 'modules.dep' | 'default-path';
}

/** No module file was found. */
export interface KheadersModuleNotFound {
  /** One sentence saying precisely why. */
  readonly reason: string;
  /** Each place looked at, with what was there. */
  readonly tried: readonly TriedStep[];
}

/** A release is one path component: no `/`, not `.` or `..`, no NUL. */
function isSafeRelease(release: string): boolean {
  return release !== '' && release !== '.' && release !== '..' && !release.includes('/') && !release.includes('\0');
}

async function regularFile(file: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(file);
    return st.isFile() ? undefined : 'not a regular file';
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoCode(err) ?? String(err)})`;
  }
}

/**
 * The kheaders entry of a `modules.dep` text: the module path (before the `:`) of the first line whose
 * basename is one of {@link KHEADERS_MODULE_NAMES}, or undefined. Exported for tests.
 */
export function kheadersEntryOfModulesDep(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const entry = line.slice(0, colon).trim();
    if (KHEADERS_MODULE_NAMES.includes(path.posix.basename(entry))) return entry;
  }
  return undefined;
}

/**
 * Find the kheaders module file of `release` under `root`.
 *
 * @param root - The system root (`/` for the live system); every path is mapped with `underRoot`.
 * @param release - The kernel release (`uname -r` form).
 * @returns `{ path, via }`, or `{ reason, tried }` saying why there is none. Never throws.
 */
export async function findKheadersModule(root: string, release: string): Promise<KheadersModuleFound | KheadersModuleNotFound> {
  if (!isSafeRelease(release)) {
    return { reason: `kernel release ${JSON.stringify(release)} is not a valid directory name`, tried: [] };
  }
  const modDir = underRoot(root, `/lib/modules/${release}`);
  const tried: TriedStep[] = [];
  const dirProblem = await (async (): Promise<string | undefined> => {
    try {
      return (await fs.stat(modDir)).isDirectory() ? undefined : 'not a directory';
    } catch (err) {
      return errnoCode(err) === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoCode(err) ?? String(err)})`;
    }
  })();
  if (dirProblem !== undefined) {
    tried.push({ what: modDir, outcome: dirProblem });
    return { reason: `no modules are installed for ${release}: ${modDir} ${dirProblem}`, tried };
  }

  const depFile = path.join(modDir, 'modules.dep');
  let depNote: string;
  try {
    const entry = kheadersEntryOfModulesDep(await fs.readFile(depFile, 'utf8'));
    if (entry === undefined) {
      depNote = `${depFile} lists no kheaders module`;
      tried.push({ what: depFile, outcome: 'lists no kheaders module' });
    } else if (entry.split('/').includes('..')) {
      depNote = `${depFile} lists kheaders at ${entry}, a path with '..', which is ignored`;
      tried.push({ what: depFile, outcome: `entry ${entry} has a '..' component; ignored` });
    } else {
      const file = path.posix.isAbsolute(entry) ? underRoot(root, entry) : path.join(modDir, entry);
      const problem = await regularFile(file);
      if (problem === undefined) return { path: file, via: 'modules.dep' };
      depNote = `${depFile} lists ${entry} but ${file} ${problem}`;
      tried.push({ what: file, outcome: `listed in modules.dep but ${problem}` });
    }
  } catch (err) {
    const why = errnoCode(err) === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoCode(err) ?? String(err)})`;
    depNote = `${depFile} ${why}`;
    tried.push({ what: depFile, outcome: why });
  }

  for (const name of KHEADERS_MODULE_NAMES) {
    const file = path.join(modDir, DEFAULT_DIR, name);
    const problem = await regularFile(file);
    if (problem === undefined) return { path: file, via: 'default-path' };
    tried.push({ what: file, outcome: problem });
  }
  return {
    reason:
      `no kheaders module for ${release}: ${depNote}, and no ${path.join(modDir, DEFAULT_DIR)}/kheaders.ko{,.xz,.gz,.zst} exists ` +
      '(the kernel was not built with CONFIG_IKHEADERS=m, or its module files are not all installed)',
    tried,
  };
}
