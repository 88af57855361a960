/**
 * Kernel headers from an RPM system's own rpm-md repositories (dnf/yum, zypper), with nothing installed:
 * repositories (`repos.ts`) → `repomd.xml` per repository, trust stated (`repo.ts`) → the `kernel*-devel` packages of
 * the primary indexes → the packages the release needs (`names.ts`) → downloaded, checked (sha256 from primary, the
 * package's own signature and payload digest: `verify.ts`) and unpacked once (`../install.ts`).
 */
import { fetchError, fetchFailureReason, FATAL_FETCH_REASONS, OfflineMiss, redactCredentials } from '../../fetch/errors.js';
import { BpfCompileError } from '../../errors.js';
import type { CacheEntry } from '../../cache/entry.js';
import { installPackages, type InstallOptions } from '../install.js';
import { rpmKernelOf, matchesWanted, type RpmKernel, type WantedPackage } from './names.js';
import type { RpmPackage } from './primary.js';
import { envOf, loadDevelPackages, loadRepo, type LoadedRepo, type RpmRepoContext } from './repo.js';
import { parseRepoOption, readRpmRepos, type RpmRepo } from './repos.js';
import { rpmVersionCompare } from './version.js';
import { verifyRpmPackage } from './verify.js';

/** What {@link findRpmHeaders} needs. */
export interface RpmLookup {
  readonly release: string;
  readonly rpmArch: string;
  readonly srcarch: string;
  /** `suse` when the target's os-release says openSUSE/SLES. */
  readonly family: 'redhat' | 'suse' | undefined;
  /** `--rpm-repo` values. */
  readonly extraRepositories: readonly string[];
  readonly useSystemRepos: boolean;
  readonly repo: RpmRepoContext;
  readonly onProgress?: InstallOptions['onProgress'];
}

/** One repository's outcome. */
export interface RepoOutcome {
  readonly source: string;
  readonly outcome: string;
}

/** A chosen package. */
export interface ChosenRpm {
  readonly pkg: RpmPackage;
  readonly from: LoadedRepo;
  readonly url: string;
}

/** What {@link findRpmHeaders} answers. */
export type RpmHeadersResult =
  | { readonly found: true; readonly entry: CacheEntry; readonly kernel: RpmKernel; readonly chosen: readonly ChosenRpm[]; readonly searched: readonly RepoOutcome[] }
  | { readonly found: false; readonly reason: string; readonly hint: string; readonly searched: readonly RepoOutcome[] };

function describe(repo: RpmRepo): string {
  return redactCredentials(`${repo.id} (${repo.baseurls[0] ?? repo.metalink ?? repo.mirrorlist ?? '?'})`);
}

function isFatal(err: unknown): boolean {
  const reason = fetchFailureReason(err);
  return reason === undefined ? true : FATAL_FETCH_REASONS.has(reason);
}

/** The repositories to search: `--rpm-repo` ones first, then the enabled configured ones. */
export function rpmReposFor(lookup: Pick<RpmLookup, 'repo' | 'rpmArch' | 'extraRepositories' | 'useSystemRepos'>): {
  repos: RpmRepo[];
  skipped: RepoOutcome[];
  files: readonly string[];
} {
  // read once: the target's variables serve --rpm-repo lines too, its repositories only when they are asked
  const cfg = readRpmRepos(lookup.repo.root, lookup.rpmArch);
  const sys = lookup.useSystemRepos ? cfg : { repos: [], problems: [], files: [] };
  const skipped: RepoOutcome[] = sys.problems.map((p) => ({ source: p.origin, outcome: p.problem }));
  const repos: RpmRepo[] = lookup.extraRepositories.map((t, i) => parseRepoOption(t, i + 1, cfg.vars));
  for (const r of sys.repos) {
    if (!r.enabled) skipped.push({ source: describe(r), outcome: 'disabled (enabled=0)' });
    else repos.push(r);
  }
  return { repos, skipped, files: sys.files };
}

