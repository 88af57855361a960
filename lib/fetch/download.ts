/**
 * One robust HTTP(S) download into a file: manual redirects (counted, no downgrade, http(s) only), connect and idle
 * timeouts, retries with exponential backoff on network errors and 5xx, a size cap, streaming sha256, and a typed error
 * for every failure (see `errors.ts`). The destination is removed on any failure.
 *
 * Proxies (see `proxy.ts`), read from `opts.env` (default `process.env`):
 * - Variables: `https_proxy`/`HTTPS_PROXY` for `https://` URLs, `http_proxy`/`HTTP_PROXY` for `http://` URLs. The
 *   lowercase form wins over the uppercase one (like curl, which reads only lowercase `http_proxy`; we also honour
 *   `HTTP_PROXY`, like Node/undici). An empty variable counts as unset. Unlike curl, an `https://` URL with no HTTPS
 *   proxy set goes through the HTTP proxy (undici's rule); an `http://` URL never uses the HTTPS proxy.
 * - A value is `http://[user:password@]host[:port]` or `https://…` (a value without a scheme means `http://`); anything
 *   else (e.g. `socks5://`) is a typed error before any request. Credentials are sent as `Proxy-Authorization: Basic`
 *   and never printed: messages show `scheme://***@host:port`.
 * - `no_proxy`/`NO_PROXY` (lowercase wins) exempts hosts, with the semantics of undici's `EnvHttpProxyAgent`: entries
 *   separated by commas and/or whitespace, matched case-insensitively against the URL's host name (IPv6 in brackets,
 *   `[::1]`); `name` matches that exact host only (not its subdomains); `.domain` or `*.domain` matches any host ending
 *   in `.domain` (not `domain` itself); `name:port` / `.domain:port` match only that port (default 80/443); `*` alone
 *   exempts everything. No CIDR ranges: `127.0.0.1` does not cover `localhost`. The decision is made per URL, so each
 *   redirect hop is routed on its own.
 * - With any of the four proxy variables set, requests go through the npm `undici` package's `fetch` with an
 *   `EnvHttpProxyAgent` built from those values (imported lazily: a run without proxy variables never loads it, and uses
 *   Node's global `fetch`). undici tunnels every proxied request, plain `http://` included, through `CONNECT host:port`.
 * - A proxy that cannot be reached, or answers the CONNECT with an error status, gives reason `network` with
 *   `details.proxy` (redacted), `details.proxyVariable` and `details.proxyStatus`, and a hint naming the proxy and how to
 *   bypass it (NO_PROXY). A 4xx from the proxy (407: credentials) is not retried; 5xx and unreachable are.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { Writable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { BpfCompileError } from '../errors.js';
import { fetchError } from './errors.js';
import { type ClientTls, type Fetcher, type HttpResponse, type ProxyConfig, proxyConfigFromEnv, proxyFetcher, tlsFetcher } from './proxy.js';
import { checkUrl, nextRedirect } from './redirect.js';
import { classifyFailure, isRetryable, withAttempts } from './failure.js';

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
  /** Environment: the proxy variables (see the module comment). Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Also write the body of the first attempt here as it arrives (for a consumer that works on the bytes while they
   * download), and end it once that attempt has succeeded and its checksum verified. It is destroyed with the error
   * when the first attempt fails (retries then write only `dest`), and when more than {@link TEE_MAX_BUFFERED} bytes
   * wait in it unread: the tee never slows the download down or holds it up.
   */
  readonly tee?: Writable;
  /** TLS settings of the origin (CA, client certificate); default: the system's CAs, no client certificate. */
  readonly tls?: ClientTls;
}

/** Most bytes a {@link DownloadOptions.tee} may hold unread before it is given up. */
export const TEE_MAX_BUFFERED = 64 * 1024 * 1024;

/** Result of {@link download}. */
export interface DownloadResult {
  /** The URL the body came from after redirects. */
  readonly url: string;
  readonly sha256: string;
  readonly bytes: number;
}

/** Download defaults. */
export const DOWNLOAD_DEFAULTS = { connectTimeoutMs: 10_000, idleTimeoutMs: 30_000, retries: 3, retryBaseMs: 500, maxRedirects: 5 } as const;

/** Options with every default applied (once, in {@link download}). */
type Settled = DownloadOptions & { readonly [K in keyof typeof DOWNLOAD_DEFAULTS]: number };

