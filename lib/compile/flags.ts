/**
 * Compile plans as pure argv: the clang/opt/llc argument lists of kernel, plain and CO-RE mode, and the flags shown by
 * `cflags`. No I/O; every decision about flags lives here.
 */
import path from 'node:path';
import type { ArchInfo } from '../arch.js';

/** Compile modes that build argument lists here. */
export type PipelineMode = 'kernel' | 'plain' | 'core';

/** The header facts kernel mode needs (a subset of `ResolvedHeaders`). */
export interface KernelHeaderFlagsInput {
  readonly sourceDir: string;
  readonly buildDir: string;
  readonly includeDirs: readonly string[];
  readonly kconfigHeader: string;
}

/** Everything the argument lists depend on. Building them is pure: same input, same argv. */
export interface FlagInputs {
  /** Absolute path of the C file. */
  readonly source: string;
  /** Absolute path the object is written to (a temporary sibling of the final output). */
  readonly output: string;
  readonly arch: ArchInfo;
  /** `-mcpu` value (`v1`…`v4`). */
  readonly cpu: string;
  /** clang's resource dir (kernel mode: its `include/` replaces the system headers). */
  readonly resourceDir: string;
  /** clang's host `#include <…>` list (plain mode adds each with `-idirafter`). */
  readonly systemIncludeDirs: readonly string[];
  /** Dir holding `bpf/bpf_helpers.h`. */
  readonly libbpfInclude: string;
  /** Extra clang flags from the user; they come after ours, so `-D`/`-O`/`-W` override. */
  readonly userFlags: readonly string[];
}

/** Argument lists of the kernel pipeline: clang → opt → llc, piped. */
export interface KernelPlan {
  readonly mode: 'kernel';
  readonly clang: readonly string[];
  readonly opt: readonly string[];
  readonly llc: readonly string[];
}

/** Argument list of a one-step `clang -target bpfel|bpfeb` compile: plain (uapi + libbpf) or core (plus `vmlinux.h`). */
export interface PlainPlan {
  readonly mode: 'plain' | 'core';
  readonly clang: readonly string[];
}

export type CompilePlan = KernelPlan | PlainPlan;

/** Preprocessor defines of kernel mode (besides `__TARGET_ARCH_*`). Empty values match the kernel's own definitions. */
export const KERNEL_DEFINES: readonly string[] = [
  '__KERNEL__',
  '__BPF_TRACING__',
  '__HAVE_BUILTIN_BSWAP16__=',
  '__HAVE_BUILTIN_BSWAP32__=',
  '__HAVE_BUILTIN_BSWAP64__=',
  'KBUILD_MODNAME="bpf"',
];

/** Warnings kernel headers trigger by design under clang (BCC and the kernel's samples/bpf silence the same). */
export const KERNEL_WARNING_FLAGS: readonly string[] = [
  '-Wno-unused-value',
  '-Wno-pointer-sign',
  '-Wno-compare-distinct-pointer-types',
  '-Wno-gnu-variable-sized-type-not-at-end',
  '-Wno-address-of-packed-member',
  '-Wno-tautological-compare',
  '-Wno-unknown-warning-option',
];

/**
 * How kernel include dirs are passed: as system dirs, in the kernel's order, after clang's own. Warnings that arise
 * inside kernel headers are then not reported — they are not the program's (Debian's 6.12 headers give 7 per compile
 * with clang 14: `'nocf_check' attribute ignored`, `multiple identical address spaces`), while every warning in the
 * program itself still is. Since system dirs are searched after `-I` dirs, a program's own `-I` dirs come first.
 */
export const KERNEL_INCLUDE_FLAG = '-isystem';

/** Code generation flags of kernel mode's host front end: nothing a BPF object cannot carry (no unwind tables → no `.eh_frame`). */
export const KERNEL_CODEGEN_FLAGS: readonly string[] = ['-fno-stack-protector', '-fno-unwind-tables', '-fno-asynchronous-unwind-tables'];

/** Where the header trees appear in debug info, so objects do not depend on where headers were installed or extracted. */
export const DEBUG_PATH_NAMES = { source: '/kernel-source', build: '/kernel-build' } as const;

/** Flags that keep objects reproducible: no compiler ident, no absolute source or build dirs in DWARF/BTF. */
export function reproducibleFlags(source: string): string[] {
  return ['-fno-ident', `-fdebug-prefix-map=${path.dirname(source)}=.`, '-fdebug-compilation-dir=.'];
}

