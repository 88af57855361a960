/**
 * Kernel headers from a Debian/Ubuntu system's own apt repositories, with nothing installed:
 * sources (`sources.ts`) → verified Release per source (`repo.ts`) → headers stanzas of the target arch's indexes →
 * the package set for the release (`select.ts`) → downloaded, verified and unpacked once (`../install.ts`).
 */
import { fetchFailureReason, FATAL_FETCH_REASONS, OfflineMiss, redactCredentials } from '../../fetch/errors.js';
import { BpfCompileError } from '../../errors.js';
import type { CacheEntry } from '../../cache/entry.js';
import { KeyringReader } from './keys.js';
import { loadHeadersIndex, loadRelease, type RepoContext, type VerifiedRelease } from './repo.js';
import { selectPackages, type PackageSelection, type RepoPackage } from './select.js';
import { parseOneLineSources, readAptSources, type AptSource } from './sources.js';
import { installPackages, type InstallOptions } from '../install.js';
import { aptFamilyOf } from '../releases.js';

/** What {@link findAptHeaders} needs. */
export interface AptLookup {
  readonly root: string;
  readonly release: string;
  readonly debArch: string;
  readonly srcarch: string;
  /** The running kernel's package version, when `/proc` describes the target. */
  readonly identity: string | undefined;
  /** Extra repositories (`deb [signed-by=/host/key.gpg] uri suite component…`), keys read from the host. */
  readonly extraRepositories: readonly string[];
  /** Read the target's own apt configuration (default true). */
  readonly useSystemSources: boolean;
  readonly repo: RepoContext;
  readonly onProgress?: InstallOptions['onProgress'];
}

/** One source's outcome, for messages and the doctor. */
export interface SourceOutcome {
  readonly source: string;
  readonly outcome: string;
}

/** What {@link findAptHeaders} answers. */
export type AptHeadersResult =
  | {
      readonly found: true;
      readonly entry: CacheEntry;
      readonly selection: PackageSelection;
      readonly searched: readonly SourceOutcome[];
    }
  | { readonly found: false; readonly reason: string; readonly hint: string; readonly searched: readonly SourceOutcome[] };

/** A printable name of a source (`http://deb.debian.org/debian bookworm-security`). */
export function describeSource(s: AptSource): string {
  return redactCredentials(`${s.uri} ${s.suite}`);
}

/** The configured sources that can serve `debArch`, plus the explicit ones, each with the keyring reader for its keys. */
export function aptSourcesFor(lookup: Pick<AptLookup, 'root' | 'debArch' | 'extraRepositories' | 'useSystemSources'>): {
  sources: { source: AptSource; keys: KeyringReader }[];
  skipped: SourceOutcome[];
  files: readonly string[];
} {
  const skipped: SourceOutcome[] = [];
  const target = new KeyringReader(lookup.root);
  const host = new KeyringReader('/');
  const sys = lookup.useSystemSources ? readAptSources(lookup.root) : { sources: [], problems: [], files: [] };
  for (const p of sys.problems) skipped.push({ source: p.origin, outcome: p.problem });
  const extra = lookup.extraRepositories.flatMap((line, i) => {
    const r = parseOneLineSources(line.trim().startsWith('deb') ? line : `deb ${line}`, `--apt-repo #${i + 1}`);
    for (const p of r.problems) skipped.push({ source: p.origin, outcome: p.problem });
    return r.sources;
  });
  const sources: { source: AptSource; keys: KeyringReader }[] = [];
  for (const [list, keys] of [
    [extra, host],
    [sys.sources, target],
  ] as const) {
    for (const s of list) {
      if (s.architectures !== undefined && !s.architectures.includes(lookup.debArch)) {
        skipped.push({ source: describeSource(s), outcome: `Architectures: ${s.architectures.join(' ')} (not ${lookup.debArch})` });
        continue;
      }
      sources.push({ source: s, keys });
    }
  }
  return { sources, skipped, files: sys.files };
}

function isFatal(err: unknown): boolean {
  const reason = fetchFailureReason(err);
  return reason === undefined ? true : FATAL_FETCH_REASONS.has(reason);
}

