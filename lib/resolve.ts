/**
 * `resolveHeaders()`: try every header source in priority order (`sources/index.ts`), say what was tried, and describe
 * what was found (include dirs, version check against the target).
 */
import { BpfCompileError, ErrorCode, type TriedStep } from './errors.js';
import type { ArchInfo } from './arch.js';
import { resolveTarget, type TargetOptions } from './target.js';
import { HEADER_SOURCES, sourceNames, type HeaderKind, type HeaderSource, type KernelTree, type SourceContext, type SourceProgress, type VmlinuxHeader } from './sources/index.js';
import type { LoadModulePolicy } from './kmod/load.js';
import { kconfigHeader, kernelIncludeDirs } from './sources/tree.js';
import { readHeaderVersion } from './headers/version.js';
import { headersInstallCommand } from './headers/packages.js';
import { readOsRelease } from './system/os-release.js';

/** Options of {@link resolveHeaders}. */
export interface ResolveOptions extends TargetOptions {
  /** Explicit kernel source tree. Beats every environment variable. */
  kernelSource?: string;
  /** Explicit kernel build (object) tree. Default: same as `kernelSource`. */
  kernelBuild?: string;
  /** Turn a release mismatch between headers and target into an error. Default: false (a warning). */
  strict?: boolean;
  /** Only try these sources, in the standard order (names: see {@link sourceNames}). Default: all. */
  sources?: readonly string[];
  /** Environment to read `BPF_KERNEL_SOURCE` & co. from. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** An explicit kheaders archive (`kheaders.tar.xz`) or `kheaders.ko[.xz|.gz]`, e.g. pulled from a device. */
  kheaders?: string;
  /** May the `kheaders` module be loaded for the running kernel? `auto` (default): only when root. */
  loadModule?: LoadModulePolicy;
  /** Cache directory. Default: `BPF_COMPILE_CACHE_DIR`, else `/var/cache/bpf-compile` for root, else the user cache dir. */
  cacheDir?: string;
  /** Progress of long steps (a cold archive extraction). */
  onProgress?: (progress: SourceProgress) => void;
  /** BTF to generate `vmlinux.h` from (raw BTF, an ELF with `.BTF`, or a btfhub `.btf.tar.xz`). Default: `/sys/kernel/btf/vmlinux`. */
  btf?: string;
  /** Module BTFs whose types are added to a generated `vmlinux.h` (names under `/sys/kernel/btf/`, or paths). */
  btfModules?: readonly string[];
  /** HTTP mirrors of header archives, tried in order. Default: `BPF_COMPILE_MIRROR` (space-separated). */
  mirrors?: readonly string[];
  /** Never touch the network; only cached downloads. Default: `BPF_COMPILE_OFFLINE=1`. */
  offline?: boolean;
  /**
   * sha256 (hex) the headers archive downloaded from a mirror must have. Wins over index.json and sidecars (a mirror
   * whose index lists another hash is an error), and is what makes a plain-`http://` mirror on another host usable.
   */
  pinnedSha256?: string;
  /** Like {@link ResolveOptions.pinnedSha256}, for the BTF file (`.btf` / `.btf.tar.xz`) downloaded from a mirror. */
  pinnedBtfSha256?: string;
  /**
   * Extra apt repositories for the `distro` source, as `sources.list` one-line entries (`deb [signed-by=/path/key.gpg]
   * http://host/debian bookworm main`; the leading `deb` may be left out). Keyrings are read from this machine. Added
   * to the target's own `etc/apt` configuration.
   */
  aptRepositories?: readonly string[];
  /**
   * Extra rpm-md repositories for the `distro` source: a base URL, or `key=value` pairs separated by commas as in a
   * `.repo` section (`baseurl=…,gpgkey=file:///path/key.asc,repo_gpgcheck=1`; also `mirrorlist=`, `metalink=`,
   * `gpgcheck=`, `sslcacert=`, `sslclientcert=`, `sslclientkey=`). Files are read from this machine. Added to the
   * target's own `etc/yum.repos.d` / `etc/zypp/repos.d`.
   */
  rpmRepositories?: readonly string[];
  /**
   * A local btfhub-archive checkout (`<dir>/<ID>/<VERSION_ID>/<arch>/<release>.btf.tar.xz`, chosen from the target's
   * os-release) for the `btf` source, after the live BTF and the vmlinux files libbpf looks for. Default
   * `BPF_COMPILE_BTFHUB`.
   */
  btfhub?: string;
  /** Only accept headers of this kind: a kernel tree (kernel mode) or a generated `vmlinux.h` (CO-RE). Default: either. */
  kind?: HeaderKind;
}