function pickFor(w: WantedPackage, pool: readonly { pkg: RpmPackage; from: LoadedRepo }[]): { pkg: RpmPackage; from: LoadedRepo } | undefined {
  const hits = pool.filter((p) => matchesWanted(p.pkg, w));
  // the newest rebuild of a prefix match; among equal ones, the first repository's
  return hits.reduce<(typeof hits)[number] | undefined>((best, h) => (best === undefined || rpmVersionCompare(h.pkg.release, best.pkg.release) > 0 ? h : best), undefined);
}

function packageUrl(c: { pkg: RpmPackage; from: LoadedRepo }): string {
  const base = (c.pkg.base ?? c.from.base).replace(/\/+$/, '');
  return `${base}/${c.pkg.href.replace(/^\/+/, '')}`;
}

/** Refuse a package nothing vouches for. */
function checkTrust(c: ChosenRpm): void {
  const { repo } = c.from;
  if (repo.gpgcheck && (c.from.packageKeys?.keys.length ?? 0) === 0) {
    throw fetchError(
      'signature',
      `repository ${repo.id} has gpgcheck=1, but none of its keys could be read (${repo.gpgkeys.join(', ') || 'no gpgkey, and no key in /etc/pki/rpm-gpg or /usr/lib/rpm/gnupg/keys'})`,
      {
        hint: "install the distribution's key package (fedora-gpg-keys, redhat-release, …) under the root, or name the key with gpgkey=file:///…",
        details: { repository: repo.id },
      },
    );
  }
  if (!repo.gpgcheck && c.from.trust === 'none') {
    throw fetchError(
      'signature',
      `repository ${repo.id} has gpgcheck=0 and its metadata is neither signed (repo_gpgcheck) nor fetched over verified https: nothing vouches for ${c.pkg.name}`,
      {
        hint: 'enable gpgcheck=1 with the gpgkey that signs the packages, or serve the repository over https',
        details: { repository: repo.id },
      },
    );
  }
}

/**
 * Find, download (once) and unpack the headers packages of `lookup.release` from rpm-md repositories.
 * @throws BpfCompileError on integrity failures (signature, checksum), hostile packages, unsafe cache.
 */
