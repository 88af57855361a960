/**
 * Extract a kernel-headers archive into the cache, once, keyed by content — the archive domain's consumer of the
 * generic entry protocol (`cache/entry.ts`), as `btf/cache.ts` and `compile/object-cache.ts` are theirs.
 *
 * Key = `x<EXTRACT_FORMAT_VERSION>-<sha256 of the archive bytes>` in namespace `kheaders` —
 * never the release string (a kernel rebuilt with the same release must not get stale headers).
 *
 * Warm path for a file: `stat` → index hit → sha256 → complete entry → return (no hashing, no
 * extraction, no lock). See `stat-index.ts`. Stream sources are spooled to a private file in the
 * cache (hashing on the way) and then handled like a file; buffers are hashed in memory.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import type { ExtractOptions, ExtractProgress } from './extract.js';
import { DEFAULT_LIMITS, type ExtractLimits } from './limits.js';
import type { ArchiveSource } from './source.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { ensureEntry, toCache, type CacheRef } from '../cache/entry.js';
import type { Lease } from '../cache/lease.js';
import type { LockOptions } from '../cache/lock.js';
import type { Manifest } from '../cache/manifest.js';
import { archiveDigest } from '../cache/stat-index.js';

/** Bump when the extracted layout or policy changes: old entries are then ignored. */
export const EXTRACT_FORMAT_VERSION = 1;

/** Cache namespace of extracted header archives. */
export const KHEADERS_NAMESPACE = 'kheaders';

/** Options of {@link extractArchiveToCache}. */
export interface ExtractToCacheOptions {
  /** The cache (opened, or options to open it). Default: the default location. */
  readonly cache?: CacheRef;
  /** Progress of a cold extraction (compressed bytes). */
  readonly onProgress?: (progress: ExtractProgress) => void;
  /** Extraction caps. */
  readonly limits?: Partial<ExtractLimits>;
  /** Description recorded in the manifest (default: the path, or `<stream>`). */
  readonly source?: string;
  /** Decoder back end (see `archive/decoder.ts`). */
  readonly decoder?: ExtractOptions['decoder'];
  /** Take a reader lease (protects the entry from prune until `lease.release()`). */
  readonly lease?: boolean;
  /** Lock timing. */
  readonly lock?: LockOptions;
  readonly signal?: AbortSignal;
  /**
   * The sha256 (hex) a stream source is known to have (a download's trusted checksum). The stream is then extracted as
   * it arrives, without spooling it to a file first; the tree is published only if the bytes read hash to this value
   * (else `ARCHIVE_CORRUPT`, nothing cached). When the entry already exists the stream is not read but destroyed.
   * Ignored for paths and buffers (their digest is computed).
   */
  readonly sha256?: string;
}

/** Result of {@link extractArchiveToCache}. */
export interface ExtractToCacheResult {
  /** The extracted headers tree (contains `include/`, `arch/`). */
  readonly dir: string;
  /** sha256 of the archive bytes. */
  readonly sha256: string;
  /** `UTS_RELEASE` of the tree, or undefined when it has no `include/generated/utsrelease.h`. */
  readonly release: string | undefined;
  readonly manifest: Manifest;
  /** True when no extraction happened in this call. */
  readonly fromCache: boolean;
  /** Present when `lease` was asked for. */
  readonly lease?: Lease;
}

/** The cache key of an archive with this sha256. */
export function kheadersKey(sha256: string): string {
  return `x${EXTRACT_FORMAT_VERSION}-${sha256}`;
}

/** Spool a stream into a private file under the cache root, hashing it; capped. */
async function spool(root: string, stream: Readable, maxBytes: number): Promise<{ file: string; sha256: string }> {
  const file = path.join(root, `.spool-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`);
  const h = createHash('sha256');
  let n = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
      n += chunk.byteLength;
      if (n > maxBytes) {
        cb(new BpfCompileError(ErrorCode.ARCHIVE_TOO_LARGE, `the archive stream exceeds ${maxBytes} bytes`, { details: { limit: 'maxCompressedBytes' } }));
        return;
      }
      h.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(stream, tap, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    fs.rmSync(file, { force: true });
    throw err;
  }
  return { file, sha256: h.digest('hex') };
}

