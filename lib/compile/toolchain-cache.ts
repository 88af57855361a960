/**
 * What `clang -v` said, remembered across processes: probing clang costs a spawn of `clang -v -E` (~30 ms here), which a
 * cache-hit compile should not pay. A record is trusted only while the clang binary's identity — real path, device,
 * inode, size, mtime — is unchanged; any upgrade of the compiler re-probes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { toCache, type CacheRef } from '../cache/entry.js';
import { field, fileIdentity, readRecord, writeRecord } from '../cache/records.js';
import { INDEX_DIR } from '../cache/stat-index.js';
import { nameHash } from '../system/names.js';

/** The facts of one clang binary. */
export interface ClangFactsRecord {
  readonly major: number;
  readonly version: string;
  readonly resourceDir: string;
  readonly systemIncludeDirs: readonly string[];
}

function identity(clangPath: string): string {
  const real = fs.realpathSync(clangPath);
  return `${real}:${fileIdentity(real)}`;
}

function recordFile(root: string, clangPath: string): string {
  return path.join(root, INDEX_DIR, `clang-${nameHash(path.resolve(clangPath))}.json`);
}

/** The remembered facts of `clangPath`, when the binary is unchanged; undefined otherwise (or on any problem). */
export function readClangFacts(cacheRef: CacheRef, clangPath: string): ClangFactsRecord | undefined {
  try {
    const cache = toCache(cacheRef);
    const tuple = identity(clangPath);
    return readRecord(cache, recordFile(cache.root, clangPath), (v) => (field(v, 'tuple', 'string') === tuple ? field<ClangFactsRecord>(v, 'facts', 'object') : undefined));
  } catch {
    return undefined;
  }
}

/** Remember the facts of `clangPath` (best effort: a cache that cannot be written is simply not used). */
export function writeClangFacts(cacheRef: CacheRef, clangPath: string, facts: ClangFactsRecord): void {
  try {
    const cache = toCache(cacheRef);
    writeRecord(cache, recordFile(cache.root, clangPath), { tuple: identity(clangPath), facts });
  } catch {
    // best effort
  }
}
