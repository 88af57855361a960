/** Atomic file output for `pack`: the shared atomic writes (`system/atomic-file.ts`) with pack's typed error. */
import { BpfCompileError, ErrorCode } from '../errors.js';
import { writeAtomically as atomically } from '../system/atomic-file.js';

/** The error `pack` raises when an output cannot be written. */
export function writeError(target: string, err: unknown): BpfCompileError {
  if (err instanceof BpfCompileError) return err;
  return new BpfCompileError(ErrorCode.OUTPUT_UNWRITABLE, `cannot write ${target}: ${err instanceof Error ? err.message : String(err)}`, {
    hint: 'check that the output directory exists and is writable',
    cause: err,
    details: { path: target },
  });
}

/** Produce `target` atomically (mode 0644); failures are `OUTPUT_UNWRITABLE` unless already typed. */
export async function writeAtomically<T>(target: string, fill: (tmp: string) => Promise<T>): Promise<T> {
  try {
    return await atomically(target, fill);
  } catch (err) {
    throw writeError(target, err);
  }
}

/** Write `data` to `target` atomically (mode 0644). */
export async function writeFileAtomically(target: string, data: string | Uint8Array): Promise<void> {
  const { writeFileAtomic } = await import('../system/atomic-file.js');
  try {
    await writeFileAtomic(target, data);
  } catch (err) {
    throw writeError(target, err);
  }
}
