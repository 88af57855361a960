/**
 * Names for files bpf-compile creates: a short hash for side records named after a path, and random suffixes for
 * temp files. Neither uses `node:crypto` on the common path, so the CLI's bundle (where built-ins load on first use)
 * never loads it for them: that module, and the stream modules it pulls in, cost a few milliseconds of every start-up
 * that reaches it, which a warm `headers` or a `compile --no-cache` otherwise would not pay (docs/performance.md).
 *
 * - {@link nameHash} is **not** a cryptographic hash. It only spreads names: whatever a record file holds is
 *   validated against what it is for (the path it records, the file identity), so two names that collide cost a
 *   recomputation, never a wrong answer. Content addresses (cache keys, digests) stay sha256.
 * - {@link randomHex} is unpredictable: temp files may sit in directories others can write (an output in `/tmp`,
 *   written by `llc -o`), where a guessable name could be pre-empted with a symlink. It reads the kernel's random
 *   source, and falls back to `crypto.randomBytes` where `/dev/urandom` cannot be read (a bare chroot).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';

/** FNV-1a's 32-bit prime. */
const FNV_PRIME = 0x01000193;
/** Four lanes, four starting states (FNV's offset basis, then arbitrary odd constants): 128 bits of name. */
const SEEDS = [0x811c9dc5, 0x2b992ddf, 0x5bd1e995, 0x9e3779b1] as const;

/** murmur3's 32-bit finaliser: every input bit reaches every output bit. */
function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * A 32-hex-digit name derived from `text` (its UTF-16 code units, so any string): four FNV-1a lanes with different
 * starting states, each lane also mixing in the one before it, then finalised. Stable across processes, versions and
 * machines. Not for security: see the module comment.
 */
export function nameHash(text: string): string {
  let a: number = SEEDS[0];
  let b: number = SEEDS[1];
  let c: number = SEEDS[2];
  let d: number = SEEDS[3];
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    a = Math.imul(a ^ u, FNV_PRIME);
    b = Math.imul(b ^ u ^ (a >>> 24), FNV_PRIME);
    c = Math.imul(c ^ u ^ (b >>> 16), FNV_PRIME);
    d = Math.imul(d ^ u ^ (c >>> 8), FNV_PRIME);
  }
  const n = text.length;
  return [finish(a ^ n), finish(b ^ a), finish(c ^ b), finish(d ^ c)].map((x) => x.toString(16).padStart(8, '0')).join('');
}

/** Random bytes from `/dev/urandom`, or undefined when it cannot be read in full. */
function urandom(bytes: number): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = fs.openSync('/dev/urandom', 'r');
    const buf = Buffer.alloc(bytes);
    let off = 0;
    while (off < bytes) {
      const n = fs.readSync(fd, buf, off, bytes - off, null);
      if (n <= 0) return undefined;
      off += n;
    }
    return buf;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** `bytes` unpredictable bytes as hex (`2 × bytes` digits), for temp-file names. */
export function randomHex(bytes: number): string {
  return (urandom(bytes) ?? crypto.randomBytes(bytes)).toString('hex');
}
