/**
 * Proxy configuration of downloads, read from an environment (see the module comment of `download.ts` for the rules).
 *
 * The request itself goes through the npm `undici` package's `fetch` with an `EnvHttpProxyAgent` built from explicit
 * values (never from `process.env` behind our back). undici is imported lazily, on the first proxied download only, so
 * runs without proxy variables never load it (the CLI bundle puts the dynamic import in its own chunk).
 *
 * {@link proxyFor} reproduces the agent's routing decision (undici 6.x `EnvHttpProxyAgent#getProxyAgentForUrl` and
 * `#shouldProxy`) so errors can name the proxy a request went through; the integration tests check both agree.
 */
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { EnvHttpProxyAgent } from 'undici';
import { fetchError } from './errors.js';

/** One proxy: where it comes from and how to show it. */
export interface ProxySetting {
  /** The variable it was read from (`https_proxy`, `HTTP_PROXY`, …). */
  readonly variable: string;
  /** Normalised URL handed to undici; may hold credentials: never print it. */
  readonly url: string;
  /** The URL with any `user:password@` replaced by `***@`: the only form ever printed. */
  readonly display: string;
}

/** The proxy settings of one environment. */
export interface ProxyConfig {
  /** Proxy of `http://` URLs (and of `https://` ones when {@link https} is unset). */
  readonly http: ProxySetting | undefined;
  /** Proxy of `https://` URLs. */
  readonly https: ProxySetting | undefined;
  /** The NO_PROXY list as given ('' when unset). */
  readonly noProxy: string;
  /** The variable it was read from (`no_proxy` or `NO_PROXY`), when set. */
  readonly noProxyVariable: string | undefined;
}

/** Init of a request: what `download` passes to either fetch. */
export interface HttpRequestInit {
  readonly redirect: 'manual';
  readonly signal: AbortSignal;
  readonly headers: Readonly<Record<string, string>>;
}

/** The part of a fetch Response `download` uses; both the global and undici's Response have it. */
export interface HttpResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  readonly body: NodeReadableStream<Uint8Array> | null;
}

/** A fetch function. */
export type Fetcher = (url: URL, init: HttpRequestInit) => Promise<HttpResponse>;

type Env = Readonly<Record<string, string | undefined>>;

/** First non-empty variable of `names` (in that order). */
function firstSet(env: Env, names: readonly string[]): { variable: string; value: string } | undefined {
  for (const variable of names) {
    const value = env[variable]?.trim();
    if (value !== undefined && value !== '') return { variable, value };
  }
  return undefined;
}

/** `proxy:3128` → `http://proxy:3128` (curl's default scheme for proxies). */
function withScheme(raw: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
}

/** A proxy URL fit for messages: credentials replaced by `***`, even when the URL does not parse. */
export function redactProxyUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(withScheme(raw.trim()));
  } catch {
    return raw.trim().replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1***@');
  }
  const auth = u.username !== '' || u.password !== '' ? '***@' : '';
  const rest = `${u.pathname === '/' ? '' : u.pathname}${u.search}`;
  return `${u.protocol}//${auth}${u.host}${rest}`;
}

