/** Small downloads (index files, checksums, signatures) read into memory through a private temp file in the cache root. */
import fs from 'node:fs';
import path from 'node:path';
import { cacheAccessError, type Cache } from '../cache/safety.js';
import { download, type DownloadOptions } from './download.js';

/** Download knobs callers (tests) may tune. */
export type DownloadTuning = Partial<Pick<DownloadOptions, 'connectTimeoutMs' | 'idleTimeoutMs' | 'retries' | 'retryBaseMs' | 'maxRedirects' | 'maxBytes'>>;

/** What {@link fetchBytes} needs besides the URL. */
export interface FetchSmallOptions {
  readonly cache: Cache;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly tuning: DownloadTuning;
  readonly signal: AbortSignal | undefined;
  readonly maxBytes: number;
  /** sha256 the body must have (else reason `checksum`). */
  readonly expectedSha256?: string;
  /** TLS settings of the origin. */
  readonly tls?: DownloadOptions['tls'];
}

/** A private temp path in the cache root (removed by the caller). */
export function cacheTempPath(cache: Cache, prefix: string): string {
  return path.join(cache.root, `.${prefix}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`);
}

/**
 * Download `url` into memory (plain http allowed: the caller decides trust — a pinned checksum, a signature, a
 * loopback or https origin). @throws BpfCompileError `INPUT_UNREADABLE` with a fetch reason.
 */
export async function fetchBytes(url: string, o: FetchSmallOptions): Promise<Buffer> {
  const dest = cacheTempPath(o.cache, 'fetch');
  try {
    await download(url, {
      ...o.tuning,
      maxBytes: o.maxBytes,
      dest,
      allowInsecureHttp: true,
      env: o.env,
      ...(o.expectedSha256 === undefined ? {} : { expectedSha256: o.expectedSha256 }),
      ...(o.tls === undefined ? {} : { tls: o.tls }),
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
    return fs.readFileSync(dest);
  } catch (err) {
    throw cacheAccessError(o.cache.root, dest, err, 'write') ?? err;
  } finally {
    fs.rmSync(dest, { force: true });
  }
}
