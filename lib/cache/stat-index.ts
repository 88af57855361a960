/**
 * The warm-path index: archive path → sha256, trusted only while the file's identity is
 * unchanged.
 *
 * A warm resolve must not re-extract, yet must notice a changed archive (a kernel rebuilt with
 * the same release, a new `/sys/kernel/kheaders.tar.xz` after reboot). The cache key is the
 * archive's sha256, so the question is only "what is this file's sha256?":
 *
 * - `<root>/.index/<nameHash(path)>.json` records `(path, identity)` → `sha256`, the identity being
 *   `dev:ino:size:mtimeNs:ctimeNs:bootId` (`records.ts`). When the current identity is equal, the
 *   recorded hash is used (one stat + one small read); the boot id makes every reboot re-hash once
 *   (sysfs inodes/times are per-boot).
 * - Any difference → the file is re-hashed (4 MB: ~10–15 ms) and the record rewritten. The
 *   record is only written when the tuple was the same before and after hashing.
 * - A cold extraction hashes the bytes it actually decodes and refuses to publish when they do
 *   not match the key (`ARCHIVE_CORRUPT`, "changed while reading"), so a stale index can at worst
 *   cost one extraction, never serve wrong content: entries are content-addressed.
 *
 * Writing the ctime into the tuple means even `touch -m` back-dating is noticed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { nameHash } from '../system/names.js';
import { field, fileIdentity, readRecord, statIdentity, writeRecord } from './records.js';
import type { Cache } from './safety.js';

/** Index directory, under the cache root. */
export const INDEX_DIR = '.index';

interface IndexRecord {
  readonly path: string;
  readonly tuple: string;
  readonly sha256: string;
}

/** Archives may live in sysfs (`/sys/kernel/kheaders.tar.xz`): the boot id is part of their identity. */
const IDENTITY = { ctime: true, boot: true } as const;

/** sha256 (hex) of a file, read synchronously in 1 MiB chunks. */
export function hashFile(p: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(p, 'r');
  try {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function recordFile(cache: Cache, p: string): string {
  return path.join(cache.root, INDEX_DIR, `${nameHash(p)}.json`);
}

/** Options of {@link archiveDigest}. */
export interface ArchiveDigestOptions {
  /**
   * When the file has to be hashed and is at most this many bytes, read it whole and return its bytes: a caller
   * that goes on to parse the file (a 5 MiB BTF) then neither reads it a second time nor re-hashes what it parses.
   * Default 0: hash in 1 MiB chunks, keep nothing.
   */
  readonly keepBytesUpTo?: number;
}

/**
 * The sha256 of the archive at `p`, from the index when its identity is unchanged, else by hashing it (and updating
 * the index). Records follow the rules of `records.ts`. `bytes`, when returned, are exactly the bytes hashed.
 */
export function archiveDigest(cache: Cache, p: string, options: ArchiveDigestOptions = {}): { sha256: string; fromIndex: boolean; bytes?: Buffer } {
  const abs = path.resolve(p);
  const file = recordFile(cache, abs);
  const st = fs.statSync(abs, { bigint: true });
  const before = statIdentity(st, IDENTITY);
  const rec = readRecord<IndexRecord>(cache, file, (v) => {
    const sha256 = field<string>(v, 'sha256', 'string');
    return field(v, 'path', 'string') === abs && field(v, 'tuple', 'string') === before && sha256 !== undefined && /^[0-9a-f]{64}$/.test(sha256) ? (v as IndexRecord) : undefined;
  });
  if (rec !== undefined) return { sha256: rec.sha256, fromIndex: true };
  const keep = st.size <= BigInt(options.keepBytesUpTo ?? 0);
  const bytes = keep ? fs.readFileSync(abs) : undefined;
  const sha256 = bytes !== undefined ? createHash('sha256').update(bytes).digest('hex') : hashFile(abs);
  if (fileIdentity(abs, IDENTITY) === before) writeRecord(cache, file, { path: abs, tuple: before, sha256 } satisfies IndexRecord);
  return bytes === undefined ? { sha256, fromIndex: false } : { sha256, fromIndex: false, bytes };
}