/** What every resolved header set says about itself. */
interface ResolvedCommon {
  /** Name of the source that provided them (`override`, `modules`, `kheaders`, `btf`). */
  readonly source: string;
  /** Where exactly they came from (env variable, path, cache entry). */
  readonly detail: string;
  /** The target kernel release. */
  readonly release: string;
  /** The target arch row. */
  readonly arch: ArchInfo;
  /** Non-fatal problems (release mismatch, unreadable version). */
  readonly warnings: readonly string[];
  /** Every source tried, in order, with its outcome. */
  readonly tried: readonly TriedStep[];
}

/** A `vmlinux.h` generated from BTF, for CO-RE programs (`compile --mode core`). */
export interface ResolvedVmlinux extends ResolvedCommon, VmlinuxHeader {
  readonly kind: 'vmlinux';
}

/** Headers found for a target kernel: a kernel tree, or (last resort, for CO-RE programs) a generated `vmlinux.h`. */
export type ResolvedHeaders = ResolvedKernelTree | ResolvedVmlinux;

/** A kernel source/build tree pair found for the target kernel. */
export interface ResolvedKernelTree extends ResolvedCommon {
  /** What kind of headers these are: a kernel source/build tree pair. */
  readonly kind: 'kernel-tree';
  /** Source tree (`include/linux`, `arch/<a>/include`). */
  readonly sourceDir: string;
  /** Build tree (`include/generated`, `arch/<a>/include/generated`); may equal `sourceDir`. */
  readonly buildDir: string;
  /** `-I` dirs in kernel order. */
  readonly includeDirs: readonly string[];
  /** The header to `-include` first (`include/linux/kconfig.h`). */
  readonly kconfigHeader: string;
  /** `UTS_RELEASE` of the headers. */
  readonly utsRelease: string | undefined;
  /** `LINUX_VERSION_CODE` of the headers. */
  readonly linuxVersionCode: number | undefined;
  /** `a.b.c` of `LINUX_VERSION_CODE`. */
  readonly version: string | undefined;
}

/** A pinned sha256, lowercased; undefined when not given. @throws BpfCompileError `USAGE` when it is not 64 hex digits. */
function checkedSha256(value: string | undefined, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9a-fA-F]{64}$/.test(value)) {
    throw new BpfCompileError(ErrorCode.USAGE, `the pinned sha256 of the ${what} must be 64 hex digits, got ${JSON.stringify(value)}`, {
      hint: "take it from `sha256sum FILE` or the mirror's index.json",
    });
  }
  return value.toLowerCase();
}

function pickSources(names: readonly string[] | undefined, kind: HeaderKind | undefined): readonly HeaderSource[] {
  const ofKind = HEADER_SOURCES.filter((s) => kind === undefined || s.kind === kind);
  if (names === undefined) return ofKind;
  const unknown = names.filter((n) => !HEADER_SOURCES.some((s) => s.name === n));
  if (unknown.length > 0) {
    throw new BpfCompileError(ErrorCode.USAGE, `unknown header source: ${unknown.join(', ')}`, {
      hint: `sources are: ${sourceNames().join(', ')}`,
    });
  }
  return ofKind.filter((s) => names.includes(s.name));
}

/**
 * Find kernel headers for the target kernel, trying each source in priority order: explicit override →
 * `/lib/modules/<release>/{build,source}` → the in-kernel archive (extracted into the cache) → headers fetched before
 * (cache) → a verified download from an HTTP mirror → the distribution's headers packages from its own repositories → a
 * `vmlinux.h` generated from BTF. Pass `kind` to accept only kernel trees (kernel mode) or only `vmlinux.h` (CO-RE).
 *
 * @returns the first usable headers, with their version and everything tried.
 * @throws BpfCompileError `HEADERS_NOT_FOUND` (lists every source and why), `HEADERS_VERSION_MISMATCH` (strict),
 *   `UNKNOWN_ARCH`, `USAGE`.
 */
