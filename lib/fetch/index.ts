/**
 * Fetch kernel headers (or BTF) from HTTP mirrors into the cache.
 *
 * Per mirror, in order: resolve the artefact URL and its sha256 (`resolve.ts`), then the download is itself a locked,
 * atomic cache entry `downloads/d1-<sha256>` (so N processes asking for one cold key download once), then a kheaders
 * archive is extracted with `extractArchiveToCache` (one extraction per content). A warm run (memo + complete
 * `downloads` entry) makes no network call; offline never does.
 *
 * Cold, a kheaders archive is extracted while it downloads (as `curl | tar -x` would): the body of the first attempt
 * is also fed to the extraction, keyed by the trusted sha256, which publishes the tree only if the bytes it read hash
 * to it. Should that streamed extraction fail for any reason (a retried download, a lagging consumer, a hostile
 * archive), the verified file is extracted the ordinary way, so the outcome — tree or typed error — is the same.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { DEFAULT_LIMITS } from '../archive/limits.js';
import { ensureEntry, toCache } from '../cache/entry.js';
import { extractArchiveToCache, KHEADERS_NAMESPACE, kheadersKey, type ExtractToCacheOptions, type ExtractToCacheResult } from '../archive/cache.js';
import { MANIFEST_FILE } from '../cache/manifest.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import type { Target } from '../target.js';
import { readOsRelease } from '../system/os-release.js';
import { download } from './download.js';
import { FATAL_FETCH_REASONS, fetchFailureReason, OfflineMiss, redactCredentials } from './errors.js';
import { mirrorList, offlineFromEnv } from './mirrors.js';
import { resolveArtifact, type DownloadTuning } from './resolve.js';
import { checkUrl } from './redirect.js';

export { download, DOWNLOAD_DEFAULTS, type DownloadOptions, type DownloadProgress, type DownloadResult } from './download.js';
export { fetchError, fetchFailureReason, redactCredentials, type FetchFailureReason } from './errors.js';
export type { DownloadTuning } from './resolve.js';
export { mirrorList, offlineFromEnv, MIRROR_ENV, OFFLINE_ENV } from './mirrors.js';

/** Cache namespace of downloaded artefacts. */
export const DOWNLOADS_NAMESPACE = 'downloads';
/** Name of the downloaded file inside a `downloads` entry's data dir. */
export const DOWNLOAD_FILE = 'archive';

/** The `downloads` key of an artefact with this sha256. */
export function downloadKey(sha256: string): string {
  return `d1-${sha256}`;
}

/** Progress of {@link fetchHeaders}. */
export interface FetchProgress {
  readonly phase: 'download' | 'extract';
  readonly url: string;
  readonly done: number;
  readonly total: number | undefined;
}

/** Options of {@link fetchHeaders}. */
export interface FetchHeadersOptions {
  /** Release, arch row and root (for `/etc/os-release`). */
  readonly target: Target;
  /** Mirrors; empty or absent → `BPF_COMPILE_MIRROR`. */
  readonly mirrors?: readonly string[];
  readonly cacheDir?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** No network at all (also `BPF_COMPILE_OFFLINE=1`). */
  readonly offline?: boolean;
  readonly onProgress?: (p: FetchProgress) => void;
  /** Default `kheaders`. `btf` only downloads (no extraction). */
  readonly kind?: 'kheaders' | 'btf';
  /** Pinned sha256 of the artefact. */
  readonly sha256?: string;
  /** Download timeouts/retries/caps (tests shorten them). */
  readonly download?: DownloadTuning;
  readonly signal?: AbortSignal;
}

interface FoundBase {
  readonly found: true;
  readonly mirror: string;
  readonly url: string;
  readonly sha256: string;
  /** False when the artefact came from the `downloads` cache. */
  readonly downloaded: boolean;
  /** The downloaded file (inside the `downloads` entry). */
  readonly file: string;
}

/** What {@link fetchHeaders} answers. */
export type FetchHeadersResult =
  | (FoundBase & { readonly kind: 'kheaders'; readonly dir: string; readonly release: string | undefined; readonly extracted: boolean })
  | (FoundBase & { readonly kind: 'btf' })
  | {
      readonly found: false;
      /** One line per mirror (or why there was none). */
      readonly reasons: readonly string[];
      /** The non-fatal typed errors met, in order. */
      readonly errors: readonly BpfCompileError[];
    };

/** True when an error must stop the whole fetch (integrity, hostile content, unsafe cache) rather than try the next mirror. */
export function isFatalFetchError(err: unknown): boolean {
  if (!(err instanceof BpfCompileError)) return true;
  const reason = fetchFailureReason(err);
  if (reason !== undefined) return FATAL_FETCH_REASONS.has(reason);
  return err.code !== ErrorCode.INPUT_UNREADABLE;
}

/**
 * Fetch the target's headers archive (or BTF) from the first mirror that serves it, into the cache.
 *
 * @throws BpfCompileError on fatal failures: `INPUT_UNREADABLE` with reason `checksum`/`insecure`/`redirect`/`too-large`,
 *   `ARCHIVE_*` (a hostile or corrupt archive), `CACHE_*`. Other failures are collected per mirror in `{ found: false }`.
 */
