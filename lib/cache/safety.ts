/**
 * Cache safety checks, run on every use. The cache root and everything bpf-compile creates in
 * it must be:
 *
 * - a real directory (or file), never a symlink (`lstat`, every component we own);
 * - owned by the current user or by root;
 * - not writable by group or others.
 *
 * The root's ancestors (which we do not own) are checked after `realpath`: each must be owned
 * by us or root and not group/world-writable unless sticky (like `/tmp`). Anything else raises
 * `CACHE_UNSAFE` with the path, what is wrong and what to do. This is what CVE-2024-2313/2314
 * (bpftrace/BCC's shared `/tmp/kheaders-<release>`) lacked.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BpfCompileError, ErrorCode, errnoCode } from '../errors.js';
import { resolveCacheDir, type CacheDirOrigin, type CacheLocationOptions } from './location.js';
import { makeDirs } from '../system/dirs.js';

/** An opened, checked cache root. */
export interface Cache {
  /** Absolute path of the cache root. */
  readonly root: string;
  /** Where the path came from. */
  readonly origin: CacheDirOrigin;
  /** uid that owns (or may own) the cache. */
  readonly uid: number;
  /** Mode of directories created in the cache (0700, or 0755 for root's system dir). */
  readonly dirMode: number;
}

/** Options of {@link openCache}. */
export interface OpenCacheOptions extends CacheLocationOptions {
  /** Create the root when missing. Default true. */
  readonly create?: boolean;
}

function currentUid(): number {
  return process.getuid?.() ?? -1;
}

function unsafeCache(p: string, problem: string, hint: string): never {
  throw new BpfCompileError(ErrorCode.CACHE_UNSAFE, `refusing to use the cache: ${p} ${problem}`, {
    hint,
    details: { path: p, problem },
  });
}

/**
 * Check one path inside (or at) the cache: not a symlink, the expected kind, owned by us or root,
 * not group/world-writable. Returns false when it does not exist.
 */
export function checkOwnedPath(p: string, kind: 'dir' | 'file', uid = currentUid()): boolean {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return false;
    throw err;
  }
  if (st.isSymbolicLink()) {
    unsafeCache(p, 'is a symlink', `Remove the symlink (rm ${JSON.stringify(p)}) or point BPF_COMPILE_CACHE_DIR at a real directory you own.`);
  }
  if (kind === 'dir' ? !st.isDirectory() : !st.isFile()) {
    unsafeCache(p, `is not a ${kind === 'dir' ? 'directory' : 'regular file'}`, `Remove ${JSON.stringify(p)}; bpf-compile recreates it.`);
  }
  if (st.uid !== uid && st.uid !== 0) {
    unsafeCache(p, `is owned by uid ${st.uid}, not by you (uid ${uid}) or root`, `Remove it (as root: rm -rf ${JSON.stringify(p)}) or use another BPF_COMPILE_CACHE_DIR.`);
  }
  if ((st.mode & 0o022) !== 0) {
    // A sticky, world-writable dir (/tmp, /var/tmp) is shared by design: never advise making it private.
    const shared = (st.mode & 0o1000) !== 0;
    unsafeCache(
      p,
      `is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`,
      shared
        ? `${JSON.stringify(p)} is a shared directory and cannot hold a cache; drop --cache-dir / BPF_COMPILE_CACHE_DIR to use the private default, or point them at a directory only you can write.`
        : `Run chmod go-w ${JSON.stringify(p)} if nobody else could have written to it, else remove it.`,
    );
  }
  return true;
}

/** The error for a cache this user may not read or write (EACCES, EPERM, EROFS), else undefined. */
export function cacheAccessError(root: string, p: string, err: unknown, doing: 'read' | 'write'): BpfCompileError | undefined {
  const code = errnoCode(err);
  if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') return undefined;
  let owner = '';
  try {
    const st = fs.statSync(root);
    owner = ` (the cache ${root} belongs to uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`;
  } catch {
    // unknown
  }
  const uid = currentUid();
  return new BpfCompileError(ErrorCode.CACHE_UNSAFE, `cannot ${doing} the cache: ${p}: ${code === 'EROFS' ? 'read-only file system' : 'permission denied'}${owner}`, {
    hint:
      code === 'EROFS'
        ? 'point --cache-dir / BPF_COMPILE_CACHE_DIR at a writable directory, or warm this cache where it is writable (bpf-compile fetch)'
        : `use a cache of your own (uid ${uid}): unset BPF_COMPILE_CACHE_DIR or pass --cache-dir ~/.cache/bpf-compile; or run as the cache's owner`,
    cause: err,
    details: { path: p, root, problem: doing === 'read' ? 'not readable' : 'not writable', errno: code },
  });
}

/** Check the (real) ancestors of the cache root. */
function checkAncestors(root: string, uid: number): void {
  let dir: string;
  try {
    dir = fs.realpathSync(path.dirname(root));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return; // created below, by us
    throw err;
  }
  for (;;) {
    const st = fs.statSync(dir);
    if (st.uid !== uid && st.uid !== 0) {
      unsafeCache(dir, `(an ancestor of the cache) is owned by uid ${st.uid}`, 'Put the cache under a directory owned by you or root (BPF_COMPILE_CACHE_DIR).');
    }
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
      unsafeCache(
        dir,
        '(an ancestor of the cache) is group/world-writable without the sticky bit',
        'Put the cache somewhere others cannot rename it away (BPF_COMPILE_CACHE_DIR).',
      );
    }
    const parent = path.dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

/**
 * Resolve, create (mode 0700, or 0755 for `/var/cache/bpf-compile`) and check the cache root.
 *
 * @throws BpfCompileError `CACHE_UNSAFE`.
 */
export function openCache(options: OpenCacheOptions = {}): Cache {
  const { dir: root, origin } = resolveCacheDir(options);
  const uid = options.uid ?? currentUid();
  const dirMode = origin === 'system' ? 0o755 : 0o700;
  checkAncestors(root, uid);
  let exists: boolean;
  try {
    exists = checkOwnedPath(root, 'dir', uid);
    // root's cache (0700, or one only root may enter) must not surface as a raw EACCES deep inside a lookup
    if (exists) fs.accessSync(root, fs.constants.R_OK | fs.constants.X_OK);
  } catch (err) {
    throw cacheAccessError(root, root, err, 'read') ?? err;
  }
  if (!exists) {
    if (options.create === false) return { root, origin, uid, dirMode };
    try {
      makeDirs(path.dirname(root), 0o700);
      fs.mkdirSync(root, { mode: dirMode });
      fs.chmodSync(root, dirMode);
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') {
        throw (
          cacheAccessError(root, root, err, 'write') ??
          new BpfCompileError(ErrorCode.CACHE_UNSAFE, `cannot create the cache directory ${root}: ${err instanceof Error ? err.message : String(err)}`, {
            hint: 'Choose a cache directory that can be created (--cache-dir DIR, or BPF_COMPILE_CACHE_DIR).',
            details: { path: root, root, problem: 'cannot be created', errno: errnoCode(err) },
            cause: err,
          })
        );
      }
    }
    checkOwnedPath(root, 'dir', uid);
  }
  return { root, origin, uid, dirMode };
}

/** Make (if missing) and check a directory inside the cache. */
export function ensureOwnedDir(cache: Cache, p: string): void {
  if (checkOwnedPath(p, 'dir', cache.uid)) return;
  try {
    fs.mkdirSync(p, { mode: cache.dirMode });
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw cacheAccessError(cache.root, p, err, 'write') ?? err;
  }
  checkOwnedPath(p, 'dir', cache.uid);
}
