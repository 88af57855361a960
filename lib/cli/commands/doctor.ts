/** CLI glue of `bpf-compile doctor`; the logic is in `lib/doctor/`. */
import type { Command } from 'commander';
import type { DoctorOptions, DoctorReport } from '../../doctor/index.js';
import { BpfCompileError, ErrorCode } from '../../errors.js';
import type { CliContext } from '../context.js';
import { exitCodeOfVerdict } from '../exit-codes.js';
import { addTargetOptions, resolveOptionsOf, type TargetFlags } from '../target-options.js';

/** The flags `doctor` takes (the shared target options plus the toolchain ones). */
interface DoctorFlags extends TargetFlags {
  json?: boolean;
  clang?: string;
  opt?: string;
  llc?: string;
  libbpfInclude?: string;
}

/** Map parsed flags to {@link DoctorOptions}: the shared target options, the toolchain ones, and the kheaders module loaded only when `--load-module` is given. */
function doctorOptionsOf(f: DoctorFlags, loadModuleExplicit: boolean): DoctorOptions {
  const { onProgress: _onProgress, strict: _strict, pinnedSha256: _pin, pinnedBtfSha256: _pinBtf, sources: _sources, ...target } = resolveOptionsOf(f);
  return { ...target, loadModule: loadModuleExplicit ? f.loadModule : 'never', clang: f.clang, opt: f.opt, llc: f.llc, libbpfInclude: f.libbpfInclude };
}

/** The error that makes `main()` exit 3 or 4 after the report was printed. */
function verdictError(r: DoctorReport): BpfCompileError {
  const code = r.verdict.status === 'toolchain' ? ErrorCode.TOOLCHAIN_MISSING : ErrorCode.HEADERS_NOT_FOUND;
  return new BpfCompileError(code, `doctor: ${r.verdict.summary}`, { hint: r.nextSteps[0], details: { exitCode: exitCodeOfVerdict(r.verdict.status) } });
}

/**
 * Register `bpf-compile doctor`: a report of the toolchain, libbpf, header sources, BTF, cache and bpf() loading for the
 * target kernel. Exit 0 when compiling can work, 4 for the toolchain, 3 for no headers and no BTF.
 */
export function register(program: Command, ctx: CliContext): void {
  addTargetOptions(
    program
      .command('doctor')
      .description('check this machine: toolchain, libbpf, header sources, BTF, cache, bpf() loading — and say what to do next')
      .option('--json', 'print the report as JSON')
      .option('--clang <path>', 'clang to check (default: $CLANG, clang, clang-<N>)')
      .option('--opt <path>', 'opt to check (default: $OPT, else the one matching clang)')
      .option('--llc <path>', 'llc to check (default: $LLC, else the one matching clang)')
      .option('--libbpf-include <dir>', 'dir holding bpf/bpf_helpers.h (default: /usr/include or /usr/local/include)')
      .addHelpText(
        'after',
        '\nExit codes: 0 compiling can work, 4 toolchain or libbpf missing, 3 no kernel headers and no BTF.\nThe kheaders module is not loaded unless --load-module is given.',
      ),
  ).action(async (flags: DoctorFlags, cmd: Command) => {
    const explicit = cmd.getOptionValueSource('loadModule') === 'cli';
    const { buildDoctorReport, formatDoctorReport } = await import('../../doctor/index.js');
    const report = await buildDoctorReport(doctorOptionsOf(flags, explicit));
    const exitCode = exitCodeOfVerdict(report.verdict.status);
    ctx.io.stdout(flags.json === true ? `${JSON.stringify({ ...report, exitCode }, null, 2)}\n` : formatDoctorReport(report));
    if (exitCode !== 0) throw verdictError(report);
  });
}