/**
 * Kernel mode: parse kernel headers with the target's host triple (they hold host inline asm that `-target bpf`
 * rejects), emit unoptimised IR, then optimise and lower it for BPF.
 */
export function buildKernelPlan(inputs: FlagInputs, headers: KernelHeaderFlagsInput): KernelPlan {
  const { arch } = inputs;
  const treeMaps =
    headers.buildDir === headers.sourceDir
      ? [`-fdebug-prefix-map=${headers.sourceDir}=${DEBUG_PATH_NAMES.source}`]
      : [`-fdebug-prefix-map=${headers.sourceDir}=${DEBUG_PATH_NAMES.source}`, `-fdebug-prefix-map=${headers.buildDir}=${DEBUG_PATH_NAMES.build}`];
  const clang = [
    '-target',
    arch.triple,
    '-nostdinc',
    '-isystem',
    path.join(inputs.resourceDir, 'include'),
    ...headers.includeDirs.map((d) => `${KERNEL_INCLUDE_FLAG}${d}`),
    '-include',
    headers.kconfigHeader,
    '-idirafter',
    inputs.libbpfInclude,
    ...KERNEL_DEFINES.map((d) => `-D${d}`),
    `-D__TARGET_ARCH_${arch.targetArch}`,
    ...KERNEL_WARNING_FLAGS,
    ...KERNEL_CODEGEN_FLAGS,
    ...reproducibleFlags(inputs.source),
    ...treeMaps,
    '-O2',
    '-g',
    ...inputs.userFlags,
    '-emit-llvm',
    '-Xclang',
    '-disable-llvm-passes',
    '-c',
    inputs.source,
    '-o',
    '-',
  ];
  const opt = ['-O2', `-mtriple=${arch.bpfTarget}-pc-linux`];
  const llc = [`-march=${arch.bpfTarget}`, `-mcpu=${inputs.cpu}`, '-filetype=obj', '-o', inputs.output];
  return { mode: 'kernel', clang, opt, llc };
}

/**
 * Plain mode: one `clang -target bpfel|bpfeb` step for programs that need only uapi and libbpf headers.
 * clang's host include dirs come last (`-idirafter`), so `asm/types.h` is found without shadowing anything.
 */
export function buildPlainPlan(inputs: FlagInputs): PlainPlan {
  return oneStepPlan('plain', inputs, []);
}

/**
 * CO-RE mode (libbpf-bootstrap's flags): plain mode plus `-I<dir with the generated vmlinux.h>` ahead of the libbpf
 * headers. `vmlinuxDir` is undefined when the program brings its own `vmlinux.h`.
 */
export function buildCorePlan(inputs: FlagInputs, vmlinuxDir: string | undefined): PlainPlan {
  return oneStepPlan('core', inputs, vmlinuxDir === undefined ? [] : [`-I${vmlinuxDir}`]);
}

function oneStepPlan(mode: 'plain' | 'core', inputs: FlagInputs, extraIncludes: readonly string[]): PlainPlan {
  const { arch } = inputs;
  const libbpf = inputs.systemIncludeDirs.includes(inputs.libbpfInclude) ? [] : [`-I${inputs.libbpfInclude}`];
  const clang = [
    '-target',
    arch.bpfTarget,
    `-D__TARGET_ARCH_${arch.targetArch}`,
    `-mcpu=${inputs.cpu}`,
    ...extraIncludes,
    ...libbpf,
    ...inputs.systemIncludeDirs.flatMap((d) => ['-idirafter', d]),
    ...reproducibleFlags(inputs.source),
    '-O2',
    '-g',
    ...inputs.userFlags,
    '-c',
    inputs.source,
    '-o',
    inputs.output,
  ];
  return { mode, clang };
}

/**
 * The flags a Makefile or another build needs to compile like `bpf-compile` does (`bpf-compile cflags`): the clang
 * front-end flags of the plan without the input, output and pipeline-specific `-emit-llvm` parts.
 */
export function cflagsOf(plan: CompilePlan): string[] {
  const out: string[] = [];
  const drop = new Set(['-emit-llvm']);
  for (let i = 0; i < plan.clang.length; i++) {
    const a = plan.clang[i] as string;
    if (a === '-o' || a === '-c') {
      i++;
      continue;
    }
    if (a === '-Xclang' && plan.clang[i + 1] === '-disable-llvm-passes') {
      i++;
      continue;
    }
    if (drop.has(a) || a.startsWith('-fdebug-prefix-map=') || a === '-fdebug-compilation-dir=.') continue;
    out.push(a);
  }
  return out;
}
