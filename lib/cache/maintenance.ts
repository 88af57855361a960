/**
 * Cache maintenance for `bpf-compile cache path|list|prune|clear`. Every function returns plain,
 * JSON-serialisable objects.
 *
 * An entry is "in use" when its key lock is held (being built, or a lease being taken) or it has
 * a live reader lease; prune and clear never remove those. Removal happens under the key lock:
 * rename to `.trash-*` (atomic unpublish), then delete.
 */
import fs from 'node:fs';
import path from 'node:path';
import { trashDir, toCache, type CacheRef } from './entry.js';
import { liveLeases } from './lease.js';
import { acquireLock, isLocked, lockPaths } from './lock.js';
import { DATA_DIR, readCompleteManifest } from './manifest.js';
import { holderIsDead, bootId } from './proc.js';
import { checkOwnedPath } from './safety.js';
import { INDEX_DIR } from './stat-index.js';

/** Leftover temp dirs of a live process are kept this long (ms) before being treated as abandoned. */
export const LEFTOVER_MAX_AGE_MS = 6 * 60 * 60 * 1000;

/** One entry, as listed. */
export interface EntryInfo {
  readonly namespace: string;
  readonly key: string;
  /** Entry directory. */
  readonly path: string;
  /** Content directory. */
  readonly dir: string;
  readonly source: string | null;
  readonly sha256: string | null;
  readonly release: string | null;
  readonly files: number;
  readonly bytes: number;
  readonly createdAt: string;
  /** ISO time of the last `ensureEntry` that returned it. */
  readonly lastUsedAt: string;
  /** Locked or leased right now. */
  readonly inUse: boolean;
}

/** Result of {@link prune} and {@link clear}. */
export interface PruneResult {
  readonly removed: EntryInfo[];
  /** Entries that matched but were in use. */
  readonly skippedInUse: EntryInfo[];
  /** Entries kept. */
  readonly kept: number;
  /** Sum of `bytes` of removed entries. */
  readonly freedBytes: number;
  /** Temp, trash and incomplete directories removed. */
  readonly leftoversRemoved: string[];
}

/** Options of {@link prune}. */
export interface PruneOptions {
  /** Remove entries not used for this many ms. */
  readonly olderThan?: number;
  /** Then remove least-recently-used entries until the total is at most this many bytes. */
  readonly maxBytes?: number;
  /** Report only. */
  readonly dryRun?: boolean;
}

/** The cache root path (without creating it). */
export function cachePath(cacheRef?: CacheRef): { path: string; origin: string; exists: boolean } {
  const cache = toCache({ ...(cacheRef ?? {}), create: false });
  return { path: cache.root, origin: cache.origin, exists: fs.existsSync(cache.root) };
}

function namespaces(root: string, uid: number): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith('.') && checkOwnedPath(path.join(root, n), 'dir', uid)).sort();
}

function entryNames(nsDir: string): string[] {
  return fs
    .readdirSync(nsDir)
    .filter((n) => !n.startsWith('.') && !n.includes('.'))
    .sort();
}

function info(nsDir: string, namespace: string, key: string, uid: number): EntryInfo | undefined {
  const entryPath = path.join(nsDir, key);
  const m = readCompleteManifest(entryPath, namespace, key, uid);
  if (m === undefined) return undefined;
  const st = fs.lstatSync(entryPath);
  return {
    namespace,
    key,
    path: entryPath,
    dir: path.join(entryPath, DATA_DIR),
    source: m.source ?? null,
    sha256: m.sha256 ?? null,
    release: m.release ?? null,
    files: m.files,
    bytes: m.bytes,
    createdAt: m.createdAt,
    lastUsedAt: st.mtime.toISOString(),
    inUse: isLocked(entryPath) || liveLeases(nsDir, key) > 0,
  };
}

/** All complete entries, every namespace, sorted by namespace then key. */
export function listEntries(cacheRef?: CacheRef): EntryInfo[] {
  const cache = toCache({ ...(cacheRef ?? {}), create: false });
  if (!checkOwnedPath(cache.root, 'dir', cache.uid)) return [];
  const out: EntryInfo[] = [];
  for (const ns of namespaces(cache.root, cache.uid)) {
    const nsDir = path.join(cache.root, ns);
    for (const key of entryNames(nsDir)) {
      const e = info(nsDir, ns, key, cache.uid);
      if (e !== undefined) out.push(e);
    }
  }
  return out;
}

