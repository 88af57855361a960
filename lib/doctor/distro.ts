/** The doctor's view of the distribution's repositories: which apt sources serve the target arch, and their keys. Reads files only. */
import { isBpfCompileError } from '../errors.js';
import { aptFamilyOf } from '../distro/releases.js';
import { readKernelIdentity } from '../system/kernel-identity.js';

/** One repository as the doctor sees it. */
export interface RepositoryReport {
  /** `http://deb.debian.org/debian bookworm-security` */
  readonly repository: string;
  /** Where it is declared (`/etc/apt/sources.list.d/debian.sources:8`, `--apt-repo #1`). */
  readonly origin: string;
  /** Keyrings (or inline key) it trusts. */
  readonly keys: readonly string[];
  /** Number of usable keys among them. */
  readonly keyCount: number;
  /** Why its keys cannot be used, when they cannot. */
  readonly problem?: string;
}

/** Repositories found, and those left out with why. */
export interface DistroReport {
  /** The family whose kernel releases look like the target's, if any (`Debian`, `Ubuntu`). */
  readonly family: string | undefined;
  readonly repositories: readonly RepositoryReport[];
  readonly skipped: readonly { readonly source: string; readonly outcome: string }[];
  /** The target kernel's package build, when `/proc` under the root describes it (`6.1.192-3` from `/proc/version`). */
  readonly identity?: { readonly distro: string; readonly packageVersion: string; readonly from: string };
}

/** Read the target's apt repositories and their keys (under `root`), as the distro source would. */
export async function distroReport(root: string, debArch: string, release: string, extraRepositories: readonly string[]): Promise<DistroReport> {
  const { aptSourcesFor, describeSource } = await import('../distro/apt/index.js');
  const { sources, skipped } = aptSourcesFor({ root, debArch, extraRepositories, useSystemSources: true });
  const repositories: RepositoryReport[] = [];
  for (const { source, keys } of sources) {
    const base = { repository: describeSource(source), origin: source.origin };
    try {
      const k = await keys.forSource(source);
      repositories.push({ ...base, keys: k.from, keyCount: k.keys.keys.length, ...(k.keys.keys.length === 0 ? { problem: 'no usable key' } : {}) });
    } catch (err) {
      if (!isBpfCompileError(err)) throw err;
      repositories.push({ ...base, keys: [], keyCount: 0, problem: err.message });
    }
  }
  const id = readKernelIdentity(root, release);
  return {
    family: aptFamilyOf(release)?.family,
    repositories,
    skipped,
    ...(id === undefined ? {} : { identity: { distro: id.distro, packageVersion: id.packageVersion, from: id.from } }),
  };
}