export async function findRpmHeaders(lookup: RpmLookup): Promise<RpmHeadersResult> {
  const kernel = rpmKernelOf(lookup.release, lookup.rpmArch, lookup.family);
  const { repos, skipped, files } = rpmReposFor(lookup);
  const searched: RepoOutcome[] = [...skipped];
  if (kernel === undefined) {
    return {
      found: false,
      reason: `${lookup.release} is not named like an RPM distribution kernel (6.5.6-300.fc39.x86_64, 5.14.21-150500.55.39-default)`,
      hint: 'name the release with --kernel-release',
      searched,
    };
  }
  if (repos.length === 0) {
    return {
      found: false,
      reason: files.length === 0 ? 'no rpm repositories configured (etc/yum.repos.d/, etc/zypp/repos.d/)' : 'no enabled rpm repository',
      hint: 'add a repository with --rpm-repo URL (or baseurl=…,gpgkey=file:///…), or point BPF_KERNEL_SOURCE at a tree',
      searched,
    };
  }
  const pool: { pkg: RpmPackage; from: LoadedRepo }[] = [];
  const integrity: BpfCompileError[] = [];
  const loaded = await Promise.all(
    repos.map(async (repo) => {
      const name = describe(repo);
      try {
        const r = await loadRepo(repo, lookup.repo);
        if (r === undefined) {
          searched.push({ source: name, outcome: 'offline, and its repomd.xml was never read here' });
          return [];
        }
        const idx = await loadDevelPackages(r, lookup.repo);
        if (!idx.ok) {
          searched.push({ source: name, outcome: idx.reason });
          return [];
        }
        const trust =
          r.trust === 'signed'
            ? `repomd signed by ${r.signers.join(' ')}`
            : r.trust === 'metalink'
              ? 'repomd matches its metalink'
              : r.trust === 'tls'
                ? 'repomd over https'
                : 'repomd unsigned';
        const found = idx.packages.filter((p) => kernel.packages.some((w) => matchesWanted(p, w)));
        searched.push({
          source: name,
          outcome: `${r.via === 'remembered' ? 'remembered repomd' : 'repomd'} from ${redactCredentials(r.base)} (${trust}; packages ${repo.gpgcheck ? 'signature-checked' : 'not signature-checked (gpgcheck=0)'}), ${idx.packages.length} kernel devel packages of ${idx.listed}${found.length > 0 ? `, has ${found.map((p) => `${p.name}-${p.version}-${p.release}.${p.arch}`).join(', ')}` : ''}`,
        });
        return idx.packages.map((pkg) => ({ pkg, from: r }));
      } catch (err) {
        if (fetchFailureReason(err) === 'checksum') integrity.push(err as BpfCompileError);
        else if (isFatal(err)) throw err;
        searched.push({ source: name, outcome: (err as BpfCompileError).message });
        return [];
      }
    }),
  );
  // repository order decides among equal packages
  for (const l of loaded) pool.push(...l);
  const picks = kernel.packages.map((w) => ({ w, c: pickFor(w, pool) }));
  const missing = picks.filter((p) => p.c === undefined).map((p) => `${p.w.name}-${p.w.version}-${p.w.release}${p.w.releaseMatch === 'prefix' ? '[.*]' : ''}.${p.w.arch}`);
  if (missing.length > 0) {
    if (integrity[0] !== undefined) throw integrity[0];
    return {
      found: false,
      reason: `${missing.join(' and ')} not in ${repos.map(describe).join(', ')}`,
      hint: 'kernels leave the live repositories (RHEL rebuilds keep only the current minor release; CentOS 7 and 8 moved to vault.centos.org; Fedora to its archive): add a vault/archive repository that carries this build with --rpm-repo, or make an archive with `bpf-compile pack` where the headers are installed',
      searched,
    };
  }
  const chosen: ChosenRpm[] = picks.map((p) => {
    const c = p.c as { pkg: RpmPackage; from: LoadedRepo };
    return { ...c, url: packageUrl(c) };
  });
  for (const c of chosen) {
    checkTrust(c);
    if (c.pkg.checksumType !== 'sha256') {
      throw fetchError('checksum', `${c.url} is listed with a ${c.pkg.checksumType} checksum; bpf-compile checks packages by sha256`, {
        url: c.url,
        hint: 'the repository was made with an old createrepo: regenerate it with sha256 (createrepo_c -s sha256)',
      });
    }
  }
  try {
    const entry = await installPackages(
      chosen.map((c) => ({
        name: c.pkg.name,
        version: `${c.pkg.version}-${c.pkg.release}`,
        architecture: c.pkg.arch,
        url: c.url,
        sha256: c.pkg.checksum,
        size: c.pkg.size,
        repository: `${c.from.repo.id} ${redactCredentials(c.from.base)}`,
        format: 'rpm' as const,
        env: envOf(c.from.repo, lookup.repo.env),
        ...(c.from.tls === undefined ? {} : { tls: c.from.tls }),
        verify: async (run, file) => {
          if (run.rpm === undefined) throw fetchError('checksum', `${c.url} was not read as an RPM`, { url: c.url });
          const v = await verifyRpmPackage(run.rpm, file, c.from.packageKeys, c.url);
          return { signature: v.signature, signers: [...v.signers] };
        },
      })),
      {
        cache: lookup.repo.cache,
        env: lookup.repo.env,
        tuning: lookup.repo.tuning,
        signal: lookup.repo.signal,
        offline: lookup.repo.offline,
        meta: { release: lookup.release, srcarch: lookup.srcarch, distroArch: lookup.rpmArch, family: 'rpm', rpmFamily: kernel.family },
        ...(lookup.onProgress === undefined ? {} : { onProgress: lookup.onProgress }),
      },
    );
    return { found: true, entry, kernel, chosen, searched };
  } catch (err) {
    if (err instanceof OfflineMiss) {
      return {
        found: false,
        reason: `offline, and ${chosen.map((c) => `${c.pkg.name}-${c.pkg.version}-${c.pkg.release}`).join(' + ')} were never downloaded`,
        hint: 'run once online (bpf-compile fetch), or drop --offline / BPF_COMPILE_OFFLINE',
        searched,
      };
    }
    throw err;
  }
}