/** Parse `<pid>` from `.tmp-<key>-<pid>-XXXXXX`. */
function leftoverPid(name: string): number | undefined {
  const m = /-(\d+)-[^-]*$/.exec(name);
  return m === null ? undefined : Number(m[1]);
}

function removeLeftovers(nsDir: string, dryRun: boolean): string[] {
  const removed: string[] = [];
  for (const name of fs.readdirSync(nsDir)) {
    const p = path.join(nsDir, name);
    let drop = false;
    if (name.startsWith('.trash-')) drop = true;
    else if (name.startsWith('.tmp-')) {
      const pid = leftoverPid(name);
      const age = Date.now() - fs.lstatSync(p).mtimeMs;
      const dead = pid !== undefined && holderIsDead({ pid, bootId: bootId(), host: '', since: 0 });
      drop = dead || age > LEFTOVER_MAX_AGE_MS;
    } else if (!name.startsWith('.') && !name.includes('.')) {
      // a published-looking dir without a valid manifest, not being worked on
      const ns = path.basename(nsDir);
      drop = readCompleteManifest(p, ns, name) === undefined && !isLocked(p) && Date.now() - fs.lstatSync(p).mtimeMs > 60_000;
    } else if (name.endsWith('.owner')) {
      const base = p.slice(0, -'.owner'.length);
      drop = !fs.existsSync(lockPaths(base).lockDir);
    }
    if (drop) {
      if (!dryRun) fs.rmSync(p, { recursive: true, force: true });
      removed.push(p);
    }
  }
  return removed;
}

/** Remove one entry under its lock unless in use; true when removed. */
async function removeEntry(e: EntryInfo): Promise<boolean> {
  const held = await acquireLock(e.path, () => false, { timeoutMs: 0 }).catch(() => undefined);
  if (held === undefined || held === 'done') return false;
  try {
    const nsDir = path.dirname(e.path);
    if (liveLeases(nsDir, e.key) > 0) return false;
    trashDir(nsDir, e.key, e.path);
    return true;
  } finally {
    await held.release();
  }
}

/**
 * Remove unused entries by age and/or total size, plus leftovers (temp dirs of dead processes,
 * trash, incomplete entries). With no criteria only leftovers are removed.
 */
export async function prune(cacheRef?: CacheRef, options: PruneOptions = {}): Promise<PruneResult> {
  const cache = toCache({ ...(cacheRef ?? {}), create: false });
  const empty: PruneResult = { removed: [], skippedInUse: [], kept: 0, freedBytes: 0, leftoversRemoved: [] };
  if (!checkOwnedPath(cache.root, 'dir', cache.uid)) return empty;
  const dryRun = options.dryRun === true;
  const leftoversRemoved: string[] = [];
  for (const ns of namespaces(cache.root, cache.uid)) leftoversRemoved.push(...removeLeftovers(path.join(cache.root, ns), dryRun));

  const entries = listEntries(cache).sort((a, b) => (a.lastUsedAt < b.lastUsedAt ? -1 : 1));
  const doomed = new Set<EntryInfo>();
  if (options.olderThan !== undefined) {
    const cutoff = Date.now() - options.olderThan;
    for (const e of entries) if (Date.parse(e.lastUsedAt) <= cutoff) doomed.add(e);
  }
  if (options.maxBytes !== undefined) {
    let total = entries.filter((e) => !doomed.has(e)).reduce((s, e) => s + e.bytes, 0);
    for (const e of entries) {
      if (total <= options.maxBytes) break;
      if (doomed.has(e) || e.inUse) continue;
      doomed.add(e);
      total -= e.bytes;
    }
  }
  const removed: EntryInfo[] = [];
  const skippedInUse: EntryInfo[] = [];
  for (const e of doomed) {
    if (e.inUse) skippedInUse.push(e);
    else if (dryRun || (await removeEntry(e))) removed.push(e);
    else skippedInUse.push(e);
  }
  return {
    removed,
    skippedInUse,
    kept: entries.length - removed.length,
    freedBytes: removed.reduce((s, e) => s + e.bytes, 0),
    leftoversRemoved,
  };
}

/** Remove every entry not in use, all leftovers and the stat index. */
export async function clear(cacheRef?: CacheRef): Promise<PruneResult> {
  const result = await prune(cacheRef, { olderThan: -Infinity });
  const cache = toCache({ ...(cacheRef ?? {}), create: false });
  fs.rmSync(path.join(cache.root, INDEX_DIR), { recursive: true, force: true });
  return result;
}
