/**
 * What `clang -v` said, remembered across processes: probing clang costs a spawn plus loading execa (~0.1 s), which a
 * cache-hit compile should not pay. A record is trusted only while the clang binary's identity — real path, device,
 * inode, size, mtime — is unchanged; any upgrade of the compiler re-probes.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { toCache, type CacheRef } from '../cache/entry.js';
import { checkOwnedPath, ensureOwnedDir } from '../cache/safety.js';
import { INDEX_DIR } from '../cache/stat-index.js';

/** The facts of one clang binary. */
export interface ClangFactsRecord {
  readonly major: number;
  readonly version: string;
  readonly resourceDir: string;
  readonly systemIncludeDirs: readonly string[];
}

function identity(clangPath: string): { real: string; tuple: string } {
  const real = fs.realpathSync(clangPath);
  const st = fs.statSync(real, { bigint: true });
  return { real, tuple: [real, st.dev, st.ino, st.size, st.mtimeNs].join(':') };
}

function recordFile(root: string, clangPath: string): string {
  return path.join(root, INDEX_DIR, `clang-${createHash('sha256').update(path.resolve(clangPath)).digest('hex').slice(0, 32)}.json`);
}

/** The remembered facts of `clangPath`, when the binary is unchanged; undefined otherwise (or on any problem). */
export function readClangFacts(cacheRef: CacheRef, clangPath: string): ClangFactsRecord | undefined {
  try {
    const cache = toCache(cacheRef);
    const file = recordFile(cache.root, clangPath);
    if (!checkOwnedPath(path.dirname(file), 'dir', cache.uid) || !checkOwnedPath(file, 'file', cache.uid)) return undefined;
    const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as { tuple?: unknown; facts?: ClangFactsRecord };
    return rec.tuple === identity(clangPath).tuple && rec.facts !== undefined ? rec.facts : undefined;
  } catch {
    return undefined;
  }
}

/** Remember the facts of `clangPath` (best effort: a cache that cannot be written is simply not used). */
export function writeClangFacts(cacheRef: CacheRef, clangPath: string, facts: ClangFactsRecord): void {
  try {
    const cache = toCache(cacheRef);
    const file = recordFile(cache.root, clangPath);
    ensureOwnedDir(cache, path.dirname(file));
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ tuple: identity(clangPath).tuple, facts }), { mode: 0o644 });
    fs.renameSync(tmp, file);
  } catch {
    // best effort
  }
}
