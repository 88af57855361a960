/**
 * Small JSON records the cache keeps beside its entries — "what I learnt about this file last time" — and the file
 * identity they are keyed by. One rule set for every side-store (archive digests `stat-index.ts`, compiled objects'
 * dependency digests `compile/object-cache.ts`, clang's facts `compile/toolchain-cache.ts`, mirror resolutions
 * `fetch/memo.ts`, verified apt Releases `distro/apt/repo.ts`):
 *
 * - **Identity** of a file is `dev:ino:size:mtimeNs`, plus `ctimeNs` where content must be caught even when a user
 *   back-dates the mtime (archives, sources, headers: `touch -m` cannot set the ctime), plus the boot id for files of
 *   per-boot pseudo file systems (sysfs inodes and times restart at every boot). A record is used only while the
 *   identity it was written for is the file's current one.
 * - **Reading**: a record is trusted only when it is a regular file, not a symlink, owned by this user or root, and
 *   not writable by group or others (`checkOwnedPath`). Anything else — absent, unsafe, torn, not JSON, failing the
 *   caller's validation — reads as *absent*: a record is an optimisation, never a source of truth, so the caller
 *   recomputes (and content-addressed entries guarantee a stale record can cost work, never serve wrong content).
 * - **Writing** is atomic (temp sibling + rename, which replaces a planted symlink rather than following it), mode
 *   0644 in root's shared system cache (readable by its users, like the entries) and 0600 in a private cache; best
 *   effort — a cache that cannot be written (a user reading root's system cache) simply keeps no record.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomicSync } from '../system/atomic-file.js';
import { bootId } from './proc.js';
import { checkOwnedPath, ensureOwnedDir, type Cache } from './safety.js';

/** What a file identity covers beyond `dev:ino:size:mtimeNs`. */
export interface IdentityOptions {
  /** Include the ctime (content that must be caught even when the mtime is set back). */
  readonly ctime?: boolean;
  /** Include the boot id (files of per-boot file systems: sysfs). */
  readonly boot?: boolean;
}

/** The identity of a stat result. */
export function statIdentity(st: fs.BigIntStats, o: IdentityOptions = {}): string {
  return [st.dev, st.ino, st.size, st.mtimeNs, ...(o.ctime === true ? [st.ctimeNs] : []), ...(o.boot === true ? [bootId()] : [])].join(':');
}

/** The identity of the file at `p` (following links). @throws the `stat` error. */
export function fileIdentity(p: string, o: IdentityOptions = {}): string {
  return statIdentity(fs.statSync(p, { bigint: true }), o);
}

/** Mode of records in this cache: shared like its entries in root's system cache, private elsewhere. */
export function recordMode(cache: Cache): number {
  return cache.dirMode === 0o755 ? 0o644 : 0o600;
}

/** Read a record, or undefined (absent, unsafe, torn, or refused by `validate`). Never throws. */
export function readRecord<T>(cache: Cache, file: string, validate: (value: unknown) => T | undefined): T | undefined {
  try {
    if (!checkOwnedPath(file, 'file', cache.uid)) return undefined;
    return validate(JSON.parse(fs.readFileSync(file, 'utf8')) as unknown);
  } catch {
    return undefined;
  }
}

/** Write a record (JSON), creating its directory in the cache. Best effort: returns false when it could not. */
export function writeRecord(cache: Cache, file: string, value: unknown): boolean {
  try {
    ensureOwnedDir(cache, path.dirname(file));
    writeFileAtomicSync(file, JSON.stringify(value), { mode: recordMode(cache) });
    return true;
  } catch {
    return false;
  }
}

/** An object's field of a given type, for record validation. */
export function field<T>(value: unknown, key: string, type: 'string' | 'number' | 'object'): T | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = (value as Record<string, unknown>)[key];
  return typeof v === type && v !== null ? (v as T) : undefined;
}
