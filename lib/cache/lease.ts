/**
 * Reader leases: "this process is using entry K". A lease is a file
 * `<ns>/.leases/<key>/<pid>-<random>.json` naming the holder. `prune`/`clear` skip an entry with
 * a live lease. A lease is live while its process exists on this boot; a lease from another boot
 * or host (a shared cache volume) is honoured until it is `LEASE_MAX_AGE_MS` old.
 *
 * Honest limits: only readers that take a lease (`ensureEntry(…, { lease: true })`) are
 * protected; a child process (clang) reading the tree after its parent exited is not. Leases are
 * created under the key's lock and prune removes entries under the same lock, so a lease and a
 * removal cannot interleave.
 */
import fs from 'node:fs';
import path from 'node:path';
import { currentHolder, holderIsDead, readHolder } from './proc.js';
import { writeFileAtomicSync } from '../system/atomic-file.js';
import { makeDirs } from '../system/dirs.js';
import { randomHex } from '../system/names.js';

/** A lease from another boot/host counts as live for this long. */
export const LEASE_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** Directory of leases of one key. */
function leaseDir(nsDir: string, key: string): string {
  return path.join(nsDir, '.leases', key);
}

/** A held lease. */
export interface Lease {
  /** The lease file. */
  readonly file: string;
  /** Give the lease back (idempotent). */
  release(): void;
}

/** Create a lease on `key`. The caller holds the key's lock. */
export function createLease(nsDir: string, key: string, dirMode: number): Lease {
  const dir = leaseDir(nsDir, key);
  makeDirs(dir, dirMode);
  const file = path.join(dir, `${process.pid}-${randomHex(6)}.json`);
  writeFileAtomicSync(file, JSON.stringify(currentHolder()));
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.removeListener('exit', release);
    fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return { file, release };
}

/** Number of live leases on `key`; removes dead ones on the way. */
export function liveLeases(nsDir: string, key: string): number {
  const dir = leaseDir(nsDir, key);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  let live = 0;
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(dir, name);
    const holder = readHolder(file);
    const dead = holder === undefined ? true : holderIsDead(holder) || holder.since < Date.now() - LEASE_MAX_AGE_MS;
    if (dead) fs.rmSync(file, { force: true });
    else live++;
  }
  if (live === 0) fs.rmSync(dir, { recursive: true, force: true });
  return live;
}
