/** The options of the commands that compile (`cflags`, `compile`, `build`): the target options plus the toolchain and mode. */
import { Option, type Command } from 'commander';
import type { CompileMode, CompileOptions } from '../compile/index.js';
import type { ResolveOptions } from '../resolve.js';
import { addTargetOptions, resolveOptionsOf, type TargetFlags } from './target-options.js';

/** Flags of the compiling commands. */
export interface CompileFlags extends TargetFlags {
  mode: CompileMode;
  cpu?: string;
  libbpfInclude?: string;
  clang?: string;
  opt?: string;
  llc?: string;
}

/** Add the target options and the compile ones (`--mode`, `--cpu`, `--libbpf-include`, `--clang/--opt/--llc`). */
export function addCompileOptions(cmd: Command): Command {
  return addTargetOptions(cmd)
    .addOption(
      new Option('--mode <mode>', 'pipeline: kernel (kernel headers), core (CO-RE, vmlinux.h from BTF), plain (uapi + libbpf only), auto')
        .choices(['auto', 'kernel', 'core', 'plain'])
        .default('auto'),
    )
    .option('--cpu <cpu>', 'BPF ISA for -mcpu (default: newest the target kernel accepts: v3 from 5.1, v2 from 4.14, else v1)')
    .option('--libbpf-include <dir>', 'dir holding bpf/bpf_helpers.h (default: /usr/include or /usr/local/include)')
    .option('--clang <path>', 'clang to use (default: $CLANG, clang, clang-<N>)')
    .option('--opt <path>', 'opt to use (default: $OPT, else the one matching clang)')
    .option('--llc <path>', 'llc to use (default: $LLC, else the one matching clang)');
}

/** Compile flags → `compile()` options. */
export function compileOptionsOf(f: CompileFlags, source: string, output: string, extraArgs: readonly string[], onProgress?: ResolveOptions['onProgress']): CompileOptions {
  return { ...resolveOptionsOf(f, onProgress), source, output, mode: f.mode, cpu: f.cpu, libbpfInclude: f.libbpfInclude, clang: f.clang, opt: f.opt, llc: f.llc, extraArgs };
}