/**
 * Extract `archive` (a path, bytes, or a stream) into the cache unless an entry for its content
 * exists; return the headers tree. Concurrent callers (threads or processes) extract once.
 *
 * @throws BpfCompileError `ARCHIVE_*`, `CACHE_UNSAFE`, `CACHE_LOCKED`, `INPUT_UNREADABLE`.
 */
export async function extractArchiveToCache(archive: ArchiveSource, options: ExtractToCacheOptions = {}): Promise<ExtractToCacheResult> {
  const cache = toCache(options.cache);
  let input: ArchiveSource;
  let sha256: string;
  let spooled: string | undefined;
  /** A stream extracted as it arrives, against `options.sha256`. */
  let trustedStream: Readable | undefined;
  let label: string;
  if (typeof archive === 'string') {
    input = archive;
    label = options.source ?? path.resolve(archive);
    try {
      sha256 = archiveDigest(cache, archive).sha256;
    } catch (err) {
      if (err instanceof BpfCompileError) throw err;
      throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot read archive ${archive}: ${(err as Error).message}`, { cause: err, details: { path: archive } });
    }
  } else if (archive instanceof Uint8Array) {
    input = archive;
    label = options.source ?? '<buffer>';
    sha256 = createHash('sha256').update(archive).digest('hex');
  } else if (options.sha256 !== undefined) {
    input = archive;
    trustedStream = archive;
    sha256 = options.sha256.toLowerCase();
    label = options.source ?? '<stream>';
  } else {
    const maxBytes = options.limits?.maxCompressedBytes ?? DEFAULT_LIMITS.maxCompressedBytes;
    const s = await spool(cache.root, archive, maxBytes);
    input = s.file;
    spooled = s.file;
    sha256 = s.sha256;
    label = options.source ?? '<stream>';
  }
  try {
    const entry = await ensureEntry(cache, {
      namespace: KHEADERS_NAMESPACE,
      key: kheadersKey(sha256),
      ...(options.lease === undefined ? {} : { lease: options.lease }),
      ...(options.lock === undefined ? {} : { lock: options.lock }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
      build: async (dataDir, signal) => {
        // loaded only for a cold extraction: a warm resolve never pays for the tar/xz machinery
        const { extractInto } = await import('./extract.js');
        const r = await extractInto(input, dataDir, {
          signal,
          ...(options.limits === undefined ? {} : { limits: options.limits }),
          ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
          ...(options.decoder === undefined ? {} : { decoder: options.decoder }),
        });
        if (r.sha256 !== sha256) {
          const trusted = trustedStream !== undefined;
          throw new BpfCompileError(
            ErrorCode.ARCHIVE_CORRUPT,
            trusted ? `the archive stream ${label} does not have the expected sha256 ${sha256} (got ${r.sha256})` : `the archive ${label} changed while it was being read`,
            {
              hint: trusted
                ? 'The bytes were corrupted or replaced on the way; nothing was cached. Retry, or check the source.'
                : 'Retry once the file is no longer being written.',
              details: { expected: sha256, actual: r.sha256 },
            },
          );
        }
        return {
          source: label,
          sha256,
          ...(r.release === undefined ? {} : { release: r.release }),
          files: r.files,
          bytes: r.bytes,
          extra: {
            extractFormat: EXTRACT_FORMAT_VERSION,
            compressedBytes: r.compressedBytes,
            tarBytes: r.tarBytes,
            entries: r.entries,
            dirs: r.dirs,
            symlinks: r.symlinks,
            decoder: r.decoder,
          },
        };
      },
    });
    return {
      dir: entry.dir,
      sha256,
      release: entry.manifest.release,
      manifest: entry.manifest,
      fromCache: entry.fromCache,
      ...(entry.lease === undefined ? {} : { lease: entry.lease }),
    };
  } finally {
    if (spooled !== undefined) fs.rmSync(spooled, { force: true });
    // a stream the build never read (entry found, or the build failed early) must not be left waiting
    if (trustedStream !== undefined && !trustedStream.destroyed) trustedStream.destroy();
  }
}