function settle(opts: DownloadOptions): Settled {
  return {
    ...opts,
    connectTimeoutMs: opts.connectTimeoutMs ?? DOWNLOAD_DEFAULTS.connectTimeoutMs,
    idleTimeoutMs: opts.idleTimeoutMs ?? DOWNLOAD_DEFAULTS.idleTimeoutMs,
    retries: opts.retries ?? DOWNLOAD_DEFAULTS.retries,
    retryBaseMs: opts.retryBaseMs ?? DOWNLOAD_DEFAULTS.retryBaseMs,
    maxRedirects: opts.maxRedirects ?? DOWNLOAD_DEFAULTS.maxRedirects,
  };
}

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

/** How requests of one download are made: the global fetch, or undici's through the configured proxies. */
interface Route {
  readonly fetch: Fetcher;
  readonly proxies: ProxyConfig | undefined;
}

const globalFetch: Fetcher = async (url, init) => {
  const res = await fetch(url, init);
  // the global Response's body is the same WHATWG stream as node:stream/web's, typed through undici-types
  return { status: res.status, statusText: res.statusText, headers: res.headers, body: res.body as NodeReadableStream<Uint8Array> | null };
};

async function routeFor(env: DownloadOptions['env'], tls: ClientTls | undefined): Promise<Route> {
  const proxies = proxyConfigFromEnv(env ?? process.env);
  if (tls !== undefined) return { fetch: await tlsFetcher(proxies, tls), proxies };
  return proxies === undefined ? { fetch: globalFetch, proxies } : { fetch: await proxyFetcher(proxies), proxies };
}

/** Per-attempt abort state: which timer fired, if any. */
interface AttemptAbort {
  readonly controller: AbortController;
  /** The URL of the request in flight (the current redirect hop): decides which proxy, if any, it went through. */
  hop: URL;
  timedOut: 'connect' | 'idle' | undefined;
  timer: NodeJS.Timeout | undefined;
  arm(kind: 'connect' | 'idle', ms: number): void;
  disarm(): void;
}

