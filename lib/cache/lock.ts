/**
 * Per-key build locks: `proper-lockfile` directories `<ns>/<key>.lock`, plus a sidecar
 * `<ns>/<key>.owner` naming the holder (pid, boot id, the lock dir's inode).
 *
 * Timings (defaults, all options):
 * - `stale` 30 s, `update` 5 s: a holder refreshes the lock's mtime every 5 s; a lock not
 *   refreshed for 30 s is stale and taken over by proper-lockfile. 30 s tolerates long event-loop
 *   stalls in the host application (5 s was measured to lose the lock after a 9 s stall).
 * - Dead holder fast path: a waiter whose owner file says "pid P on this boot, lock inode I",
 *   where I is the current lock dir and P does not exist, removes the lock at once — a killed
 *   extraction is taken over within one poll interval (≤ 250 ms), not after 30 s.
 * - Waiters poll with backoff (25 ms doubling to 250 ms) and give up after `timeoutMs`
 *   (default 5 min) with `CACHE_LOCKED`; each poll first asks `isDone()` so a waiter returns as
 *   soon as the holder published the entry, without taking the lock.
 *
 * `onCompromised` (the lock was lost or could not be refreshed) never throws: it records the fact.
 * Correctness never depends on the lock: entries are published by an atomic rename, the lock
 * only avoids duplicate work. (Two waiters breaking the same dead lock at once can, rarely, both
 * build; one rename wins.)
 */
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type lockfileModule from 'proper-lockfile';
import { BpfCompileError, ErrorCode, errnoCode } from '../errors.js';
import { currentHolder, holderIsDead, readHolder } from './proc.js';
import { writeFileAtomicSync } from '../system/atomic-file.js';

/**
 * `proper-lockfile`, loaded on first use: commands that never reach this code (a warm resolve) do not pay for loading
 * it. A dynamic import rather than `createRequire`: the CLI's bundler then sees it and puts it (with graceful-fs,
 * retry, signal-exit) in a chunk of its own, which the V8 code cache covers; required from node_modules at run time it
 * was compiled from source by every cold `headers` run (~5 ms here).
 */
let lockfileLoaded: Promise<typeof lockfileModule> | undefined;
function lockfileLib(): Promise<typeof lockfileModule> {
  lockfileLoaded ??= import('proper-lockfile').then((m) => m.default);
  return lockfileLoaded;
}

/** Lock timing options. */
export interface LockOptions {
  /** A lock whose mtime is older than this is stale (ms). Default 30,000. */
  readonly staleMs?: number;
  /** How often the holder refreshes the lock (ms). Default 5,000; must be ≤ staleMs / 2. */
  readonly updateMs?: number;
  /** Longest wait for another holder (ms). Default 300,000. */
  readonly timeoutMs?: number;
  /** Abort waiting. */
  readonly signal?: AbortSignal;
}

/** A held lock. */
export interface HeldLock {
  /** True when proper-lockfile reported the lock compromised (lost/refresh failed). */
  readonly compromised: () => boolean;
  /** Release (idempotent, never throws). */
  release(): Promise<void>;
}

/** Defaults of {@link LockOptions}. */
export const LOCK_DEFAULTS = Object.freeze({ staleMs: 30_000, updateMs: 5_000, timeoutMs: 300_000 });

/** Paths of the lock for `base` (= `<ns>/<key>`). */
export function lockPaths(base: string): { lockDir: string; ownerFile: string } {
  return { lockDir: `${base}.lock`, ownerFile: `${base}.owner` };
}

/** Whether a live holder (or a not-yet-stale lock) holds `base`'s lock. */
export function isLocked(base: string, staleMs = LOCK_DEFAULTS.staleMs): boolean {
  const { lockDir, ownerFile } = lockPaths(base);
  let st: fs.Stats;
  try {
    st = fs.lstatSync(lockDir);
  } catch {
    return false;
  }
  const owner = readHolder(ownerFile);
  if (owner !== undefined && holderIsDead(owner)) return false;
  return st.mtimeMs >= Date.now() - staleMs;
}

/** Remove the lock when its recorded holder is dead; true when it did. */
function breakDeadLock(lockDir: string, ownerFile: string): boolean {
  const owner = readHolder(ownerFile);
  if (owner === undefined || !holderIsDead(owner)) return false;
  let ino: number;
  try {
    ino = fs.lstatSync(lockDir).ino;
  } catch {
    return true; // already gone: retry now
  }
  if (owner.lockIno !== ino) return false;
  try {
    fs.rmdirSync(lockDir);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') return false;
  }
  return true;
}

/**
 * Take the lock of `base`, or return `'done'` as soon as `isDone()` says the work was finished
 * by someone else.
 *
 * @throws BpfCompileError `CACHE_LOCKED` after `timeoutMs`.
 */
export async function acquireLock(base: string, isDone: () => boolean, options: LockOptions = {}): Promise<HeldLock | 'done'> {
  const staleMs = options.staleMs ?? LOCK_DEFAULTS.staleMs;
  const updateMs = Math.min(options.updateMs ?? LOCK_DEFAULTS.updateMs, Math.floor(staleMs / 2));
  const timeoutMs = options.timeoutMs ?? LOCK_DEFAULTS.timeoutMs;
  const { lockDir, ownerFile } = lockPaths(base);
  const deadline = Date.now() + timeoutMs;
  let delay = 25;
  let compromised = false;
  for (;;) {
    options.signal?.throwIfAborted();
    if (isDone()) return 'done';
    try {
      const lockfile = await lockfileLib();
      // the synchronous form: the same protocol (mkdir, the mtime probe, the refresh timer, onCompromised) through
      // the *Sync calls, where the promise form made each step a round trip through libuv's thread pool, started
      // for it alone (~3 ms of every cold extraction before the decoder could start: docs/performance.md)
      const release = lockfile.lockSync(base, {
        lockfilePath: lockDir,
        realpath: false,
        stale: staleMs,
        update: updateMs,
        retries: 0,
        onCompromised: () => {
          compromised = true;
        },
      });
      const ino = fs.lstatSync(lockDir).ino;
      writeFileAtomicSync(ownerFile, JSON.stringify({ ...currentHolder(), lockIno: ino }));
      let released = false;
      return {
        compromised: () => compromised,
        release: async (): Promise<void> => {
          if (released) return;
          released = true;
          try {
            fs.rmSync(ownerFile, { force: true });
            release();
          } catch {
            // lock already lost or removed: nothing to release
          }
        },
      };
    } catch (err) {
      if (errnoCode(err) !== 'ELOCKED') throw err;
    }
    if (breakDeadLock(lockDir, ownerFile)) continue;
    if (Date.now() > deadline) {
      throw new BpfCompileError(ErrorCode.CACHE_LOCKED, `timed out after ${timeoutMs} ms waiting for the cache lock ${lockDir}`, {
        hint: `Another bpf-compile process is building this entry. If none is running, remove ${lockDir}.`,
        details: { lockDir },
      });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 250);
  }
}