export async function resolveHeaders(options: ResolveOptions & { kind: 'kernel-tree' }): Promise<ResolvedKernelTree>;
export async function resolveHeaders(options: ResolveOptions & { kind: 'vmlinux' }): Promise<ResolvedVmlinux>;
export async function resolveHeaders(options?: ResolveOptions): Promise<ResolvedHeaders>;
export async function resolveHeaders(options: ResolveOptions = {}): Promise<ResolvedHeaders> {
  const target = resolveTarget(options);
  const ctx: SourceContext = {
    target,
    env: options.env ?? process.env,
    kernelSource: options.kernelSource,
    kernelBuild: options.kernelBuild,
    kheadersFile: options.kheaders,
    loadModule: options.loadModule ?? 'auto',
    cacheDir: options.cacheDir,
    onProgress: options.onProgress,
    btfFile: options.btf,
    btfModules: options.btfModules ?? [],
    mirrors: options.mirrors,
    offline: options.offline,
    pinnedSha256: checkedSha256(options.pinnedSha256, 'headers archive (--sha256, pinnedSha256)'),
    pinnedBtfSha256: checkedSha256(options.pinnedBtfSha256, 'BTF file (--btf-sha256, pinnedBtfSha256)'),
    aptRepositories: options.aptRepositories,
    rpmRepositories: options.rpmRepositories,
    btfhub: options.btfhub,
  };
  const tried: TriedStep[] = [];
  const hints: string[] = [];
  const strict = options.strict ?? false;
  for (const source of pickSources(options.sources, options.kind)) {
    const result = await source.find(ctx);
    if (result.found) {
      tried.push({ what: source.name, outcome: `found: ${result.detail}` });
      const described =
        result.kind === 'kernel-tree'
          ? await describe(source.name, result.detail, result.tree, target.release, target.arch, tried, strict)
          : describeVmlinux(source.name, result.detail, result.vmlinux, result.releaseMismatch, target.release, target.arch, tried, strict);
      return result.notes === undefined || result.notes.length === 0 ? described : { ...described, warnings: [...described.warnings, ...result.notes] };
    }
    tried.push({ what: source.name, outcome: result.reason, ...(result.notConfigured === true ? { notConfigured: true } : {}) });
    if (result.hint !== undefined) hints.push(result.hint);
    if (result.fatal === true && result.error !== undefined) {
      const e = result.error;
      throw new BpfCompileError(e.code, `${source.name}: ${e.message}`, { tried, hint: e.hint, details: e.details, cause: e });
    }
    if (result.fatal === true) {
      throw new BpfCompileError(ErrorCode.HEADERS_NOT_FOUND, `kernel headers named explicitly are unusable: ${result.reason}`, {
        tried,
        hint: hints.join('; '),
      });
    }
  }
  const install = headersInstallCommand(await readOsRelease(target.root), target.release);
  hints.push(
    install === undefined
      ? `install the kernel headers package for ${target.release}, or point BPF_KERNEL_SOURCE at a configured tree`
      : `install the headers: ${install} (or point BPF_KERNEL_SOURCE at a configured tree)`,
  );
  const what = options.kind === 'vmlinux' ? 'no BTF to generate vmlinux.h from' : 'no kernel headers found';
  throw new BpfCompileError(ErrorCode.HEADERS_NOT_FOUND, `${what} for ${target.release} (${target.arch.machine})`, {
    tried,
    hint: hints.join('; '),
    details: { release: target.release, arch: target.arch.machine },
  });
}

async function describe(source: string, detail: string, tree: KernelTree, release: string, arch: ArchInfo, tried: TriedStep[], strict: boolean): Promise<ResolvedKernelTree> {
  const version = await readHeaderVersion(tree.buildDir === tree.sourceDir ? [tree.buildDir] : [tree.buildDir, tree.sourceDir]);
  const warnings: string[] = [];
  let mismatch: string | undefined;
  if (version.utsRelease === undefined) mismatch = `cannot read UTS_RELEASE from include/generated/utsrelease.h in ${tree.buildDir}`;
  else if (version.utsRelease !== release) mismatch = `headers are for ${version.utsRelease}, target kernel is ${release}`;
  if (mismatch !== undefined) {
    if (strict) {
      throw new BpfCompileError(ErrorCode.HEADERS_VERSION_MISMATCH, mismatch, {
        tried,
        hint: `pass --kernel-release ${version.utsRelease ?? '<release>'} if these headers are the ones you want, or drop --strict`,
        details: { headers: version.utsRelease, target: release, buildDir: tree.buildDir },
      });
    }
    warnings.push(mismatch);
  }
  return {
    kind: 'kernel-tree',
    source,
    detail,
    release,
    arch,
    sourceDir: tree.sourceDir,
    buildDir: tree.buildDir,
    includeDirs: kernelIncludeDirs(tree, arch),
    kconfigHeader: kconfigHeader(tree),
    utsRelease: version.utsRelease,
    linuxVersionCode: version.linuxVersionCode,
    version: version.version,
    warnings,
    tried,
  };
}

function describeVmlinux(
  source: string,
  detail: string,
  vmlinux: VmlinuxHeader,
  mismatch: string | undefined,
  release: string,
  arch: ArchInfo,
  tried: TriedStep[],
  strict: boolean,
): ResolvedVmlinux {
  if (mismatch !== undefined && strict) {
    throw new BpfCompileError(ErrorCode.HEADERS_VERSION_MISMATCH, mismatch, {
      tried,
      hint: 'pass --btf FILE with the BTF of the target kernel (e.g. from btfhub-archive), or drop --strict',
    });
  }
  return { kind: 'vmlinux', source, detail, release, arch, ...vmlinux, warnings: mismatch === undefined ? [] : [mismatch], tried };
}