function setting(found: { variable: string; value: string }): ProxySetting {
  const display = redactProxyUrl(found.value);
  let u: URL | undefined;
  try {
    u = new URL(withScheme(found.value));
  } catch {
    u = undefined;
  }
  if (u === undefined || (u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '') {
    const scheme = u === undefined || u.protocol === 'http:' || u.protocol === 'https:' ? '' : ` (${u.protocol}// proxies are not supported)`;
    throw fetchError('network', `invalid proxy URL in ${found.variable}: ${display}${scheme}`, {
      hint: `set ${found.variable} to http://host:port or https://host:port (credentials as http://user:password@host:port), or unset it`,
      details: { proxy: display, proxyVariable: found.variable, invalidProxy: true },
    });
  }
  return { variable: found.variable, url: u.href, display };
}

/**
 * The proxy settings of `env`, or undefined when none of `https_proxy`, `HTTPS_PROXY`, `http_proxy`, `HTTP_PROXY` is set
 * (non-empty). Lowercase wins over uppercase; an empty variable counts as unset.
 *
 * @throws BpfCompileError (reason `network`, `details.invalidProxy`) for a proxy URL that is not http(s)://host[:port].
 */
export function proxyConfigFromEnv(env: Env): ProxyConfig | undefined {
  const https = firstSet(env, ['https_proxy', 'HTTPS_PROXY']);
  const http = firstSet(env, ['http_proxy', 'HTTP_PROXY']);
  if (https === undefined && http === undefined) return undefined;
  const no = firstSet(env, ['no_proxy', 'NO_PROXY']);
  return {
    http: http === undefined ? undefined : setting(http),
    https: https === undefined ? undefined : setting(https),
    noProxy: no?.value ?? '',
    noProxyVariable: no?.variable,
  };
}

/** `url`'s host as undici matches it against NO_PROXY (lowercase, brackets kept around IPv6) and its port. */
function hostAndPort(url: URL): { host: string; port: number } {
  const host = url.host.replace(/:\d*$/, '').toLowerCase();
  const port = Number.parseInt(url.port, 10) || (url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : 0);
  return { host, port };
}

/** True when NO_PROXY `noProxy` exempts `url` (undici 6.x `EnvHttpProxyAgent#shouldProxy`, negated). */
export function bypassesProxy(url: URL, noProxy: string): boolean {
  const entries = noProxy
    .split(/[,\s]/)
    .filter((e) => e !== '')
    .map((e) => {
      const m = /^(.+):(\d+)$/.exec(e);
      return { host: (m?.[1] ?? e).toLowerCase(), port: m?.[2] === undefined ? 0 : Number.parseInt(m[2], 10) };
    });
  if (entries.length === 0) return false;
  if (noProxy === '*') return true;
  const { host, port } = hostAndPort(url);
  return entries.some((e) => {
    if (e.port !== 0 && e.port !== port) return false;
    return /^[.*]/.test(e.host) ? host.endsWith(e.host.replace(/^\*/, '')) : host === e.host;
  });
}

/** The proxy a request to `url` goes through under `cfg`, or undefined for a direct connection. */
export function proxyFor(url: URL, cfg: ProxyConfig): ProxySetting | undefined {
  if (bypassesProxy(url, cfg.noProxy)) return undefined;
  return url.protocol === 'https:' ? (cfg.https ?? cfg.http) : cfg.http;
}

/** The host to add to NO_PROXY to reach `url` directly. */
export function noProxyEntryFor(url: URL): string {
  return hostAndPort(url).host;
}

/** What we use of undici. */
type Undici = Pick<typeof import('undici'), 'fetch' | 'EnvHttpProxyAgent' | 'Agent'>;

function isUndici(x: unknown): x is Undici {
  if (typeof x !== 'object' || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o['fetch'] === 'function' && typeof o['EnvHttpProxyAgent'] === 'function' && typeof o['Agent'] === 'function';
}

/**
 * Import undici. Under Node the namespace has its named exports; in the esbuild bundle (a CommonJS package imported
 * dynamically) it has only `default`, the module.exports object. Accept either.
 */
async function loadUndici(): Promise<Undici> {
  const ns: object = await import('undici');
  const api = [ns, (ns as { default?: unknown }).default].find(isUndici);
  if (api === undefined) throw new Error('the undici package has no fetch/EnvHttpProxyAgent export');
  return api;
}

let undiciModule: Promise<Undici> | undefined;
const agents = new Map<string, EnvHttpProxyAgent>();

/**
 * Build an agent without its one-time "EnvHttpProxyAgent is experimental" process warning (it would land on the CLI's
 * stderr). The constructor is synchronous, so the swap cannot hide anybody else's warning.
 */
function quietAgent(undici: Undici, opts: { httpProxy: string; httpsProxy: string; noProxy: string }): EnvHttpProxyAgent {
  const original = process.emitWarning;
  const filtered = (warning: string | Error, ...rest: unknown[]): void => {
    const o = rest[0];
    if (typeof o === 'object' && o !== null && (o as { code?: unknown }).code === 'UNDICI-EHPA') return;
    Reflect.apply(original, process, [warning, ...rest]);
  };
  process.emitWarning = filtered as typeof process.emitWarning;
  try {
    return new undici.EnvHttpProxyAgent(opts);
  } finally {
    process.emitWarning = original;
  }
}

/**
 * A fetch that routes through `cfg`'s proxies: undici's `fetch` with an `EnvHttpProxyAgent` made from the explicit
 * values of `cfg` (an unset value is passed as '' so undici never falls back to `process.env`). One agent per distinct
 * (http, https, no_proxy) triple per process; its idle sockets are unref'd by undici, so it never keeps the process alive.
 */
export async function proxyFetcher(cfg: ProxyConfig): Promise<Fetcher> {
  undiciModule ??= loadUndici().catch((err: unknown) => {
    undiciModule = undefined;
    throw fetchError('network', `proxy support is unavailable: cannot load undici: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
      hint: 'reinstall bpf-compile (its undici dependency is missing), or unset HTTPS_PROXY/HTTP_PROXY',
    });
  });
  const undici = await undiciModule;
  const opts = { httpProxy: cfg.http?.url ?? '', httpsProxy: cfg.https?.url ?? '', noProxy: cfg.noProxy };
  const key = JSON.stringify([opts.httpProxy, opts.httpsProxy, opts.noProxy]);
  let agent = agents.get(key);
  if (agent === undefined) {
    agent = quietAgent(undici, opts);
    agents.set(key, agent);
  }
  const dispatcher = agent;
  return async (url, init) => {
    const res = await undici.fetch(url, { ...init, headers: { ...init.headers }, dispatcher });
    return res;
  };
}

/** TLS settings of one origin (an rpm repository's `sslcacert`, `sslclientcert`, `sslclientkey`, `sslverify`). */
export interface ClientTls {
  /** CA certificates (PEM) that replace the system's for this origin. */
  readonly ca?: Buffer;
  /** Client certificate and key (PEM). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** False: do not verify the server's certificate (dnf's `sslverify=0`). */
  readonly verify?: boolean;
}

const tlsAgents = new Map<string, Dispatcher>();
type Dispatcher = InstanceType<Undici['Agent']> | EnvHttpProxyAgent;

/**
 * A fetch with client TLS settings, through `cfg`'s proxies when set (the origin's TLS settings apply inside the
 * CONNECT tunnel). One agent per distinct settings per process.
 */
export async function tlsFetcher(cfg: ProxyConfig | undefined, tls: ClientTls): Promise<Fetcher> {
  undiciModule ??= loadUndici().catch((err: unknown) => {
    undiciModule = undefined;
    throw fetchError('network', `client TLS settings are unavailable: cannot load undici: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  });
  const undici = await undiciModule;
  const connect = {
    ...(tls.ca === undefined ? {} : { ca: tls.ca }),
    ...(tls.cert === undefined ? {} : { cert: tls.cert }),
    ...(tls.key === undefined ? {} : { key: tls.key }),
    rejectUnauthorized: tls.verify !== false,
  };
  const opts = cfg === undefined ? undefined : { httpProxy: cfg.http?.url ?? '', httpsProxy: cfg.https?.url ?? '', noProxy: cfg.noProxy };
  const key = JSON.stringify([opts, tls.ca?.toString('base64'), tls.cert?.toString('base64'), tls.key?.toString('base64'), tls.verify]);
  let dispatcher = tlsAgents.get(key);
  if (dispatcher === undefined) {
    dispatcher = opts === undefined ? new undici.Agent({ connect }) : quietAgent(undici, { ...opts, connect, requestTls: connect } as typeof opts);
    tlsAgents.set(key, dispatcher);
  }
  const d = dispatcher;
  return async (url, init) => undici.fetch(url, { ...init, headers: { ...init.headers }, dispatcher: d });
}

/** How many proxy agents this process holds (tests). */
export function proxyAgentCount(): number {
  return agents.size;
}
