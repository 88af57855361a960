/**
 * What the fetch source remembers between runs, so a warm or offline resolve needs no network: per mirror and
 * kind/release/arch, the artefact URL and sha256 last resolved; per base mirror, the last good `index.json`.
 * Small JSON records in `<cache>/mirror-index/` (the rules of `cache/records.ts`); their names contain a dot, so cache
 * maintenance never mistakes them for entries. Anything unreadable is ignored (re-resolved online).
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Cache } from '../cache/safety.js';
import { field, readRecord, writeRecord } from '../cache/records.js';
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

function writeMemo(cache: Cache, name: string, value: unknown): void {
  writeRecord(cache, memoFile(cache, name), value); // best effort: a read-only cache only loses the memo
}

/** The memo key of one mirror × kind × release × arch. */
export function artifactMemoName(mirror: string, kind: string, release: string, srcarch: string): string {
  return `a-${digest(`${kind}\0${mirror}\0${release}\0${srcarch}`)}.json`;
}

/** Read a remembered resolution. */
export function readArtifactMemo(cache: Cache, name: string): ResolvedArtifact | undefined {
  return readRecord(cache, memoFile(cache, name), (v) => {
    const url = field<string>(v, 'url', 'string');
    const sha256 = field<string>(v, 'sha256', 'string');
    return url === undefined || sha256 === undefined || !isSha256(sha256) ? undefined : { url, sha256: sha256.toLowerCase(), via: 'memo' };
  });
}

/** Remember a resolution. */
export function writeArtifactMemo(cache: Cache, name: string, a: ResolvedArtifact): void {
  writeMemo(cache, name, { url: a.url, sha256: a.sha256, via: a.via, savedAt: new Date().toISOString() });
}

/** The last good index.json of a base mirror. */
export function readCachedIndex(cache: Cache, base: string): MirrorIndex | undefined {
  return readRecord(cache, memoFile(cache, `i-${digest(base)}.json`), (v) => {
    try {
      return parseMirrorIndex(JSON.stringify(v));
    } catch {
      return undefined;
    }
  });
}

/** Remember a good index.json (its text, validated by the caller). */
export function writeCachedIndex(cache: Cache, base: string, text: string): void {
  writeMemo(cache, `i-${digest(base)}.json`, JSON.parse(text) as unknown);
}
