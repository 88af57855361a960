/**
 * What the fetch source remembers between runs, so a warm or offline resolve needs no network: per mirror and
 * kind/release/arch, the artefact URL and sha256 last resolved; per base mirror, the last good `index.json`.
 * Small JSON files in `<cache>/mirror-index/` (0600, written atomically); their names contain a dot, so cache
 * maintenance never mistakes them for entries. Anything unreadable is ignored (re-resolved online).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Cache } from '../cache/safety.js';
import { ensureOwnedDir } from '../cache/safety.js';
import { parseMirrorIndex, type MirrorIndex } from '../mirror/index-format.js';
import { isSha256 } from './mirrors.js';

/** Directory (inside the cache root) of the memo files. */
export const MEMO_DIR = 'mirror-index';

/** A remembered resolution. */
export interface ResolvedArtifact {
  /** Where the artefact is downloaded from. */
  readonly url: string;
  /** Its sha256 (lowercase hex). */
  readonly sha256: string;
  /** Where the checksum came from. */
  readonly via: 'index' | 'sidecar' | 'pinned' | 'memo';
}

function digest(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 40);
}

function memoFile(cache: Cache, name: string): string {
  return path.join(cache.root, MEMO_DIR, name);
}

function readJson(file: string): unknown {
  try {
    const st = fs.lstatSync(file);
    if (!st.isFile() || (st.mode & 0o022) !== 0) return undefined;
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function writeAtomic(cache: Cache, name: string, text: string): void {
  const dir = path.join(cache.root, MEMO_DIR);
  ensureOwnedDir(cache, dir);
  const tmp = path.join(dir, `.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}.json`);
  try {
    fs.writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' });
    fs.renameSync(tmp, path.join(dir, name));
  } catch {
    fs.rmSync(tmp, { force: true }); // best effort: a read-only cache only loses the memo
  }
}

/** The memo key of one mirror × kind × release × arch. */
export function artifactMemoName(mirror: string, kind: string, release: string, srcarch: string): string {
  return `a-${digest(`${kind}\0${mirror}\0${release}\0${srcarch}`)}.json`;
}

/** Read a remembered resolution. */
export function readArtifactMemo(cache: Cache, name: string): ResolvedArtifact | undefined {
  const data = readJson(memoFile(cache, name));
  if (typeof data !== 'object' || data === null) return undefined;
  const { url, sha256 } = data as { url?: unknown; sha256?: unknown };
  if (typeof url !== 'string' || typeof sha256 !== 'string' || !isSha256(sha256)) return undefined;
  return { url, sha256: sha256.toLowerCase(), via: 'memo' };
}

/** Remember a resolution. */
export function writeArtifactMemo(cache: Cache, name: string, a: ResolvedArtifact): void {
  writeAtomic(cache, name, `${JSON.stringify({ url: a.url, sha256: a.sha256, via: a.via, savedAt: new Date().toISOString() })}\n`);
}

/** The last good index.json of a base mirror. */
export function readCachedIndex(cache: Cache, base: string): MirrorIndex | undefined {
  try {
    const st = fs.lstatSync(memoFile(cache, `i-${digest(base)}.json`));
    if (!st.isFile() || (st.mode & 0o022) !== 0) return undefined;
    return parseMirrorIndex(fs.readFileSync(memoFile(cache, `i-${digest(base)}.json`), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Remember a good index.json (its text, validated by the caller). */
export function writeCachedIndex(cache: Cache, base: string, text: string): void {
  writeAtomic(cache, `i-${digest(base)}.json`, text);
}
