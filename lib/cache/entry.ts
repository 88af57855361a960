/**
 * The generic cache entry protocol, shared by every cached artefact (extracted kheaders, fetched
 * archives, generated vmlinux.h, compiled objects).
 *
 * Layout under the cache root:
 *
 *     <ns>/<key>/manifest.json   written last; its presence + validity = "complete"
 *     <ns>/<key>/data/           the content (what callers use)
 *     <ns>/<key>.lock/           proper-lockfile lock (dir), <ns>/<key>.owner its holder
 *     <ns>/.tmp-<key>-<pid>-*    a build in progress (or a crashed one)
 *     <ns>/.trash-<key>-*        an entry being deleted
 *     <ns>/.leases/<key>/*.json  reader leases
 *
 * Beside the namespaces the root holds records (`records.ts`: `.index/`, `mirror-index/`, `distro-index/`) and the
 * private temp files of downloads; the whole layout, namespace by namespace, is in ARCHITECTURE.md ("The cache root").
 *
 * `ensureEntry`: complete entry → return it (warm). Else lock the key (waiting for another
 * builder, or returning its result as soon as it is published), re-check, remove leftovers of
 * this key, build into a fresh temp sibling, write the manifest last, `rename` into place. A
 * rename failing with ENOTEMPTY/EEXIST means someone else published first: ours is deleted and
 * theirs returned. A published directory without a valid manifest is never used; it is moved to
 * trash and rebuilt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BpfCompileError, ErrorCode, errnoCode } from '../errors.js';
import { createLease, type Lease } from './lease.js';
import { acquireLock, type LockOptions } from './lock.js';
import { CACHE_FORMAT_VERSION, DATA_DIR, readCompleteManifest, writeManifest, type Manifest, type ManifestFields } from './manifest.js';
import { cacheAccessError, ensureOwnedDir, openCache, type Cache, type OpenCacheOptions } from './safety.js';

/** Allowed namespace names. */
const NAMESPACE_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Allowed keys (no dots: `<key>.lock`/`<key>.owner` must never collide with a key). */
const KEY_RE = /^[A-Za-z0-9_-]{1,160}$/;

/** What to ensure. */
export interface EnsureEntrySpec {
  /** Kind of artefact (`kheaders`, `vmlinux-h`, `objects`, …). */
  readonly namespace: string;
  /** Content key (a hash of the inputs, plus a format version). */
  readonly key: string;
  /**
   * Build the content into `dataDir` (an existing, empty, private directory) and describe it.
   * Honour `signal`. Throwing leaves nothing behind.
   */
  readonly build: (dataDir: string, signal: AbortSignal) => Promise<ManifestFields>;
  /** Also take a reader lease (see `lease.ts`); release it with `entry.lease.release()`. */
  readonly lease?: boolean;
  /** Abort waiting or building. */
  readonly signal?: AbortSignal;
  /** Lock timing. */
  readonly lock?: LockOptions;
}

/** A complete cache entry. */
export interface CacheEntry {
  readonly namespace: string;
  readonly key: string;
  /** The entry directory (`<root>/<ns>/<key>`). */
  readonly path: string;
  /** The content directory (`<path>/data`). */
  readonly dir: string;
  readonly manifest: Manifest;
  /** True when this call did not build it (found complete, or built by a process it waited for). */
  readonly fromCache: boolean;
  /** The reader lease, when asked for. */
  readonly lease?: Lease;
}

/** A cache, or options to open one. */
export type CacheRef = Cache | OpenCacheOptions | undefined;

/** Open `ref` unless it is already an opened cache. */
export function toCache(ref: CacheRef): Cache {
  if (ref !== undefined && 'root' in ref && 'dirMode' in ref) return ref;
  return openCache(ref ?? {});
}

function checkName(re: RegExp, value: string, what: string): void {
  if (!re.test(value)) throw new BpfCompileError(ErrorCode.USAGE, `invalid cache ${what} ${JSON.stringify(value)}`, { details: { [what]: value } });
}

