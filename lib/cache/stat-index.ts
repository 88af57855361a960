/**
 * The warm-path index: archive path → sha256, trusted only while the file's identity is
 * unchanged.
 *
 * A warm resolve must not re-extract, yet must notice a changed archive (a kernel rebuilt with
 * the same release, a new `/sys/kernel/kheaders.tar.xz` after reboot). The cache key is the
 * archive's sha256, so the question is only "what is this file's sha256?":
 *
 * - `<root>/.index/<sha256(path)>.json` records `(path, dev, ino, size, mtimeNs, ctimeNs, bootId)`
 *   → `sha256`. When the current `stat` tuple is equal, the recorded hash is used (one stat +
 *   one small read); the boot id makes every reboot re-hash once (sysfs inodes/times are
 *   per-boot).
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
import { bootId } from './proc.js';
import { ensureOwnedDir, checkOwnedPath, type Cache } from './safety.js';

/** Index directory, under the cache root. */
export const INDEX_DIR = '.index';

interface IndexRecord {
  readonly path: string;
  readonly tuple: string;
  readonly sha256: string;
}

function statTuple(p: string): string {
  const st = fs.statSync(p, { bigint: true });
  return [st.dev, st.ino, st.size, st.mtimeNs, st.ctimeNs, bootId()].join(':');
}

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
  return path.join(cache.root, INDEX_DIR, `${createHash('sha256').update(p).digest('hex').slice(0, 32)}.json`);
}

/**
 * The sha256 of the archive at `p`, from the index when its stat tuple is unchanged, else by
 * hashing it (and updating the index).
 */
export function archiveDigest(cache: Cache, p: string): { sha256: string; fromIndex: boolean } {
  const abs = path.resolve(p);
  const file = recordFile(cache, abs);
  const before = statTuple(abs);
  try {
    if (checkOwnedPath(file, 'file', cache.uid)) {
      const rec = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<IndexRecord>;
      if (rec.path === abs && rec.tuple === before && typeof rec.sha256 === 'string' && /^[0-9a-f]{64}$/.test(rec.sha256)) {
        return { sha256: rec.sha256, fromIndex: true };
      }
    }
  } catch (err) {
    if ((err as { code?: unknown }).code === 'CACHE_UNSAFE') throw err;
    // torn or unreadable record: re-hash
  }
  const sha256 = hashFile(abs);
  if (statTuple(abs) === before) {
    try {
      ensureOwnedDir(cache, path.join(cache.root, INDEX_DIR));
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify({ path: abs, tuple: before, sha256 } satisfies IndexRecord), { mode: 0o644 });
      fs.renameSync(tmp, file);
    } catch {
      // read-only cache: the index is an optimisation
    }
  }
  return { sha256, fromIndex: false };
}
