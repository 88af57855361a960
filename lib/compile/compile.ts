/** Running a planned compile: through the compiled-object cache, or straight (`cache: false`); the output written atomically. */
import path from 'node:path';
import { BpfCompileError, ErrorCode, isBpfCompileError } from '../errors.js';
import { compileCached, runPlanWithArgs } from './object-cache.js';
import { planCompile } from './plan.js';
import { runPlan } from './run.js';
import type { CompileOptions, CompileResult } from './types.js';
import { makeDirs } from '../system/dirs.js';

/**
 * Compile an eBPF C program to a BPF object with the right pipeline for its headers.
 *
 * - **kernel** mode (programs including kernel headers): clang with the target's host triple and the kernel
 *   include order emits IR → `opt -O2` → `llc -march=bpfel|bpfeb -mcpu=…`.
 * - **plain** mode (uapi + libbpf headers only): `clang -target bpfel|bpfeb`.
 * - **core** mode (CO-RE programs including `vmlinux.h`): plain mode plus `-I` the `vmlinux.h` generated from BTF.
 *
 * The output is written atomically; a failed compile leaves no file and throws `COMPILE_FAILED` with the compiler's
 * diagnostics in `details.diagnostics`. An unchanged compile is served from the compiled-object cache (`cache: false`
 * to bypass it).
 */
export async function compile(options: CompileOptions): Promise<CompileResult> {
  const planned = await planCompile(options);
  try {
    makeDirs(path.dirname(planned.output));
  } catch (err) {
    throw new BpfCompileError(ErrorCode.OUTPUT_UNWRITABLE, `cannot create the directory of ${planned.output}: ${err instanceof Error ? err.message : String(err)}`, {
      hint: 'Write the object somewhere you can create files (-o).',
      details: { path: planned.output },
      cause: err,
    });
  }
  try {
    if (options.cache === false) {
      const { diagnostics } = await runPlan(planned.plan, planned.toolchain, planned.tmpOutput, planned.output);
      return { ...planned, diagnostics, fromCache: false };
    }
    const r = await compileCached(planned, runPlanWithArgs, { cache: { cacheDir: options.cacheDir, env: options.env ?? process.env } });
    return { ...planned, diagnostics: r.diagnostics, fromCache: r.fromCache };
  } catch (err) {
    if (isBpfCompileError(err, ErrorCode.COMPILE_FAILED) && planned.mode === 'plain' && (options.mode ?? 'auto') === 'auto') {
      throw new BpfCompileError(err.code, err.message, {
        cause: err,
        details: err.details,
        hint: `compiled in plain mode because no kernel headers were found for ${planned.target.release}; if the program needs kernel headers, install them (bpf-compile headers --kernel-release ${planned.target.release} says what was tried)`,
      });
    }
    throw err;
  }
}