/** Remove a directory by first renaming it to a trash name (so it disappears atomically). */
export function trashDir(nsDir: string, key: string, dir: string): void {
  const trash = path.join(nsDir, `.trash-${key}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.renameSync(dir, trash);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return;
    throw err;
  }
  fs.rmSync(trash, { recursive: true, force: true });
}

/** Remove this key's temp and trash leftovers (the caller holds the key lock). */
function removeLeftovers(nsDir: string, key: string): void {
  for (const name of fs.readdirSync(nsDir)) {
    if (name.startsWith(`.tmp-${key}-`) || name.startsWith(`.trash-${key}-`)) {
      fs.rmSync(path.join(nsDir, name), { recursive: true, force: true });
    }
  }
}

function touch(p: string): void {
  const now = new Date();
  try {
    fs.utimesSync(p, now, now);
  } catch {
    // read-only cache (a non-root reader of the system cache): last-use time is best effort
  }
}

/**
 * Return the complete entry `namespace/key`, building it once (across processes) when missing.
 * See the module comment for the protocol.
 *
 * @throws BpfCompileError `CACHE_UNSAFE`, `CACHE_LOCKED`, or whatever `build` throws.
 */
export async function ensureEntry(cacheRef: CacheRef, spec: EnsureEntrySpec): Promise<CacheEntry> {
  checkName(NAMESPACE_RE, spec.namespace, 'namespace');
  checkName(KEY_RE, spec.key, 'key');
  const cache = toCache(cacheRef);
  const nsDir = path.join(cache.root, spec.namespace);
  ensureOwnedDir(cache, nsDir);
  const entryPath = path.join(nsDir, spec.key);
  const complete = (): Manifest | undefined => readCompleteManifest(entryPath, spec.namespace, spec.key, cache.uid);
  const result = (manifest: Manifest, fromCache: boolean, lease?: Lease): CacheEntry => ({
    namespace: spec.namespace,
    key: spec.key,
    path: entryPath,
    dir: path.join(entryPath, DATA_DIR),
    manifest,
    fromCache,
    ...(lease === undefined ? {} : { lease }),
  });

  // Warm path: no lock unless a lease is wanted.
  const warm = complete();
  if (warm !== undefined && spec.lease !== true) {
    touch(entryPath);
    return result(warm, true);
  }

  const held = await acquireLock(entryPath, () => spec.lease !== true && complete() !== undefined, {
    ...spec.lock,
    ...(spec.signal === undefined ? {} : { signal: spec.signal }),
  });
  if (held === 'done') {
    const m = complete();
    if (m !== undefined) return result(m, true);
    return ensureEntry(cache, spec); // vanished meanwhile (pruned): start over
  }
  try {
    const again = complete();
    if (again !== undefined) {
      touch(entryPath);
      const lease = spec.lease === true ? createLease(nsDir, spec.key, cache.dirMode) : undefined;
      return result(again, true, lease);
    }
    removeLeftovers(nsDir, spec.key);
    if (fs.existsSync(entryPath) || isSymlink(entryPath)) trashDir(nsDir, spec.key, entryPath);

    let tmp: string;
    try {
      tmp = fs.mkdtempSync(path.join(nsDir, `.tmp-${spec.key}-${process.pid}-`));
    } catch (err) {
      throw cacheAccessError(cache.root, nsDir, err, 'write') ?? err;
    }
    try {
      fs.chmodSync(tmp, cache.dirMode);
      const dataDir = path.join(tmp, DATA_DIR);
      fs.mkdirSync(dataDir, { mode: cache.dirMode });
      const controller = new AbortController();
      const onAbort = (): void => controller.abort(spec.signal?.reason);
      spec.signal?.addEventListener('abort', onAbort, { once: true });
      let fields: ManifestFields;
      try {
        fields = await spec.build(dataDir, controller.signal);
      } finally {
        spec.signal?.removeEventListener('abort', onAbort);
      }
      const manifest: Manifest = {
        formatVersion: CACHE_FORMAT_VERSION,
        namespace: spec.namespace,
        key: spec.key,
        createdAt: new Date().toISOString(),
        ...fields,
      };
      writeManifest(tmp, manifest);
      try {
        fs.renameSync(tmp, entryPath);
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        fs.rmSync(tmp, { recursive: true, force: true });
        const theirs = complete();
        if (theirs === undefined) throw err;
        const lease = spec.lease === true ? createLease(nsDir, spec.key, cache.dirMode) : undefined;
        return result(theirs, true, lease);
      }
      const lease = spec.lease === true ? createLease(nsDir, spec.key, cache.dirMode) : undefined;
      return result(manifest, false, lease);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  } finally {
    await held.release();
  }
}

function isSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
