/**
 * The header source interface: what a source is given (`SourceContext`) and what it answers (`SourceResult`).
 */
import type { BpfCompileError } from '../errors.js';
import type { LoadModulePolicy } from '../kmod/load.js';
import type { Target } from '../target.js';

/** A kernel header tree as the compiler sees it: a source tree and an object (build) tree, possibly the same dir. */
export interface KernelTree {
  /** Directory holding `include/linux/…`, `arch/<a>/include/…` (the source tree). */
  readonly sourceDir: string;
  /** Directory holding `include/generated/…`, `arch/<a>/include/generated/…` (the build tree). */
  readonly buildDir: string;
}

/** What kind of headers a source provides: a kernel source/build tree, or a BTF-generated `vmlinux.h`. */
export type HeaderKind = 'kernel-tree' | 'vmlinux';

/** A generated `vmlinux.h` (CO-RE programs). */
export interface VmlinuxHeader {
  /** Directory holding `vmlinux.h` (pass as `-I`). */
  readonly includeDir: string;
  /** The header file. */
  readonly header: string;
  /** The BTF it was generated from. */
  readonly btf: string;
  /** Module BTFs whose types were added. */
  readonly modules: readonly string[];
  /** sha256 of the header. */
  readonly sha256: string;
}

interface FoundCommon {
  readonly found: true;
  /** Where exactly (a path, an env variable, a cache entry). */
  readonly detail: string;
  /** Things worth telling the user that do not stop the source (e.g. a module left loaded). */
  readonly notes?: readonly string[];
}

/** What a header source answers. */
export type SourceResult =
  | (FoundCommon & { readonly kind: 'kernel-tree'; readonly tree: KernelTree })
  | (FoundCommon & {
      readonly kind: 'vmlinux';
      readonly vmlinux: VmlinuxHeader;
      /** Set when the BTF is known to describe another kernel than the target (a warning, an error under strict). */
      readonly releaseMismatch?: string;
    })
  | {
      readonly found: false;
      /** Why this source does not apply, in a few words the user can act on. */
      readonly reason: string;
      /** True when nothing configures this source (no override set): it was not really tried. */
      readonly notConfigured?: boolean;
      /** When true, resolution stops here: the user asked for this source explicitly and it is broken. */
      readonly fatal?: boolean;
      /** What the user could do to make this source work. */
      readonly hint?: string;
      /** With `fatal`: the typed error to raise (a hostile archive keeps its `ARCHIVE_UNSAFE` code). */
      readonly error?: BpfCompileError;
    };

/** Progress of a long step inside a source (bytes of an archive decoded, downloaded, …). */
export interface SourceProgress {
  /** The source reporting (`kheaders`, …). */
  readonly source: string;
  /** What is happening (`extracting /sys/kernel/kheaders.tar.xz`). */
  readonly what: string;
  readonly done: number;
  readonly total: number | undefined;
}

/** Everything a source may consult. Built once per `resolveHeaders()` call. */
export interface SourceContext {
  readonly target: Target;
  /** Environment variables (defaults to `process.env`; tests pass their own). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Explicit source tree (option `kernelSource`). */
  readonly kernelSource: string | undefined;
  /** Explicit build tree (option `kernelBuild`). */
  readonly kernelBuild: string | undefined;
  /** Explicit kheaders archive or `kheaders.ko` file (option `kheaders`). */
  readonly kheadersFile: string | undefined;
  /** Whether the `kheaders` module may be loaded. */
  readonly loadModule: LoadModulePolicy;
  /** Cache directory override (option `cacheDir`; else `BPF_COMPILE_CACHE_DIR`, else the default). */
  readonly cacheDir: string | undefined;
  /** Progress callback for long steps. */
  readonly onProgress: ((p: SourceProgress) => void) | undefined;
  /** Explicit BTF file (option `btf`): raw BTF, an ELF with `.BTF`, or a btfhub `.btf.tar.xz`. */
  readonly btfFile: string | undefined;
  /** Module BTFs to add to a generated `vmlinux.h` (names under `/sys/kernel/btf/` or paths). */
  readonly btfModules: readonly string[];
  /** HTTP mirrors of header archives (option `mirrors`, `--mirror`; else `BPF_COMPILE_MIRROR`). */
  readonly mirrors?: readonly string[] | undefined;
  /** Never use the network: only what is cached (option `offline`, `--offline`, `BPF_COMPILE_OFFLINE=1`). */
  readonly offline?: boolean | undefined;
  /** Lowercase sha256 the mirror's headers archive must have (option `pinnedSha256`, `--sha256`). */
  readonly pinnedSha256?: string | undefined;
  /** Lowercase sha256 the mirror's BTF file must have (option `pinnedBtfSha256`, `--btf-sha256`). */
  readonly pinnedBtfSha256?: string | undefined;
  /** Extra apt repositories for the `distro` source (option `aptRepositories`, `--apt-repo`). */
  readonly aptRepositories?: readonly string[] | undefined;
  /** A local btfhub-archive checkout for the `btf` source (option `btfhub`, `--btfhub`; else `BPF_COMPILE_BTFHUB`). */
  readonly btfhub?: string | undefined;
  /** Extra rpm-md repositories for the `distro` source (option `rpmRepositories`, `--rpm-repo`). */
  readonly rpmRepositories?: readonly string[] | undefined;
}

/** One place kernel headers can come from. Sources are tried in priority order; see `sources/index.ts`. */
export interface HeaderSource {
  /** Stable name shown in `tried` and accepted by option `sources`. */
  readonly name: string;
  /** One line for `--help` and reports. */
  readonly description: string;
  /** What it provides. */
  readonly kind: HeaderKind;
  /** Look for headers. Never throws for "not here": answers `{ found: false, reason }`. */
  find(ctx: SourceContext): Promise<SourceResult>;
}
