/**
 * The doctor's view of the distribution's repositories: which apt sources serve the target arch, which rpm-md
 * repositories (dnf/yum, zypper) are enabled, and their keys. Reads files only (an https `gpgkey` is listed, not fetched).
 */
import { isBpfCompileError } from '../errors.js';
import fs from 'node:fs';
import { ARCHES } from '../arch.js';
import { aptFamilyOf, rpmFamilyOf } from '../distro/releases.js';
import { underRoot } from '../system/root.js';
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
  const rpmArch = ARCHES.find((a) => a.debArch === debArch)?.rpmArch ?? debArch;
  const [{ readRpmRepos }, { readPublicKeys }, { keyLocations }] = await Promise.all([
    import('../distro/rpm/repos.js'),
    import('../distro/openpgp.js'),
    import('../distro/rpm/repo.js'),
  ]);
  const rpm = readRpmRepos(root, rpmArch);
  for (const p of rpm.problems) skipped.push({ source: p.origin, outcome: p.problem });
  for (const repo of rpm.repos) {
    const where = repo.baseurls[0] ?? repo.metalink ?? repo.mirrorlist ?? '?';
    if (!repo.enabled) {
      skipped.push({ source: `${repo.id} (${where})`, outcome: 'disabled (enabled=0)' });
      continue;
    }
    const locations = keyLocations(repo, root);
    let keyCount = 0;
    const problems: string[] = [];
    for (const loc of locations) {
      if (!loc.startsWith('file://')) continue; // fetched by the distro source, not by the doctor
      try {
        keyCount += (await readPublicKeys(fs.readFileSync(underRoot(root, decodeURIComponent(loc.slice(7)))), loc)).keys.length;
      } catch (err) {
        problems.push(`${loc}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    const checks = `gpgcheck=${repo.gpgcheck ? 1 : 0} repo_gpgcheck=${repo.repoGpgcheck ? 1 : 0}`;
    const remote = locations.some((l) => !l.startsWith('file://'));
    repositories.push({
      repository: `${repo.id} ${where} (${repo.tool}, ${checks}${repo.sslClientCert === undefined ? '' : ', client certificate'})`,
      origin: repo.origin,
      keys: locations,
      keyCount,
      ...(repo.gpgcheck && keyCount === 0 && !remote ? { problem: problems.join('; ') || 'gpgcheck=1 but no key (gpgkey=, /etc/pki/rpm-gpg)' } : {}),
    });
  }
  const id = readKernelIdentity(root, release);
  return {
    family: aptFamilyOf(release)?.family ?? rpmFamilyOf(release)?.family,
    repositories,
    skipped,
    ...(id === undefined ? {} : { identity: { distro: id.distro, packageVersion: id.packageVersion, from: id.from } }),
  };
}
