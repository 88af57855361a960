/**
 * How a failed download attempt is reported: every thrown fetch, stream or proxy error becomes a typed
 * `INPUT_UNREADABLE` with a `details.reason` (`errors.ts`) and a hint naming what to check — the network, the proxy
 * and the `NO_PROXY` entry that would bypass it, a TLS certificate, a truncated body — and whether it is worth
 * retrying. Pure: no I/O.
 */
import { BpfCompileError, ErrorCode, errnoCode, errorDetails } from '../errors.js';
import { fetchError, fetchFailureReason } from './errors.js';
import { noProxyEntryFor, proxyFor, type ProxyConfig } from './proxy.js';

/** errno codes of the local file system (writing `dest`). */
const LOCAL_ERRNO: ReadonlySet<string> = new Set(['ENOSPC', 'EDQUOT', 'EACCES', 'EPERM', 'EROFS', 'ENOENT', 'EISDIR', 'EMFILE', 'ENFILE', 'EIO']);

export function isRetryable(err: unknown): boolean {
  const reason = fetchFailureReason(err);
  if (reason === 'network') {
    // a proxy's 4xx to the CONNECT (407: credentials, 403: policy) will not change by retrying
    const proxyStatus = errorDetails(err, ErrorCode.INPUT_UNREADABLE)?.proxyStatus;
    return !(typeof proxyStatus === 'number' && proxyStatus < 500);
  }
  if (reason === 'timeout' || reason === 'truncated') return true;
  if (reason === 'http-status') {
    const status = errorDetails(err, ErrorCode.INPUT_UNREADABLE)?.status;
    return typeof status === 'number' && status >= 500;
  }
  return false;
}

/** The same error, with `details.attempts`. */
export function withAttempts(err: BpfCompileError, attempts: number): BpfCompileError {
  return new BpfCompileError(err.code, `${err.message} (after ${attempts} attempts)`, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    ...(err.cause === undefined ? {} : { cause: err.cause }),
    details: { ...err.details, attempts },
  });
}

/** The innermost message of an error chain (`fetch failed` → `connect ECONNREFUSED …`). */
function rootMessage(err: unknown): string {
  let e: unknown = err;
  for (let i = 0; i < 8 && e instanceof Error && e.cause instanceof Error; i++) e = e.cause;
  if (!(e instanceof Error)) return String(e);
  return e.message !== '' ? e.message : (errnoCode(e) ?? e.name);
}

/** Error codes of a failed TLS certificate check (OpenSSL's verify codes, Node's host-name check). */
const TLS_CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME_MISMATCH|ERR_TLS_CERT_ALTNAME/;

/** The code of a certificate verification failure in an error chain, if that is what it is. */
function tlsCertCode(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 8 && e instanceof Error; i++, e = e.cause) {
    const code = errnoCode(e);
    if (code !== undefined && TLS_CERT_CODE.test(code)) return code;
  }
  return undefined;
}

/** The status a proxy answered the CONNECT with (undici: `Proxy response (407) !== 200 when HTTP Tunneling`). */
function proxyStatusOf(err: unknown): number | undefined {
  let e: unknown = err;
  for (let i = 0; i < 8 && e instanceof Error; i++, e = e.cause) {
    const m = /Proxy response \((\d{3})\)/.exec(e.message);
    if (m?.[1] !== undefined) return Number(m[1]);
  }
  return undefined;
}

/** `host:port` as sent in a CONNECT. */
function authority(u: URL): string {
  return u.port !== '' ? u.host : `${u.host}:${u.protocol === 'https:' ? 443 : 80}`;
}

/** A network error of a request that went through `proxy`. */
function proxyNetworkError(err: unknown, url: string, hop: URL, proxy: NonNullable<ReturnType<typeof proxyFor>>): BpfCompileError {
  const via = `the proxy ${proxy.display} (from ${proxy.variable})`;
  const bypass = `or bypass the proxy for this host: add ${noProxyEntryFor(hop)} to NO_PROXY`;
  const status = proxyStatusOf(err);
  const details = { proxy: proxy.display, proxyVariable: proxy.variable, ...(status === undefined ? {} : { proxyStatus: status }) };
  if (status !== undefined) {
    const what = status === 407 ? ' (Proxy Authentication Required)' : '';
    const hint =
      status === 407
        ? `the proxy requires (valid) credentials: set ${proxy.variable} to ${proxy.display.replace(/^(\w+:\/\/)(\*\*\*@)?/, '$1user:password@')}, ${bypass}`
        : `the proxy could not or would not connect to ${authority(hop)}; check the proxy and the mirror host, ${bypass}`;
    return fetchError('network', `cannot download ${url}: ${via} answered CONNECT ${authority(hop)} with HTTP ${status}${what}`, { url, cause: err, hint, details });
  }
  return fetchError('network', `cannot download ${url} through ${via}: ${rootMessage(err)}`, {
    url,
    cause: err,
    hint: `check that the proxy ${proxy.display} (${proxy.variable}) is running and reachable, and the mirror host; ${bypass}`,
    details,
  });
}

