/** Process identity helpers for locks, leases and leftovers: is a pid alive, on this boot? */
import fs from 'node:fs';
import os from 'node:os';

let bootIdCache: string | undefined;

/** This boot's id (`/proc/sys/kernel/random/boot_id`), or the hostname when unreadable. */
export function bootId(): string {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCache = `host:${os.hostname()}`;
    }
  }
  return bootIdCache;
}

/** Whether `pid` exists (a process we may not signal counts as alive). */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Who holds something: written into lock-owner and lease files. */
export interface Holder {
  readonly pid: number;
  readonly bootId: string;
  readonly host: string;
  /** ms since epoch. */
  readonly since: number;
  /** For lock owners: inode of the lock directory the holder created. */
  readonly lockIno?: number;
}

/** The current process as a {@link Holder}. */
export function currentHolder(): Holder {
  return { pid: process.pid, bootId: bootId(), host: os.hostname(), since: Date.now() };
}

/**
 * Definitely dead: same boot, and the pid does not exist. Anything else (another host or boot,
 * a pid namespace we cannot see into, a reused pid) counts as possibly alive.
 */
export function holderIsDead(holder: Holder): boolean {
  return holder.bootId === bootId() && !isProcessAlive(holder.pid);
}

/** Parse a holder JSON file; undefined when missing or malformed. */
export function readHolder(file: string): Holder | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Holder>;
    if (typeof v.pid === 'number' && typeof v.bootId === 'string' && typeof v.since === 'number') {
      return {
        pid: v.pid,
        bootId: v.bootId,
        host: typeof v.host === 'string' ? v.host : '',
        since: v.since,
        ...(typeof v.lockIno === 'number' ? { lockIno: v.lockIno } : {}),
      };
    }
  } catch {
    // missing or torn
  }
  return undefined;
}