export async function fetchHeaders(options: FetchHeadersOptions): Promise<FetchHeadersResult> {
  const env = options.env ?? process.env;
  const mirrors = mirrorList(options.mirrors, env);
  if (mirrors.length === 0) return { found: false, reasons: ['no mirror configured (BPF_COMPILE_MIRROR or --mirror)'], errors: [] };
  const offline = options.offline === true || offlineFromEnv(env);
  const kind = options.kind ?? 'kheaders';
  const cache = toCache({ cacheDir: options.cacheDir, env });
  const os = await readOsRelease(options.target.root);
  const pinned = options.sha256?.toLowerCase();
  const reasons: string[] = [];
  const errors: BpfCompileError[] = [];
  const complete = (namespace: string, key: string): boolean => fs.existsSync(path.join(cache.root, namespace, key, MANIFEST_FILE));
  const downloadsComplete = (sha256: string): boolean => complete(DOWNLOADS_NAMESPACE, downloadKey(sha256));

  for (const mirror of mirrors) {
    try {
      const art = await resolveArtifact(
        {
          mirror,
          kind,
          release: options.target.release,
          arch: options.target.arch,
          os,
          cache,
          offline,
          pinnedSha256: pinned,
          env,
          tuning: options.download ?? {},
          signal: options.signal,
        },
        (memo) => downloadsComplete(memo.sha256),
      );
      if ('skip' in art) {
        reasons.push(art.skip);
        continue;
      }
      // extract progress is reported once the download is done (a streamed extraction starts before)
      let downloaded: number | undefined;
      const extractOptions: ExtractToCacheOptions = {
        cache,
        source: redactCredentials(art.url),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
        ...(options.onProgress === undefined
          ? {}
          : {
              onProgress: (p) => {
                if (downloaded !== undefined) options.onProgress?.({ phase: 'extract', url: art.url, done: p.bytesRead, total: p.totalBytes ?? downloaded });
              },
            }),
      };
      /** The extraction fed while downloading: its result, or undefined when it failed (then the file is extracted). */
      let streamed: Promise<ExtractToCacheResult | undefined> | undefined;
      let entry;
      try {
        entry = await ensureEntry(cache, {
          namespace: DOWNLOADS_NAMESPACE,
          key: downloadKey(art.sha256),
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          build: async (dataDir, signal) => {
            if (offline) throw new OfflineMiss();
            let tee: PassThrough | undefined;
            if (kind === 'kheaders' && !complete(KHEADERS_NAMESPACE, kheadersKey(art.sha256))) {
              tee = new PassThrough();
              streamed = extractArchiveToCache(tee, { ...extractOptions, sha256: art.sha256 }).catch(() => undefined);
            }
            const r = await download(art.url, {
              ...(tee === undefined ? {} : { tee }),
              ...options.download,
              maxBytes: options.download?.maxBytes ?? DEFAULT_LIMITS.maxCompressedBytes,
              dest: path.join(dataDir, DOWNLOAD_FILE),
              expectedSha256: art.sha256,
              allowInsecureHttp: true, // the checksum is trusted (resolve.ts refuses untrusted plain-http metadata)
              env,
              signal,
              ...(options.onProgress === undefined ? {} : { onProgress: (p) => options.onProgress?.({ phase: 'download', url: art.url, ...p }) }),
            });
            downloaded = r.bytes;
            return { source: redactCredentials(r.url), sha256: r.sha256, files: 1, bytes: r.bytes, extra: { kind, mirror: redactCredentials(mirror) } };
          },
        });
      } catch (err) {
        await streamed; // its tee was destroyed: let it wind down (no xz child left behind) before going on
        if (err instanceof OfflineMiss) {
          reasons.push(`offline and ${art.url} (sha256 ${art.sha256.slice(0, 12)}…) is not in the cache`);
          continue;
        }
        throw err;
      }
      if (entry.manifest.sha256 !== art.sha256) {
        throw new BpfCompileError(ErrorCode.CACHE_UNSAFE, `cache entry ${entry.path} does not hold sha256 ${art.sha256}`, { details: { path: entry.path } });
      }
      const file = path.join(entry.dir, DOWNLOAD_FILE);
      const base = { found: true as const, mirror, url: art.url, sha256: art.sha256, downloaded: !entry.fromCache, file };
      if (kind === 'btf') return { ...base, kind: 'btf' };
      downloaded ??= entry.manifest.bytes;
      const x = (await streamed) ?? (await extractArchiveToCache(file, extractOptions));
      return { ...base, kind: 'kheaders', dir: x.dir, release: x.release, extracted: !x.fromCache };
    } catch (err) {
      if (isFatalFetchError(err)) throw err;
      const e = err as BpfCompileError;
      reasons.push(`${mirror}: ${e.message}`);
      errors.push(e);
    }
  }
  return { found: false, reasons: reasons.map(redactCredentials), errors };
}

/** Validate a mirror string early (CLI): an http(s) URL or template. @throws BpfCompileError reason `insecure`. */
export function checkMirror(mirror: string): void {
  checkUrl(mirror.replace(/\{[a-z_]+\}/g, 'x'), true);
}
