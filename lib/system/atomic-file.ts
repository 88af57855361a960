/**
 * Files that appear complete or not at all: written to a hidden temp sibling (`.<name>.<pid>.<random>.tmp`, the one
 * temp-name scheme), then renamed onto the target. On failure the temp file is removed and the target is untouched.
 * Errors are the file system's; callers turn them into their typed error.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomHex } from './names.js';

/** A unique hidden temp path in the directory of `target`. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${randomHex(6)}.tmp`);
}

/** Options of the atomic writes. */
export interface AtomicWriteOptions {
  /** Mode of the file. Default 0644. */
  readonly mode?: number;
}

/**
 * Produce `target` atomically: `fill(tmp)` creates the temp file (by writing it, or by running a tool that writes it),
 * which then gets `mode` and is renamed onto `target`.
 */
export async function writeAtomically<T>(target: string, fill: (tmp: string) => Promise<T>, options: AtomicWriteOptions = {}): Promise<T> {
  const tmp = tempPathFor(target);
  try {
    const result = await fill(tmp);
    await fsp.chmod(tmp, options.mode ?? 0o644);
    await fsp.rename(tmp, target);
    return result;
  } catch (err) {
    await fsp.rm(tmp, { force: true });
    throw err;
  }
}

/** Write `data` to `target` atomically. */
export async function writeFileAtomic(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  await writeAtomically(target, (tmp) => fsp.writeFile(tmp, data, { mode: options.mode ?? 0o644, flag: 'wx' }), options);
}

/** Write `data` to `target` atomically, synchronously (small records on paths that must not yield). */
export function writeFileAtomicSync(target: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): void {
  const tmp = tempPathFor(target);
  try {
    fs.writeFileSync(tmp, data, { mode: options.mode ?? 0o644, flag: 'wx' });
    fs.chmodSync(tmp, options.mode ?? 0o644);
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
