/** CLI glue of `bpf-compile doctor`; the logic is in `lib/doctor/`. */
import type { Command } from 'commander';
import type { DoctorOptions, DoctorReport } from '../../doctor/index.js';
import { BpfCompileError, ErrorCode } from '../../errors.js';
import type { CliIo, TargetFlags } from '../main.js';

/** The flags `doctor` takes (the shared target options plus the toolchain ones). */
interface DoctorFlags extends TargetFlags {
  json?: boolean;
  clang?: string;
  opt?: string;
  llc?: string;
  libbpfInclude?: string;
}

/** Map parsed flags to {@link DoctorOptions}. The kheaders module is loaded only when `--load-module` is given. */
function doctorOptionsOf(f: DoctorFlags, loadModuleExplicit: boolean): DoctorOptions {
  return {
    kernelRelease: f.kernelRelease,
    arch: f.arch,
    root: f.root,
    kernelSource: f.kernelSource,
    kernelBuild: f.kernelBuild,
    kheaders: f.kheaders,
    loadModule: loadModuleExplicit ? f.loadModule : 'never',
    cacheDir: f.cacheDir,
    btf: f.btf,
    btfModules: f.btfModule ?? [],
    ...(f.mirror === undefined || f.mirror.length === 0 ? {} : { mirrors: f.mirror }),
    ...(f.offline === true ? { offline: true } : {}),
    ...(f.aptRepo === undefined || f.aptRepo.length === 0 ? {} : { aptRepositories: f.aptRepo }),
    clang: f.clang,
    opt: f.opt,
    llc: f.llc,
    libbpfInclude: f.libbpfInclude,
  };
}

/** The error that makes `main()` exit 3 or 4 after the report was printed. */
function verdictError(r: DoctorReport): BpfCompileError {
  const code = r.verdict.status === 'toolchain' ? ErrorCode.TOOLCHAIN_MISSING : ErrorCode.HEADERS_NOT_FOUND;
  return new BpfCompileError(code, `doctor: ${r.verdict.summary}`, { hint: r.nextSteps[0], details: { exitCode: r.exitCode } });
}

/**
 * Add `bpf-compile doctor`: a report of the toolchain, libbpf, header sources, BTF, cache and bpf() loading for the
 * target kernel. Exit 0 when compiling can work, 4 for the toolchain, 3 for no headers and no BTF.
 * @param addTargetOptions - adds the shared target options (`--kernel-release`, `--arch`, `--root`, `--cache-dir`, …)
 */
export function addDoctorCommand(program: Command, io: CliIo, addTargetOptions: (c: Command) => Command): void {
  addTargetOptions(
    program
      .command('doctor')
      .description('check this machine: toolchain, libbpf, header sources, BTF, cache, bpf() loading — and say what to do next')
      .option('--json', 'print the report as JSON')
      .option('--clang <path>', 'clang to check (default: $CLANG, clang, clang-<N>)')
      .option('--opt <path>', 'opt to check (default: $OPT, else the one matching clang)')
      .option('--llc <path>', 'llc to check (default: $LLC, else the one matching clang)')
      .option('--libbpf-include <dir>', 'dir holding bpf/bpf_helpers.h (default: /usr/include or /usr/local/include)')
      .addHelpText('after', '\nExit codes: 0 compiling can work, 4 toolchain or libbpf missing, 3 no kernel headers and no BTF.\nThe kheaders module is not loaded unless --load-module is given.'),
  ).action(async (flags: DoctorFlags, cmd: Command) => {
    const explicit = cmd.getOptionValueSource('loadModule') === 'cli';
    const { buildDoctorReport, formatDoctorReport } = await import('../../doctor/index.js');
    const report = await buildDoctorReport(doctorOptionsOf(flags, explicit));
    io.stdout(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatDoctorReport(report));
    if (report.exitCode !== 0) throw verdictError(report);
  });
}
