/**
 * Running a compile plan: clang (| opt | llc) as child processes, diagnostics kept verbatim, output renamed into place.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BpfCompileError, ErrorCode } from '../errors.js';
import type { CompilePlan } from './flags.js';
import type { Toolchain } from './toolchain.js';
import { execPipeline, type ExecResult, type PipelineStage } from '../system/exec.js';
import { colourDiagnostics } from '../system/terminal.js';

/** What running a plan printed. */
export interface RunOutput {
  /** Everything the tools wrote to stderr (warnings), untouched. */
  readonly diagnostics: string;
}

/**
 * Run a plan whose output is `tmpOutput`, then rename it onto `output`. On failure the temporary file is removed
 * and a `COMPILE_FAILED` error carries the tools' diagnostics verbatim; `output` is never left half-written.
 */
export async function runPlan(plan: CompilePlan, toolchain: Toolchain, tmpOutput: string, output: string): Promise<RunOutput> {
  const color = colourDiagnostics() ? ['-fcolor-diagnostics'] : [];
  const stages: PipelineStage[] = [{ file: toolchain.clang.path, args: [...color, ...plan.clang] }];
  if (plan.mode === 'kernel') {
    const { opt, llc } = toolchain;
    if (opt === undefined || llc === undefined) throw new TypeError('kernel plan without opt/llc');
    stages.push({ file: opt.path, args: [...plan.opt] }, { file: llc.path, args: [...plan.llc] });
  }
  const results = await execPipeline(stages);
  const failed = results.findIndex((r) => !r.ok);
  // the diagnostics of every stage up to and including the first that failed (later ones only complain about the
  // empty input they got)
  const diagnostics = results
    .slice(0, failed < 0 ? results.length : failed + 1)
    .map((r) => r.stderr)
    .filter((s) => s !== '')
    .join('\n');
  // synchronous: one rename, not worth starting the thread pool (4 threads) and loading fs/promises at the end of a run
  if (failed < 0) {
    fs.renameSync(tmpOutput, output);
    return { diagnostics };
  }
  fs.rmSync(tmpOutput, { force: true });
  const r = results[failed] as ExecResult;
  const tool = path.basename((stages[failed] as PipelineStage).file);
  const how = r.spawnError !== undefined ? `could not be started: ${r.spawnError}` : r.exitCode !== undefined ? 'exited non-zero' : `was killed by ${r.signal ?? 'a signal'}`;
  throw new BpfCompileError(ErrorCode.COMPILE_FAILED, `compilation failed (${tool} ${how})`, {
    details: { diagnostics, command: r.command, ...(r.exitCode === undefined ? {} : { exitCode: r.exitCode }) },
    hint: diagnostics === '' ? 'the compiler printed nothing; run with --debug to see the command lines' : undefined,
  });
}
