/**
 * Which packages hold the headers of an RPM-family kernel release, as data and one parser per naming scheme:
 *
 * - Red Hat family (Fedora, RHEL and rebuilds, Amazon Linux, Oracle): `uname -r` is `<version>-<release>.<arch>`,
 *   optionally `+<variant>` (`+rt`, `+debug`, `+64k`); the package is `kernel[-<variant>]-devel` of exactly that
 *   version-release and arch, one tree at `/usr/src/kernels/<uname -r>`. Releases that name the variant inside
 *   (RHEL 8's `.rt13.` real-time builds, Oracle's `uek`) are mapped by the table below.
 * - SUSE (openSUSE, SLES): `<version>-<release>-<flavour>` → `kernel-<flavour>-devel` (the build tree,
 *   `/usr/src/linux-<v>-<r>-obj/<arch>/<flavour>`) + the noarch source tree package (`kernel-devel`, `kernel-devel-rt`
 *   for rt), whose rpm release may carry one more rebuild counter (`150500.55.39.1` for `150500.55.39`).
 */

/** One package wanted for a release. */
export interface WantedPackage {
  readonly name: string;
  /** The RPM arch (`x86_64`, `noarch`). */
  readonly arch: string;
  readonly version: string;
  /** The rpm release, exact (`exact`) or as a prefix followed by `.` and more counters (`prefix`). */
  readonly release: string;
  readonly releaseMatch: 'exact' | 'prefix';
}

/** What a release asks for. */
export interface RpmKernel {
  readonly family: 'redhat' | 'suse';
  readonly version: string;
  readonly release: string;
  readonly packages: readonly WantedPackage[];
  /** Where the packages put the tree (system paths, first that exists wins). */
  readonly trees: readonly { readonly source: string; readonly build: string }[];
}

/** RPM arches that end a Red Hat-style release. */
const RPM_ARCHES = ['x86_64', 'aarch64', 'ppc64le', 'ppc64', 's390x', 'i686', 'armv7hl', 'riscv64'] as const;

/** Variants named inside the release, for kernels without a `+variant` suffix: [pattern on the rpm release, package]. */
const INNER_VARIANTS: ReadonlyArray<readonly [RegExp, string]> = [
  [/(^|\.)rt\d/, 'kernel-rt-devel'], // RHEL/CentOS 8 real time: 4.18.0-193.rt13.51.el8
  [/uek/, 'kernel-uek-devel'], // Oracle's Unbreakable Enterprise Kernel: 5.15.0-200.131.27.el9uek
];

/** SUSE flavours whose source tree package is not `kernel-devel`. */
const SUSE_SOURCE_PACKAGE: Readonly<Record<string, string>> = { rt: 'kernel-devel-rt', rt_debug: 'kernel-devel-rt' };

/** Parse a Red Hat-family release, or undefined. */
function redhat(release: string): RpmKernel | undefined {
  const m = new RegExp(`^(\\d+\\.\\d+(?:\\.\\d+)*)-([0-9][A-Za-z0-9._]*)\\.(${RPM_ARCHES.join('|')})(?:\\+([a-z0-9-]+)|\\.(debug))?$`).exec(release);
  if (m === null) return undefined;
  const [, version, rel, arch, plus, dotDebug] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
  const variant = plus ?? dotDebug;
  const name = variant !== undefined ? `kernel-${variant}-devel` : (INNER_VARIANTS.find(([re]) => re.test(rel))?.[1] ?? 'kernel-devel');
  const dir = `/usr/src/kernels/${release}`;
  return {
    family: 'redhat',
    version,
    release: rel,
    packages: [{ name, arch, version, release: rel, releaseMatch: 'exact' }],
    trees: [
      { source: `/lib/modules/${release}/source`, build: `/lib/modules/${release}/build` },
      { source: dir, build: dir },
    ],
  };
}

/** Parse a SUSE release, or undefined. */
function suse(release: string, rpmArch: string): RpmKernel | undefined {
  const m = /^(\d+\.\d+(?:\.\d+)?)-(\d+(?:\.\d+)*)-([a-z][a-z0-9_]*)$/.exec(release);
  if (m === null) return undefined;
  const [, version, rel, flavour] = m as unknown as [string, string, string, string];
  const obj = `/usr/src/linux-${version}-${rel}-obj/${rpmArch}/${flavour}`;
  return {
    family: 'suse',
    version,
    release: rel,
    packages: [
      { name: `kernel-${flavour}-devel`, arch: rpmArch, version, release: rel, releaseMatch: 'prefix' },
      { name: SUSE_SOURCE_PACKAGE[flavour] ?? 'kernel-devel', arch: 'noarch', version, release: rel, releaseMatch: 'prefix' },
    ],
    trees: [
      { source: `/lib/modules/${release}/source`, build: `/lib/modules/${release}/build` },
      { source: `/usr/src/linux-${version}-${rel}`, build: obj },
    ],
  };
}

/**
 * The packages holding `release`'s headers for `rpmArch`, or undefined when the release has neither shape. `family`
 * decides between the two when os-release says (`suse` for openSUSE/SLES, `redhat` otherwise); a release of one
 * shape only is read as that shape.
 */
export function rpmKernelOf(release: string, rpmArch: string, family?: 'redhat' | 'suse'): RpmKernel | undefined {
  const rh = redhat(release);
  const su = suse(release, rpmArch);
  if (family === 'suse') return su ?? rh;
  return rh ?? su;
}

/** Whether a package listed in a repository is the one wanted. */
export function matchesWanted(p: { readonly name: string; readonly arch: string; readonly version: string; readonly release: string }, w: WantedPackage): boolean {
  if (p.name !== w.name || p.arch !== w.arch || p.version !== w.version) return false;
  return w.releaseMatch === 'exact' ? p.release === w.release : p.release === w.release || p.release.startsWith(`${w.release}.`);
}

/** Whether a package name can hold kernel headers trees (what is kept of a primary index). */
export function isKernelDevelName(name: string): boolean {
  return /^kernel(?:-[a-z0-9_]+)*-devel(?:-[a-z0-9_]+)?$/.test(name);
}
