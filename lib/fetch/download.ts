/**
 * One robust HTTP(S) download into a file: manual redirects (counted, no downgrade, http(s) only), connect and idle
 * timeouts, retries with exponential backoff on network errors and 5xx, a size cap, streaming sha256, and a typed error
 * for every failure (see `errors.ts`). The destination is removed on any failure.
 *
 * Proxies: Node 20's built-in `fetch` ignores `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`, and undici (which has
 * `EnvHttpProxyAgent`) is bundled in Node but not importable. Proxies are therefore NOT supported yet; a network error
 * while a proxy variable is set says so in its hint.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { BpfCompileError, errnoCode } from '../errors.js';
import { fetchError, fetchFailureReason } from './errors.js';
import { checkUrl, nextRedirect } from './redirect.js';

/** Progress of a download. */
export interface DownloadProgress {
  readonly done: number;
  /** From Content-Length, when sent. */
  readonly total: number | undefined;
}

/** Options of {@link download}. */
export interface DownloadOptions {
  /** File to write (created 0600, overwritten); should be a private temp path inside the cache. */
  readonly dest: string;
  /** Lowercase hex sha256 the body must have; a mismatch removes `dest` and throws (reason `checksum`). */
  readonly expectedSha256?: string;
  /** Refuse bodies larger than this (Content-Length and streamed). */
  readonly maxBytes: number;
  /** Time until response headers arrive. Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** Longest pause between two body chunks. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Retries after the first attempt, on network errors, timeouts, truncation and 5xx. Default 3. */
  readonly retries?: number;
  /** First backoff; attempt n waits `retryBaseMs × 2^n`. Default 500 ms. */
  readonly retryBaseMs?: number;
  /** Redirects followed per attempt. Default 5. */
  readonly maxRedirects?: number;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly signal?: AbortSignal;
  /** Allow plain `http://` (the caller guarantees a checksum it trusts). */
  readonly allowInsecureHttp: boolean;
  /** Environment (for the proxy hint only). Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Result of {@link download}. */
export interface DownloadResult {
  /** The URL the body came from after redirects. */
  readonly url: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Download defaults. */
export const DOWNLOAD_DEFAULTS = { connectTimeoutMs: 10_000, idleTimeoutMs: 30_000, retries: 3, retryBaseMs: 500, maxRedirects: 5 } as const;

/** errno codes of the local file system (writing `dest`). */
const LOCAL_ERRNO: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENOENT', 'EISDIR', 'EMFILE', 'ENFILE', 'EIO']);

const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy'];

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) return reject(signal.reason as Error);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function isRetryable(err: unknown): boolean {
  const reason = fetchFailureReason(err);
  if (reason === 'network' || reason === 'timeout' || reason === 'truncated') return true;
  if (reason === 'http-status') {
    const status = (err as BpfCompileError).details['status'];
    return typeof status === 'number' && status >= 500;
  }
  return false;
}

/** Per-attempt abort state: which timer fired, if any. */
interface AttemptAbort {
  readonly controller: AbortController;
  timedOut: 'connect' | 'idle' | undefined;
  timer: NodeJS.Timeout | undefined;
  arm(kind: 'connect' | 'idle', ms: number): void;
  disarm(): void;
}

function attemptAbort(user: AbortSignal | undefined): AttemptAbort {
  const controller = new AbortController();
  const state: AttemptAbort = {
    controller,
    timedOut: undefined,
    timer: undefined,
    arm(kind, ms) {
      state.disarm();
      state.timer = setTimeout(() => {
        state.timedOut = kind;
        controller.abort(new Error(`${kind} timeout`));
      }, ms);
    },
    disarm() {
      if (state.timer !== undefined) clearTimeout(state.timer);
      state.timer = undefined;
    },
  };
  if (user !== undefined) {
    if (user.aborted) controller.abort(user.reason);
    else user.addEventListener('abort', () => controller.abort(user.reason), { once: true });
  }
  return state;
}

/** The same error, with `details.attempts`. */
function withAttempts(err: BpfCompileError, attempts: number): BpfCompileError {
  return new BpfCompileError(err.code, `${err.message} (after ${attempts} attempts)`, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    ...(err.cause === undefined ? {} : { cause: err.cause }),
    details: { ...err.details, attempts },
  });
}