/** Every headers package the sources list for the target arch (and arch `all`), with per-source outcomes. */
async function gatherPool(
  lookup: AptLookup,
  sources: { source: AptSource; keys: KeyringReader }[],
  searched: SourceOutcome[],
  integrity: BpfCompileError[],
): Promise<RepoPackage[]> {
  const pool: RepoPackage[] = [];
  await Promise.all(
    sources.map(async ({ source, keys }) => {
      const name = describeSource(source);
      let r: VerifiedRelease | undefined;
      try {
        r = await loadRelease(source, keys, lookup.repo);
      } catch (err) {
        // offline, a remembered Release past its Valid-Until is only unusable, not an attack in progress
        const staleCopy = lookup.repo.offline && fetchFailureReason(err) === 'expired';
        if (isFatal(err) && !staleCopy) throw err;
        searched.push({ source: name, outcome: (err as BpfCompileError).message });
        return;
      }
      if (r === undefined) {
        searched.push({ source: name, outcome: 'offline, and its Release was never verified here' });
        return;
      }
      if (r.release.architectures.length > 0 && !r.release.architectures.includes(lookup.debArch) && !source.flat) {
        searched.push({ source: name, outcome: `its Release has no ${lookup.debArch} (Architectures: ${r.release.architectures.join(' ')})` });
        return;
      }
      const comps = source.flat ? [''] : source.components;
      // as apt: binary-all only when the Release lists arch `all` and does not fold it into every binary-<arch>
      const archs = !source.flat && r.release.architectures.includes('all') && !r.release.allInArchIndexes ? [lookup.debArch, 'all'] : [lookup.debArch];
      const notes: string[] = [];
      let count = 0;
      for (const comp of comps) {
        for (const arch of archs) {
          try {
            const idx = await loadHeadersIndex(r, comp, arch, lookup.repo);
            if (!idx.ok) {
              if (arch !== 'all') notes.push(idx.reason);
              continue;
            }
            count += idx.packages.length;
            for (const p of idx.packages) pool.push({ ...p, uri: source.uri, suite: source.suite });
          } catch (err) {
            // An index that does not match its signed hash is never used. Like apt, the other indexes still are (a
            // mirror caught mid-sync serves a new index beside an old Release); the failure is raised if the
            // release is then not found.
            if (fetchFailureReason(err) === 'checksum') integrity.push(err as BpfCompileError);
            else if (isFatal(err)) throw err;
            notes.push((err as BpfCompileError).message);
          }
        }
      }
      searched.push({
        source: name,
        outcome: `${r.via === 'remembered' ? 'remembered Release' : `${r.via} verified`} (signed by ${r.signers.join(' ') || '?'}), ${count} headers packages${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`,
      });
    }),
  );
  return pool;
}

/**
 * Find, download (once) and unpack the headers packages of `lookup.release` from apt repositories.
 * @throws BpfCompileError on integrity failures (signature, expired, checksum), hostile packages, unsafe cache.
 */
export async function findAptHeaders(lookup: AptLookup): Promise<AptHeadersResult> {
  const shaped = aptFamilyOf(lookup.release) !== undefined;
  const { sources, skipped, files } = aptSourcesFor({ ...lookup, useSystemSources: lookup.useSystemSources && shaped });
  const searched: SourceOutcome[] = [...skipped];
  if (sources.length === 0) {
    return {
      found: false,
      reason: files.length === 0 ? 'no apt repositories configured (etc/apt/sources.list, sources.list.d/)' : `no apt repository serves ${lookup.debArch}`,
      hint: 'add a repository with --apt-repo "URI SUITE COMPONENT" (and signed-by=KEYRING), or point BPF_KERNEL_SOURCE at a tree',
      searched,
    };
  }
  const integrity: BpfCompileError[] = [];
  const pool = await gatherPool(lookup, sources, searched, integrity);
  const sel = selectPackages(pool, lookup.release, lookup.debArch, lookup.identity);
  const suites = sources.map((s) => describeSource(s.source)).join(', ');
  if ('missing' in sel) {
    if (integrity[0] !== undefined) throw integrity[0];
    return {
      found: false,
      reason: `${sel.missing} in ${suites}`,
      hint: `a custom kernel, or an ABI the mirror no longer carries: add an archive-snapshot repository (--apt-repo "http://snapshot.debian.org/archive/debian/<date>/ <suite> main", with Acquire::Check-Valid-Until "false"), or make an archive with \`bpf-compile pack\` where the headers are installed`,
      searched,
    };
  }
  try {
    const entry = await installPackages(
      sel.packages.map((p) => ({
        name: p.package,
        version: p.version,
        architecture: p.architecture,
        url: `${p.uri}/${p.filename.replace(/^\/+/, '')}`,
        sha256: p.sha256,
        size: p.size,
        repository: `${p.uri} ${p.suite}`,
      })),
      {
        cache: lookup.repo.cache,
        env: lookup.repo.env,
        tuning: lookup.repo.tuning,
        signal: lookup.repo.signal,
        offline: lookup.repo.offline,
        meta: {
          release: lookup.release,
          srcarch: lookup.srcarch,
          distroArch: lookup.debArch,
          family: 'deb',
          packageVersion: (sel.packages[0] as RepoPackage).version,
        },
        ...(lookup.onProgress === undefined ? {} : { onProgress: lookup.onProgress }),
      },
    );
    return { found: true, entry, selection: sel, searched };
  } catch (err) {
    if (err instanceof OfflineMiss) {
      return {
        found: false,
        reason: `offline, and ${sel.packages.map((p) => `${p.package} ${p.version}`).join(' + ')} were never downloaded`,
        hint: 'run once online (bpf-compile fetch), or drop --offline / BPF_COMPILE_OFFLINE',
        searched,
      };
    }
    throw err;
  }
}