function attemptAbort(user: AbortSignal | undefined, start: URL): AttemptAbort {
  const controller = new AbortController();
  // Bumped by every arm/disarm. A timer that fires checks again from setImmediate, i.e. after the event loop's poll
  // phase: when the loop was blocked (a long synchronous extraction fed by the same body), the bytes that arrived
  // meanwhile are delivered — and re-arm — first, so a stalled loop is not mistaken for a stalled server.
  let generation = 0;
  const state: AttemptAbort = {
    controller,
    hop: start,
    timedOut: undefined,
    timer: undefined,
    arm(kind, ms) {
      state.disarm();
      const armed = generation;
      state.timer = setTimeout(() => {
        setImmediate(() => {
          if (generation !== armed) return;
          state.timedOut = kind;
          controller.abort(new Error(`${kind} timeout`));
        });
      }, ms);
    },
    disarm() {
      generation++;
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

/**
 * Split `user:password@` off a URL: fetch refuses URLs that carry credentials, so they travel as HTTP Basic
 * `Authorization` instead — only to that URL's origin (a redirect elsewhere does not get them).
 */
function splitCredentials(u: URL): { url: URL; authorization: string | undefined } {
  if (u.username === '' && u.password === '') return { url: u, authorization: undefined };
  const bare = new URL(u.href);
  bare.username = '';
  bare.password = '';
  const token = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
  return { url: bare, authorization: `Basic ${token}` };
}

/** Follow redirects; return the final response (status < 300 or ≥ 400 handled by the caller). */
async function request(start: URL, opts: Settled, ab: AttemptAbort, route: Route): Promise<{ res: HttpResponse; url: URL }> {
  const first = splitCredentials(start);
  const seen = new Set<string>([first.url.href]);
  let url = first.url;
  let authorization = first.authorization;
  const maxRedirects = opts.maxRedirects;
  for (let hops = 0; ; hops++) {
    ab.hop = url;
    ab.arm('connect', opts.connectTimeoutMs);
    const headers: Record<string, string> = { 'accept-encoding': 'identity', ...(authorization === undefined ? {} : { authorization }) };
    const res = await route.fetch(url, { redirect: 'manual', signal: ab.controller.signal, headers });
    ab.disarm();
    if (res.status < 300 || res.status >= 400 || res.status === 304) return { res, url };
    await res.body?.cancel().catch(() => undefined);
    if (hops >= maxRedirects) throw fetchError('redirect', `more than ${maxRedirects} redirects from ${start.href}`, { url: start.href, status: res.status });
    const next = splitCredentials(nextRedirect(url, res.headers.get('location'), seen));
    checkUrl(next.url.href, opts.allowInsecureHttp);
    seen.add(next.url.href);
    authorization = next.authorization ?? (next.url.origin === first.url.origin ? first.authorization : undefined);
    url = next.url;
  }
}

async function attempt(start: URL, opts: Settled, route: Route, tee: Writable | undefined): Promise<DownloadResult> {
  const ab = attemptAbort(opts.signal, start);
  const progress: { done: number; total: number | undefined } = { done: 0, total: undefined };
  let where = start.href;
  try {
    const { res, url } = await request(start, opts, ab, route);
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
    const idleMs = opts.idleTimeoutMs;
    ab.arm('idle', idleMs);
    // A plain loop over the body with synchronous writes: Readable.fromWeb + a Transform + a write stream cost ~2× the
    // time of the fetch itself (12 MB over loopback: 66 ms against 42 ms this way); page-cache writes are cheap, as the
    // tree writer's measurements found for thousands of small files.
    const fd = fs.openSync(opts.dest, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC, 0o600);
    try {
      for await (const chunk of res.body) {
        ab.arm('idle', idleMs);
        progress.done += chunk.byteLength;
        if (progress.done > opts.maxBytes) throw fetchError('too-large', `${where} exceeds the ${opts.maxBytes} bytes allowed`, { url: where, details: { limit: opts.maxBytes } });
        hash.update(chunk);
        if (tee !== undefined && !tee.destroyed) {
          tee.write(chunk);
          if (tee.writableLength > TEE_MAX_BUFFERED) tee.destroy(new Error(`the consumer of ${where} fell more than ${TEE_MAX_BUFFERED} bytes behind`));
        }
        opts.onProgress?.({ done: progress.done, total });
        for (let off = 0; off < chunk.byteLength;) off += fs.writeSync(fd, chunk, off);
      }
    } finally {
      fs.closeSync(fd);
    }
    ab.disarm();
    if (total !== undefined && progress.done !== total) {
      throw fetchError('truncated', `${where}: got ${progress.done} of ${total} bytes`, { url: where, details: { received: progress.done, expected: total } });
    }
    const sha256 = hash.digest('hex');
    if (opts.expectedSha256 !== undefined && sha256 !== opts.expectedSha256.toLowerCase()) {
      throw fetchError('checksum', `sha256 mismatch for ${where}: expected ${opts.expectedSha256}, got ${sha256}`, {
        url: where,
        details: { expected: opts.expectedSha256, actual: sha256 },
      });
    }
    if (tee !== undefined && !tee.destroyed) tee.end();
    return { url: where, sha256, bytes: progress.done };
  } catch (err) {
    const failure = classifyFailure(err, { url: where, hop: ab.hop, timedOut: ab.timedOut, user: opts.signal, proxies: route.proxies, progress });
    // the tee carried only this attempt: stop its consumer now, not after the retries
    tee?.destroy(asError(failure));
    throw failure;
  } finally {
    ab.disarm();
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * Download `url` into `opts.dest`. See the module comment.
 *
 * @throws BpfCompileError `INPUT_UNREADABLE` with `details.reason` (`http-status`, `checksum`, `timeout`, `too-large`,
 *   `redirect`, `insecure`, `truncated`, `network`, `tls`), `details.url`, `details.status`; or the abort reason of `signal`.
 */
export async function download(url: string, opts: DownloadOptions): Promise<DownloadResult> {
  // the tee's consumer reports its own errors; this listener only keeps a destroyed tee from being an uncaught error
  opts.tee?.on('error', () => {});
  try {
    return await attempts(url, settle(opts));
  } catch (err) {
    opts.tee?.destroy(asError(err)); // failed before any attempt (bad URL, proxy settings); else already destroyed
    throw err;
  }
}

/** The retry loop of {@link download}. */
async function attempts(url: string, opts: Settled): Promise<DownloadResult> {
  const start = checkUrl(url, opts.allowInsecureHttp);
  const route = await routeFor(opts.env, opts.tls);
  const retries = opts.retries;
  const base = opts.retryBaseMs;
  for (let n = 0; ; n++) {
    try {
      return await attempt(start, opts, route, n === 0 ? opts.tee : undefined);
    } catch (err) {
      fs.rmSync(opts.dest, { force: true });
      if (!isRetryable(err) || n >= retries || opts.signal?.aborted === true) {
        throw err instanceof BpfCompileError && n > 0 ? withAttempts(err, n + 1) : err;
      }
      await sleep(base * 2 ** n, opts.signal);
    }
  }
}
