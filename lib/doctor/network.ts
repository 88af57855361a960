/** The doctor's view of downloads: configured mirrors, offline mode and proxies (from options and the environment). */
import { BpfCompileError } from '../errors.js';
import { mirrorList, offlineFromEnv } from '../fetch/mirrors.js';
import { proxyConfigFromEnv, redactProxyUrl } from '../fetch/proxy.js';

/** Downloads as configured. URLs are shown with any credentials replaced by `***`. */
export interface NetworkReport {
  /** The mirrors tried, in order (`--mirror`, else `BPF_COMPILE_MIRROR`). */
  readonly mirrors: readonly string[];
  /** `--offline` / `BPF_COMPILE_OFFLINE`: only cached downloads are used. */
  readonly offline: boolean;
  /** Proxy of `https://` URLs and the variable it comes from, e.g. `http://***@proxy:3128 (HTTPS_PROXY)`. */
  readonly httpsProxy?: string;
  /** Proxy of `http://` URLs. */
  readonly httpProxy?: string;
  /** The NO_PROXY list, when set. */
  readonly noProxy?: string;
  /** A proxy variable bpf-compile cannot use (e.g. `socks5://`): every download would fail. */
  readonly error?: string;
}

/** Read the download configuration. Pure apart from reading `env`. */
export function networkReport(mirrors: readonly string[] | undefined, offline: boolean | undefined, env: Readonly<Record<string, string | undefined>>): NetworkReport {
  const base = { mirrors: mirrorList(mirrors, env).map(redactProxyUrl), offline: offline === true || offlineFromEnv(env) };
  try {
    const p = proxyConfigFromEnv(env);
    if (p === undefined) return base;
    const https = p.https ?? p.http;
    return {
      ...base,
      ...(https === undefined ? {} : { httpsProxy: `${https.display} (${https.variable})` }),
      ...(p.http === undefined ? {} : { httpProxy: `${p.http.display} (${p.http.variable})` }),
      ...(p.noProxy === '' ? {} : { noProxy: p.noProxy }),
    };
  } catch (err) {
    if (err instanceof BpfCompileError) return { ...base, error: err.message };
    throw err;
  }
}