/** Map a thrown fetch/stream error to a typed error (or rethrow a user abort as is). */
function classify(err: unknown, ab: AttemptAbort, url: string, user: AbortSignal | undefined, env: DownloadOptions['env'], progress?: { done: number; total: number | undefined }): unknown {
  if (err instanceof BpfCompileError) return err;
  // a local write failure (disk full, permissions) is not the network's fault: report it as is, never retried
  if (LOCAL_ERRNO.has(errnoCode(err) ?? '')) return err;
  if (ab.timedOut !== undefined) {
    return fetchError('timeout', `${ab.timedOut === 'connect' ? 'no response' : 'the download stalled'} from ${url}`, { url, details: { phase: ab.timedOut }, cause: err });
  }
  if (user?.aborted === true) return err;
  if (progress?.total !== undefined && progress.done < progress.total) {
    return fetchError('truncated', `${url}: connection closed after ${progress.done} of ${progress.total} bytes`, { url, cause: err, details: { received: progress.done, expected: progress.total } });
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const msg = cause instanceof Error ? cause.message : String(cause);
  const proxy = PROXY_VARS.find((v) => (env ?? process.env)[v] !== undefined && (env ?? process.env)[v] !== '');
  return fetchError('network', `cannot download ${url}: ${msg}`, {
    url,
    cause: err,
    ...(proxy === undefined ? {} : { hint: `${proxy} is set, but bpf-compile does not support proxies yet (Node 20's fetch ignores them); download the archive yourself and pass --kheaders FILE` }),
  });
}

/** Follow redirects; return the final response (status < 300 or ≥ 400 handled by the caller). */
async function request(start: URL, opts: DownloadOptions, ab: AttemptAbort): Promise<{ res: Response; url: URL }> {
  const seen = new Set<string>([start.href]);
  let url = start;
  const maxRedirects = opts.maxRedirects ?? DOWNLOAD_DEFAULTS.maxRedirects;
  for (let hops = 0; ; hops++) {
    ab.arm('connect', opts.connectTimeoutMs ?? DOWNLOAD_DEFAULTS.connectTimeoutMs);
    const res = await fetch(url, { redirect: 'manual', signal: ab.controller.signal, headers: { 'accept-encoding': 'identity' } });
    ab.disarm();
    if (res.status < 300 || res.status >= 400 || res.status === 304) return { res, url };
    await res.body?.cancel().catch(() => undefined);
    if (hops >= maxRedirects) throw fetchError('redirect', `more than ${maxRedirects} redirects from ${start.href}`, { url: start.href, status: res.status });
    const next = nextRedirect(url, res.headers.get('location'), seen);
    checkUrl(next.href, opts.allowInsecureHttp);
    seen.add(next.href);
    url = next;
  }
}

async function attempt(start: URL, opts: DownloadOptions): Promise<DownloadResult> {
  const ab = attemptAbort(opts.signal);
  const progress: { done: number; total: number | undefined } = { done: 0, total: undefined };
  let where = start.href;
  try {
    const { res, url } = await request(start, opts, ab);
    where = url.href;
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      throw fetchError('http-status', `${where}: HTTP ${res.status}${res.statusText === '' ? '' : ` ${res.statusText}`}`, { url: where, status: res.status });
    }
    const lengthHeader = res.headers.get('content-length');
    const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    progress.total = total;
    if (total !== undefined && total > opts.maxBytes) {
      await res.body?.cancel().catch(() => undefined);
      throw fetchError('too-large', `${where} is ${total} bytes, more than the ${opts.maxBytes} allowed`, { url: where, details: { limit: opts.maxBytes, size: total } });
    }
    if (res.body === null) throw fetchError('truncated', `${where}: empty response`, { url: where });
    const hash = createHash('sha256');
    const idleMs = opts.idleTimeoutMs ?? DOWNLOAD_DEFAULTS.idleTimeoutMs;
    ab.arm('idle', idleMs);
    const tap = new Transform({
      transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
        ab.arm('idle', idleMs);
        progress.done += chunk.byteLength;
        if (progress.done > opts.maxBytes) {
          cb(fetchError('too-large', `${where} exceeds the ${opts.maxBytes} bytes allowed`, { url: where, details: { limit: opts.maxBytes } }));
          return;
        }
        hash.update(chunk);
        opts.onProgress?.({ done: progress.done, total });
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as NodeReadableStream<Uint8Array>), tap, fs.createWriteStream(opts.dest, { flags: 'w', mode: 0o600 }));
    ab.disarm();
    if (total !== undefined && progress.done !== total) {
      throw fetchError('truncated', `${where}: got ${progress.done} of ${total} bytes`, { url: where, details: { received: progress.done, expected: total } });
    }
    const sha256 = hash.digest('hex');
    if (opts.expectedSha256 !== undefined && sha256 !== opts.expectedSha256.toLowerCase()) {
      throw fetchError('checksum', `sha256 mismatch for ${where}: expected ${opts.expectedSha256}, got ${sha256}`, { url: where, details: { expected: opts.expectedSha256, actual: sha256 } });
    }
    return { url: where, sha256, bytes: progress.done };
  } catch (err) {
    throw classify(err, ab, where, opts.signal, opts.env, progress);
  } finally {
    ab.disarm();
  }
}

/**
 * Download `url` into `opts.dest`. See the module comment.
 *
 * @throws BpfCompileError `INPUT_UNREADABLE` with `details.reason` (`http-status`, `checksum`, `timeout`, `too-large`,
 *   `redirect`, `insecure`, `truncated`, `network`), `details.url`, `details.status`; or the abort reason of `signal`.
 */
export async function download(url: string, opts: DownloadOptions): Promise<DownloadResult> {
  const start = checkUrl(url, opts.allowInsecureHttp);
  const retries = opts.retries ?? DOWNLOAD_DEFAULTS.retries;
  const base = opts.retryBaseMs ?? DOWNLOAD_DEFAULTS.retryBaseMs;
  for (let n = 0; ; n++) {
    try {
      return await attempt(start, opts);
    } catch (err) {
      fs.rmSync(opts.dest, { force: true });
      if (!isRetryable(err) || n >= retries || opts.signal?.aborted === true) {
        throw err instanceof BpfCompileError && n > 0 ? withAttempts(err, n + 1) : err;
      }
      await sleep(base * 2 ** n, opts.signal);
    }
  }
}
