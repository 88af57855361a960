/**
 * Where the cache lives:
 *
 * 1. the `cacheDir` option, else
 * 2. `$BPF_COMPILE_CACHE_DIR`, else
 * 3. `/var/cache/bpf-compile` for root (uid 0), else
 * 4. `env-paths('bpf-compile', { suffix: '' }).cache` (`$XDG_CACHE_HOME/bpf-compile` or
 *    `~/.cache/bpf-compile`).
 *
 * Never a shared, predictable path in /tmp: the directory is per user (or root's system dir) and
 * checked on every use (see `safety.ts`).
 */
import path from 'node:path';
import envPaths from 'env-paths';

/** The system-wide cache directory used when running as root. */
export const SYSTEM_CACHE_DIR = '/var/cache/bpf-compile';

/** Where the cache directory comes from. */
export type CacheDirOrigin = 'option' | 'env' | 'system' | 'user';

/** Inputs of {@link resolveCacheDir}; all default to the current process. */
export interface CacheLocationOptions {
  /** Explicit cache directory (wins over everything). */
  readonly cacheDir?: string;
  /** Environment to read `BPF_COMPILE_CACHE_DIR` from. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** User id deciding the root default. Default `process.getuid()`. */
  readonly uid?: number;
}

/** The absolute cache directory and where the choice came from. */
export function resolveCacheDir(options: CacheLocationOptions = {}): { dir: string; origin: CacheDirOrigin } {
  if (options.cacheDir !== undefined && options.cacheDir !== '') return { dir: path.resolve(options.cacheDir), origin: 'option' };
  const env = options.env ?? process.env;
  const fromEnv = env['BPF_COMPILE_CACHE_DIR'];
  if (fromEnv !== undefined && fromEnv !== '') return { dir: path.resolve(fromEnv), origin: 'env' };
  const uid = options.uid ?? process.getuid?.() ?? -1;
  if (uid === 0) return { dir: SYSTEM_CACHE_DIR, origin: 'system' };
  return { dir: path.resolve(envPaths('bpf-compile', { suffix: '' }).cache), origin: 'user' };
}
