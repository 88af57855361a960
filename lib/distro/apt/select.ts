/**
 * Choosing the packages that make up a release's headers tree: `linux-headers-<release>` for the target arch, then
 * its `Depends` followed to the other headers packages (Debian `-common`, Ubuntu `linux-headers-<abi>` /
 * `linux-<source>-headers-<abi>`), each in the version its dependency asks for. Pure: no I/O.
 */
import { compareDebVersions } from './version.js';
import { isHeadersPackageName, parseDepends, type DebPackage, type Dependency } from './packages.js';

/** A package as found in one repository. */
export interface RepoPackage extends DebPackage {
  /** Repository base URI the `Filename` is relative to. */
  readonly uri: string;
  /** Suite it was listed in (for messages). */
  readonly suite: string;
}

/** The chosen set. */
export interface PackageSelection {
  /** The root package first, then its headers dependencies. */
  readonly packages: readonly RepoPackage[];
  /** How the root's version was chosen. */
  readonly why: string;
}

function satisfies(version: string, dep: Dependency): boolean {
  if (dep.op === undefined || dep.version === undefined) return true;
  const c = compareDebVersions(version, dep.version);
  switch (dep.op) {
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '<=':
      return c <= 0;
    case '>>':
      return c > 0;
    case '<<':
      return c < 0;
  }
}

function newestFirst(a: RepoPackage, b: RepoPackage): number {
  return compareDebVersions(b.version, a.version);
}

/**
 * Pick the set for `release` on `debArch`. `identity` is the running kernel's package version when known (it wins
 * when the repositories hold it; else the newest is taken, and `why` says so).
 *
 * @returns the selection, or a reason when the root package is not there or a dependency cannot be met.
 */
export function selectPackages(pool: readonly RepoPackage[], release: string, debArch: string, identity: string | undefined): PackageSelection | { readonly missing: string } {
  const forArch = (p: RepoPackage): boolean => p.architecture === debArch || p.architecture === 'all';
  const byName = new Map<string, RepoPackage[]>();
  for (const p of pool) {
    if (!forArch(p)) continue;
    const list = byName.get(p.package) ?? [];
    if (!list.some((q) => q.version === p.version && q.sha256 === p.sha256)) list.push(p);
    byName.set(p.package, list);
  }
  for (const list of byName.values()) list.sort(newestFirst);
  const rootName = `linux-headers-${release}`;
  const roots = (byName.get(rootName) ?? []).filter((p) => p.architecture === debArch);
  if (roots.length === 0) return { missing: `no package ${rootName} for ${debArch}` };
  const available = [...new Set(roots.map((r) => r.version))];
  let root = roots[0] as RepoPackage;
  let why = available.length === 1 ? `the only version the repositories hold` : `the newest of ${available.length} versions (${available.join(', ')})`;
  if (identity !== undefined) {
    const match = roots.find((r) => r.version === identity);
    if (match !== undefined) {
      root = match;
      why = `the running kernel's build (${identity})`;
    } else {
      why = `${why}; the running kernel is ${identity}, which the repositories no longer hold`;
    }
  }
  const chosen: RepoPackage[] = [root];
  const queue: RepoPackage[] = [root];
  while (queue.length > 0) {
    const pkg = queue.shift() as RepoPackage;
    for (const group of parseDepends(pkg.depends)) {
      const headersAlts = group.filter((d) => isHeadersPackageName(d.name));
      if (headersAlts.length === 0) continue; // linux-kbuild, compilers: not needed for BPF
      let met: RepoPackage | undefined;
      for (const dep of headersAlts) {
        const already = chosen.find((c) => c.package === dep.name);
        if (already !== undefined && satisfies(already.version, dep)) {
          met = already;
          break;
        }
        met = (byName.get(dep.name) ?? []).find((p) => satisfies(p.version, dep));
        if (met !== undefined) break;
      }
      if (met === undefined) {
        const wanted = headersAlts.map((d) => `${d.name}${d.op === undefined ? '' : ` (${d.op} ${d.version ?? ''})`}`).join(' | ');
        return { missing: `${pkg.package} ${pkg.version} depends on ${wanted}, which the repositories do not hold for ${debArch}` };
      }
      if (!chosen.includes(met)) {
        chosen.push(met);
        queue.push(met);
      }
    }
  }
  return { packages: chosen, why };
}
