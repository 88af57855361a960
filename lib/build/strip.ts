/** `--strip`: drop debug info from built objects, keeping the BTF that libbpf and the verifier need. */
import { which } from '../compile/toolchain.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { writeAtomically } from '../system/atomic-file.js';
import { exec } from '../system/exec.js';

/** The arguments: `-g` (debug sections) while keeping `.BTF` and `.BTF.ext`. */
export const STRIP_ARGS: readonly string[] = ['-g', '--keep-section=.BTF', '--keep-section=.BTF.ext'];

/** Candidates for `llvm-strip`, in order: `$LLVM_STRIP`, then the toolchain major's, then plain `llvm-strip`. */
export function stripCandidates(major: number | undefined, env: Readonly<Record<string, string | undefined>>): string[] {
  const explicit = env['LLVM_STRIP'];
  if (explicit !== undefined && explicit !== '') return [explicit];
  return [...(major === undefined ? [] : [`llvm-strip-${major}`, `/usr/lib/llvm-${major}/bin/llvm-strip`]), 'llvm-strip'];
}

/**
 * Find `llvm-strip` matching the toolchain's LLVM major (`llvm-strip-<N>`, `/usr/lib/llvm-<N>/bin/llvm-strip`), else
 * `llvm-strip`. `$LLVM_STRIP` overrides.
 * @throws BpfCompileError `TOOLCHAIN_MISSING`.
 */
export async function findStrip(major: number | undefined, env: Readonly<Record<string, string | undefined>> = process.env): Promise<string> {
  const names = stripCandidates(major, env);
  for (const name of names) {
    const p = await which(name, env['PATH']);
    if (p !== undefined) return p;
  }
  throw new BpfCompileError(ErrorCode.TOOLCHAIN_MISSING, 'llvm-strip not found (needed by --strip)', {
    tried: names.map((n) => ({ what: n, outcome: 'not found' })),
    hint: 'install llvm (Debian/Ubuntu: apt-get install llvm), or set LLVM_STRIP',
  });
}

/** Strip `object` in place, atomically: a temp copy is stripped and renamed over it. */
export async function stripObject(strip: string, object: string): Promise<void> {
  await writeAtomically(object, async (tmp) => {
    const r = await exec(strip, [...STRIP_ARGS, '-o', tmp, object]);
    if (!r.ok) {
      throw new BpfCompileError(ErrorCode.COMPILE_FAILED, `llvm-strip failed on ${object}`, { details: { diagnostics: r.spawnError ?? r.stderr } });
    }
  });
}
