/**
 * Loading `kheaders.ko` (`CONFIG_IKHEADERS=m`) for the duration of one task, so that
 * `/sys/kernel/kheaders.tar.xz` appears, and unloading it afterwards — but only if this process loaded
 * it (as BCC does). Only the running kernel can load modules, so this applies only when the target
 * release is the running one and the root is `/`.
 *
 * Known limits: two processes racing may both see the module absent and both load it; the one that
 * finishes first then unloads it under the other (which should hold the archive open or copy it
 * quickly). A process killed inside `fn` leaves the module loaded.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { underRoot } from '../system/root.js';
import { exec } from '../system/exec.js';

/** When to load the module: `auto` = only when running as root (uid 0); `never`; `always` (try even when not root). */
export type LoadModulePolicy = 'auto' | 'never' | 'always';

/** Options of {@link withKheadersModuleLoaded}. */
export interface KheadersLoadOptions {
  /** Whether to load the module at all. */
  readonly policy: LoadModulePolicy;
  /** The system root bpf-compile reads; loading applies only to `/`. */
  readonly root: string;
  /** The release whose headers are wanted. */
  readonly release: string;
  /** The running kernel's release. Default `os.release()`. */
  readonly runningRelease?: string;
  /** Environment: `PATH` is searched for `modprobe`, and `modprobe` runs with it. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The effective uid, for the `auto` policy. Default `process.getuid()`. (Injectable for tests.) */
  readonly uid?: number;
  /** Where `/proc/modules` and `/sys/module` are read. Default `/`. (Injectable for tests.) */
  readonly liveRoot?: string;
  /** Directories searched for `modprobe` after `PATH`. Default `/sbin`, `/usr/sbin`. (Injectable for tests.) */
  readonly systemBinDirs?: readonly string[];
  /** Timeout of each `modprobe` run in ms. Default 30,000. */
  readonly timeoutMs?: number;
}

/** `fn` ran, with the module loaded. */
export interface KheadersLoaded<T> {
  /** True when this call loaded the module (and so unloaded it afterwards); false when it was already loaded. */
  readonly loaded: boolean;
  /** What `fn` returned. */
  readonly result: T;
  /** Set when `modprobe -r kheaders` failed afterwards (the module then stays loaded). */
  readonly unloadError?: string;
}

/** `fn` did not run; why. */
export interface KheadersNotLoaded {
  /** One sentence saying why the module was not (and could not be) loaded. */
  readonly reason: string;
}

/** The module name, as modprobe and `/proc/modules` spell it. */
const MODULE = 'kheaders';
const DEFAULT_SYSTEM_BIN_DIRS: readonly string[] = ['/sbin', '/usr/sbin'];

/**
 * Whether `kheaders` is loaded: `/sys/module/kheaders` exists or `/proc/modules` lists it.
 *
 * @param liveRoot - Where `/proc` and `/sys` are read (default `/`).
 */
export async function isKheadersModuleLoaded(liveRoot = '/'): Promise<boolean> {
  try {
    await fs.lstat(underRoot(liveRoot, `/sys/module/${MODULE}`));
    return true;
  } catch {
    // fall through to /proc/modules
  }
  try {
    const text = await fs.readFile(underRoot(liveRoot, '/proc/modules'), 'utf8');
    return text.split('\n').some((line) => line.startsWith(`${MODULE} `));
  } catch {
    return false;
  }
}

/**
 * The first executable `modprobe` in `PATH` (absolute entries only), then in `systemBinDirs`; undefined
 * when there is none.
 */
