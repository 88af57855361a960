/**
 * Running a compile plan: clang (| opt | llc) as child processes, diagnostics kept verbatim, output renamed into place.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { BpfCompileError, ErrorCode } from '../errors.js';
import type { CompilePlan } from './flags.js';
import type { Toolchain } from './toolchain.js';

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
  // loaded on first use: importing execa costs ~0.1 s, which commands that spawn nothing should not pay
  const { execa } = await import('execa');
  const color = process.stderr.isTTY === true && process.env['NO_COLOR'] === undefined ? ['-fcolor-diagnostics'] : [];
  try {
    let diagnostics: string;
    if (plan.mode !== 'kernel') {
      const r = await execa(toolchain.clang.path, [...color, ...plan.clang], { stdin: 'ignore' });
      diagnostics = String(r.stderr);
    } else {
      const { opt, llc } = toolchain;
      if (opt === undefined || llc === undefined) throw new TypeError('kernel plan without opt/llc');
      const clang: ResultPromise = execa(toolchain.clang.path, [...color, ...plan.clang], { stdin: 'ignore', encoding: 'buffer' });
      const r = await clang.pipe(opt.path, [...plan.opt], { encoding: 'buffer' }).pipe(llc.path, [...plan.llc]);
      diagnostics = collectStderr(r);
    }
    await fs.rename(tmpOutput, output);
    return { diagnostics };
  } catch (err) {
    await fs.rm(tmpOutput, { force: true });
    if (err instanceof BpfCompileError) throw err;
    const stages = collectStderr(err);
    const failed = failedCommand(err);
    throw new BpfCompileError(ErrorCode.COMPILE_FAILED, `compilation failed${failed === undefined ? '' : ` (${failed})`}`, {
      cause: err,
      details: { diagnostics: stages },
      hint: stages === '' ? 'the compiler printed nothing; run with --debug to see the command lines' : undefined,
    });
  }
}

function failedCommand(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'shortMessage' in err) {
    const m = /^Command failed with exit code \d+: (\S+)/.exec(String((err as { shortMessage: unknown }).shortMessage));
    if (m !== null) return `${path.basename(m[1] as string)} exited non-zero`;
  }
  return undefined;
}

function decode(raw: unknown): string {
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
  return typeof raw === 'string' ? raw : '';
}

/**
 * Diagnostics of a failed (possibly piped) run: the stderr of each stage in pipeline order, up to and including the
 * first stage that failed (later stages only complain about the empty input they got).
 */
function collectStderr(err: unknown): string {
  const stages: Array<{ stderr: string; failed: boolean }> = [];
  const visit = (e: unknown): void => {
    if (typeof e !== 'object' || e === null) return;
    const from = (e as { pipedFrom?: unknown }).pipedFrom;
    if (Array.isArray(from)) for (const f of from) visit(f);
    stages.push({ stderr: decode((e as { stderr?: unknown }).stderr), failed: (e as { failed?: unknown }).failed === true });
  };
  visit(err);
  const firstFailed = stages.findIndex((s) => s.failed);
  return stages
    .slice(0, firstFailed < 0 ? stages.length : firstFailed + 1)
    .map((s) => s.stderr)
    .filter((s) => s !== '')
    .join('\n');
}
