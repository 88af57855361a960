/** The public types of compiling: options, the planned compile, the result. */
import type { ResolveOptions, ResolvedHeaders } from '../resolve.js';
import type { Target } from '../target.js';
import type { CompilePlan, PipelineMode } from './flags.js';
import type { Toolchain } from './toolchain.js';

/** `kernel`, `plain`, `core`, or `auto` (decide from the program and what is installed; see {@link planCompile}). */
export type CompileMode = PipelineMode | 'auto';

/** Options of {@link compile} and {@link planCompile}. Target and header options are those of `resolveHeaders()`. */
export interface CompileOptions extends ResolveOptions {
  /** The eBPF C file. */
  source: string;
  /** Where the object goes. Written atomically: it appears complete or not at all. */
  output: string;
  /** Pipeline. Default: `auto`. */
  mode?: CompileMode;
  /** `-mcpu` for the BPF backend. Default: the newest ISA the target release accepts (`v3` from 5.1). */
  cpu?: string;
  /** Dir holding `bpf/bpf_helpers.h`. Default: env `BPF_COMPILE_LIBBPF_INCLUDE`, else `/usr/include` or `/usr/local/include` under `root`. */
  libbpfInclude?: string;
  /** Extra clang arguments, after bpf-compile's own (so they override). */
  extraArgs?: readonly string[];
  /** clang to use (path or name). Default: `$CLANG`, `clang`, `clang-<N>`. */
  clang?: string;
  /** opt to use. Default: `$OPT`, else the one of clang's LLVM major. */
  opt?: string;
  /** llc to use. Default: `$LLC`, else the one of clang's LLVM major. */
  llc?: string;
  /**
   * Reuse a cached object when nothing the compile reads has changed (source, every header it included, argv,
   * toolchain). Default: true. The cache is the one of `cacheDir`. `false` compiles even when an unchanged object is
   * cached; what `clang -v` said is still remembered there (keyed by the clang binary's identity, so it cannot go stale).
   */
  cache?: boolean;
  /** Headers already resolved (a kernel tree → kernel mode, a `vmlinux.h` → core mode). */
  headers?: ResolvedHeaders;
}

/** A compile, planned: the decided mode and the exact argument lists. */
export interface PlannedCompile {
  readonly mode: PipelineMode;
  /** Why this mode (for `auto`). */
  readonly modeReason: string;
  readonly plan: CompilePlan;
  readonly toolchain: Toolchain;
  /** Kernel headers used (kernel mode). */
  readonly headers: ResolvedHeaders | undefined;
  readonly target: Target;
  /** Warnings from header resolution. */
  readonly warnings: readonly string[];
  /** The temporary path the tools write before the atomic rename. */
  readonly tmpOutput: string;
  /** The final output path (absolute). */
  readonly output: string;
}

/** Result of {@link compile}. */
export interface CompileResult extends PlannedCompile {
  /** The compilers' stderr (warnings), untouched; replayed from the cache on a hit. */
  readonly diagnostics: string;
  /** True when the object came from the compiled-object cache. */
  readonly fromCache: boolean;
}
