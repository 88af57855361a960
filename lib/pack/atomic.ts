/** Atomic file output for `pack`: write to a hidden temp file next to the target, then rename. */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { BpfCompileError, ErrorCode } from '../errors.js';

/** A unique hidden temp path in the directory of `target`. */
export function tempPathFor(target: string): string {
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString('hex')}.tmp`);
}

/** The error `pack` raises when an output cannot be written. */
export function writeError(target: string, err: unknown): BpfCompileError {
  if (err instanceof BpfCompileError) return err;
  return new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot write ${target}: ${err instanceof Error ? err.message : String(err)}`, {
    hint: 'check that the output directory exists and is writable',
    cause: err,
  });
}

/**
 * Produce `target` atomically: `fill(tmp)` writes a temp file, which gets mode 0644 and is renamed onto `target`.
 * On failure the temp file is removed and the error rethrown (wrapped as `INPUT_UNREADABLE` unless already typed).
 */
export async function writeAtomically<T>(target: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  const tmp = tempPathFor(target);
  try {
    const result = await fill(tmp);
    await fs.chmod(tmp, 0o644);
    await fs.rename(tmp, target);
    return result;
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw writeError(target, err);
  }
}

/** Write `data` to `target` atomically (mode 0644). */
export async function writeFileAtomically(target: string, data: string | Uint8Array): Promise<void> {
  await writeAtomically(target, (tmp) => fs.writeFile(tmp, data, { mode: 0o644 }));
}