export async function findModprobe(
  env: Readonly<Record<string, string | undefined>> = process.env,
  systemBinDirs: readonly string[] = DEFAULT_SYSTEM_BIN_DIRS,
): Promise<string | undefined> {
  const dirs = [...(env['PATH'] ?? '').split(path.delimiter), ...systemBinDirs];
  const seen = new Set<string>();
  for (const dir of dirs) {
    if (dir === '' || !path.isAbsolute(dir) || seen.has(dir)) continue;
    seen.add(dir);
    const candidate = path.join(dir, 'modprobe');
    try {
      await fs.access(candidate, fs.constants.X_OK);
      if ((await fs.stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Why loading must not be tried under these options, or undefined when it may be. */
function policyRefusal(opts: KheadersLoadOptions, running: string, uid: number | undefined): string | undefined {
  if (opts.policy === 'never') return 'loading the kheaders module is disabled (module loading policy "never")';
  if (opts.root !== '/') return `the system root is ${opts.root}, not /: a module can only be loaded into the running kernel`;
  if (opts.release !== running) return `kernel ${opts.release} is not the running kernel (${running}): its module cannot be loaded`;
  if (opts.policy === 'auto' && uid !== 0) {
    return 'not running as root: the "auto" policy loads the kheaders module only as root (use policy "always" to try anyway)';
  }
  return undefined;
}

/** Run modprobe; the failure text, or undefined on success. */
async function runModprobe(modprobe: string, args: readonly string[], opts: KheadersLoadOptions): Promise<string | undefined> {
  const r = await exec(modprobe, args, { env: { ...(opts.env ?? process.env), LC_ALL: 'C' }, timeoutMs: opts.timeoutMs ?? 30_000 });
  if (r.ok) return undefined;
  const said = r.stderr.trim().split('\n').slice(0, 3).join('; ');
  const how = r.timedOut ? 'timed out' : r.exitCode !== undefined ? `exited with ${r.exitCode}` : `failed (${r.signal ?? r.spawnError ?? 'unknown'})`;
  return `\`${modprobe} ${args.join(' ')}\` ${how}${said === '' ? '' : `: ${said}`}`;
}

/**
 * Run `fn` with the kheaders module loaded. Loads it with `modprobe kheaders` when it is not loaded yet,
 * and then — in a `finally`, so also when `fn` throws — unloads it with `modprobe -r kheaders`. A module
 * that was already loaded is left alone. Errors of `fn` propagate.
 *
 * @returns `{ loaded, result }` when `fn` ran; `{ reason }` when the policy, the target or the machine
 *   (no modprobe, not root, modprobe failing) did not allow loading — then `fn` did not run.
 */
export async function withKheadersModuleLoaded<T>(opts: KheadersLoadOptions, fn: () => Promise<T>): Promise<KheadersLoaded<T> | KheadersNotLoaded> {
  const running = opts.runningRelease ?? os.release();
  const uid = opts.uid ?? process.getuid?.();
  const refusal = policyRefusal(opts, running, uid);
  if (refusal !== undefined) return { reason: refusal };
  const liveRoot = opts.liveRoot ?? '/';
  if (await isKheadersModuleLoaded(liveRoot)) return { loaded: false, result: await fn() };

  const binDirs = opts.systemBinDirs ?? DEFAULT_SYSTEM_BIN_DIRS;
  const modprobe = await findModprobe(opts.env ?? process.env, binDirs);
  if (modprobe === undefined) return { reason: `no modprobe on this machine (looked in PATH${binDirs.map((d) => `, ${d}`).join('')})` };
  const loadError = await runModprobe(modprobe, [MODULE], opts);
  if (loadError !== undefined) return { reason: `cannot load the kheaders module: ${loadError}` };
  if (!(await isKheadersModuleLoaded(liveRoot))) {
    return { reason: '`modprobe kheaders` succeeded but the module is not loaded (an install rule in modprobe.d may block it)' };
  }
  let unloadError: string | undefined;
  let result: T;
  try {
    result = await fn();
  } finally {
    unloadError = await runModprobe(modprobe, ['-r', MODULE], opts).catch((err: unknown) => `\`${modprobe} -r ${MODULE}\` failed: ${String(err)}`);
  }
  return unloadError === undefined ? { loaded: true, result } : { loaded: true, result, unloadError };
}