/** Hint of a network error of a direct request. */
function directHint(hop: URL, proxies: ProxyConfig | undefined): string {
  const base = 'check the network and the mirror host';
  if (proxies === undefined) return `${base}; behind a proxy, set HTTPS_PROXY/HTTP_PROXY (NO_PROXY lists hosts to reach directly)`;
  const schemeProxy = hop.protocol === 'https:' ? (proxies.https ?? proxies.http) : proxies.http;
  if (schemeProxy !== undefined) {
    return `${base}; ${noProxyEntryFor(hop)} matches ${proxies.noProxyVariable ?? 'NO_PROXY'}, so this request went direct, not through ${schemeProxy.display}`;
  }
  return `${base}; ${proxies.https?.variable ?? 'HTTPS_PROXY'} is set, but it proxies only https:// URLs: this http:// request went direct (set HTTP_PROXY to proxy it too)`;
}

/** What {@link classifyFailure} needs to know about the attempt that failed. */
export interface FailedAttempt {
  /** The URL being downloaded (after redirects). */
  readonly url: string;
  /** The request in flight when it failed (the current redirect hop): decides which proxy, if any, it went through. */
  readonly hop: URL;
  /** Which timer fired, if one did. */
  readonly timedOut: 'connect' | 'idle' | undefined;
  /** The caller's abort signal. */
  readonly user: AbortSignal | undefined;
  /** The proxies in effect (undefined: none configured). */
  readonly proxies: ProxyConfig | undefined;
  /** Bytes received so far and the announced length. */
  readonly progress?: { readonly done: number; readonly total: number | undefined };
}

/** Map a thrown fetch/stream error to a typed error (or return a user abort or a local file error as is). */
export function classifyFailure(err: unknown, a: FailedAttempt): unknown {
  const { url, user, progress } = a;
  const ab = { hop: a.hop, timedOut: a.timedOut };
  const route = { proxies: a.proxies };
  if (err instanceof BpfCompileError) return err;
  // a local write failure (disk full, permissions) is not the network's fault: report it as is, never retried
  if (LOCAL_ERRNO.has(errnoCode(err) ?? '')) return err;
  const proxy = route.proxies === undefined ? undefined : proxyFor(ab.hop, route.proxies);
  if (ab.timedOut !== undefined) {
    return fetchError(
      'timeout',
      `${ab.timedOut === 'connect' ? 'no response' : 'the download stalled'} from ${url}${proxy === undefined ? '' : ` through the proxy ${proxy.display}`}`,
      {
        url,
        details: { phase: ab.timedOut, ...(proxy === undefined ? {} : { proxy: proxy.display, proxyVariable: proxy.variable }) },
        cause: err,
        ...(proxy === undefined
          ? {}
          : {
              hint: `the mirror or the proxy ${proxy.display} (${proxy.variable}) did not answer in time; check both, or bypass the proxy for this host: add ${noProxyEntryFor(ab.hop)} to NO_PROXY`,
            }),
      },
    );
  }
  if (user?.aborted === true) return err;
  if (progress?.total !== undefined && progress.done < progress.total) {
    return fetchError('truncated', `${url}: connection closed after ${progress.done} of ${progress.total} bytes`, {
      url,
      cause: err,
      details: { received: progress.done, expected: progress.total },
    });
  }
  const certCode = tlsCertCode(err);
  if (certCode !== undefined) {
    // not retried: the certificate will not change in a second; not fatal: another mirror may be fine
    return fetchError('tls', `cannot download ${url}: TLS certificate check failed: ${rootMessage(err)} (${certCode})`, { url, cause: err, details: { tlsCode: certCode } });
  }
  if (proxy !== undefined) return proxyNetworkError(err, url, ab.hop, proxy);
  return fetchError('network', `cannot download ${url}: ${rootMessage(err)}`, { url, cause: err, hint: directHint(ab.hop, route.proxies) });
}
