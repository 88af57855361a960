/**
 * The bpf-compile cache: a safe, per-user (or root's system) directory of content-addressed,
 * atomically published, lock-protected entries. See `entry.ts` for the protocol, `safety.ts`
 * for the checks, `lock.ts` for timings, `stat-index.ts` for the warm path.
 */
export { ensureEntry, toCache, type CacheEntry, type CacheRef, type EnsureEntrySpec } from './entry.js';
export { cachePath, clear, listEntries, prune, type EntryInfo, type PruneOptions, type PruneResult } from './maintenance.js';
export { CACHE_FORMAT_VERSION, type JsonValue, type Manifest, type ManifestFields } from './manifest.js';
export { LOCK_DEFAULTS, type LockOptions } from './lock.js';
export { LEASE_MAX_AGE_MS, type Lease } from './lease.js';
export { resolveCacheDir, SYSTEM_CACHE_DIR, type CacheDirOrigin, type CacheLocationOptions } from './location.js';
export { openCache, type Cache, type OpenCacheOptions } from './safety.js';
export { archiveDigest, hashFile } from './stat-index.js';
