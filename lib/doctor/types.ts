/**
 * The shapes of the doctor report: one section per concern (toolchain, libbpf, sources, BTF, cache, network, distro,
 * bpf()), the verdict and the next steps.
 */
import type { DistroReport } from './distro.js';
/** The shape of a `bpf-compile doctor` report (also its `--json` output). */
import type { NetworkReport } from './network.js';
import type { BpfProbeResult } from './bpf-probe.js';

/** One LLVM tool as found on the machine. */
export interface ToolReport {
  /** `clang`, `opt`, `llc` or `llvm-strip`. */
  readonly name: string;
  /** Path it runs from; undefined when not found. */
  readonly path: string | undefined;
  /** LLVM major version, when known. */
  readonly major: number | undefined;
  /** Full version (`14.0.6`), when known. */
  readonly version: string | undefined;
}

/** clang/opt/llc/llvm-strip and whether they are one LLVM major. */
export interface ToolchainReport {
  /** clang works: CO-RE and plain programs can compile. */
  readonly clangOk: boolean;
  /** opt and llc of clang's major were found: kernel-headers programs can compile. */
  readonly backendOk: boolean;
  readonly tools: readonly ToolReport[];
  /** Every tool found is of one LLVM major. */
  readonly agree: boolean;
  /** The majors seen, deduplicated. */
  readonly majors: readonly number[];
  /** Why the toolchain is incomplete (the TOOLCHAIN_* error message). */
  readonly error?: string;
  /** What to do about it. */
  readonly hint?: string;
}

/** libbpf's `bpf/bpf_helpers.h`. */
export interface LibbpfReport {
  readonly ok: boolean;
  /** The include dir holding `bpf/`. */
  readonly dir?: string;
  readonly error?: string;
  readonly hint?: string;
}

/** One header source's state for the target kernel. */
export interface SourceReport {
  readonly name: string;
  readonly kind: 'kernel-tree' | 'vmlinux';
  readonly found: boolean;
  /** Where the headers are (when found). */
  readonly detail?: string;
  /** Why not (when not found). */
  readonly reason?: string;
  readonly hint?: string;
  /** Warnings (release mismatch, notes). */
  readonly warnings: readonly string[];
}

/** BTF of the running kernel. */
export interface BtfReport {
  readonly path: string;
  readonly present: boolean;
}

/** The cache directory and whether it is safe to use. */
export interface CacheReport {
  readonly path: string;
  /** `option`, `env`, `system` or `user`. */
  readonly origin: string;
  readonly exists: boolean;
  readonly ok: boolean;
  /** The CACHE_UNSAFE message. */
  readonly error?: string;
  readonly hint?: string;
}

/** What can be compiled for the target, and the verdict. */
export interface DoctorVerdict {
  /** Kernel-headers programs (kernel mode) can compile. */
  readonly kernelHeaders: boolean;
  /** CO-RE programs (vmlinux.h from BTF) can compile. */
  readonly core: boolean;
  /** `ok` (exit 0), `toolchain` (exit 4) or `headers` (exit 3). */
  readonly status: 'ok' | 'toolchain' | 'headers';
  /** One sentence. */
  readonly summary: string;
}

/** The whole doctor report. */
export interface DoctorReport {
  readonly target: { readonly release: string; readonly arch: string; readonly root: string; readonly running: boolean };
  readonly toolchain: ToolchainReport;
  readonly libbpf: LibbpfReport;
  readonly sources: readonly SourceReport[];
  readonly btf: BtfReport;
  readonly cache: CacheReport;
  /** Mirrors, offline mode and proxies. */
  readonly network: NetworkReport;
  /** The distribution's repositories the `distro` source reads. */
  readonly distro: DistroReport;
  readonly bpf: BpfProbeResult;
  readonly verdict: DoctorVerdict;
  /** Concrete commands to run, most important first. */
  readonly nextSteps: readonly string[];
}
