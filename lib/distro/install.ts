/**
 * A set of distribution packages, downloaded and unpacked into one content-addressed cache entry
 * `distro/p1-<sha256 of the target SRCARCH and the packages' sha256s>`: the tree the packages would install, kept to
 * the header dirs (`usr/src`, `lib/modules`, `usr/lib/modules`) and, in the source trees, to the target's
 * `arch/<srcarch>`; absolute links re-rooted into the entry, links into packages outside the set dropped (see
 * `archive/policy.ts`).
 *
 * Cold, every package downloads at once, and each is unpacked while it downloads (the download's tee feeds the
 * extraction): the tree is published only when every download verified against its sha256 and every streamed package
 * hashed to it. Should a streamed extraction fail (a download that had to retry, a package that does not verify), the
 * tree is unpacked again from the verified files, so the outcome — a tree or a typed error — does not depend on the
 * network. Nothing unverified is ever published.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ensureEntry, type CacheEntry } from '../cache/entry.js';
import { cacheAccessError, type Cache } from '../cache/safety.js';
import type { JsonValue } from '../cache/manifest.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { download } from '../fetch/download.js';
import { cacheTempPath, type DownloadTuning } from '../fetch/text.js';
import type { DownloadOptions } from '../fetch/download.js';
import type { StreamRun } from '../archive/extract.js';
import type { PackagePolicy } from '../archive/policy.js';
import { OfflineMiss } from '../fetch/errors.js';

/** Cache namespace of unpacked package sets. */
export const DISTRO_NAMESPACE = 'distro';
/** Bump when the unpacked layout or policy changes. */
export const DISTRO_FORMAT = 1;

/** The directories of a package kept in the tree, for a target SRCARCH (the other arches' headers are left out). */
export function headersPackagePolicy(srcarch: string): PackagePolicy {
  return {
    keep: [
      ['usr', 'src'],
      ['lib', 'modules'],
      ['usr', 'lib', 'modules'],
    ],
    onlyArch: {
      under: [
        ['usr', 'src'],
        ['usr', 'src', 'kernels'],
      ],
      srcarch,
    },
  };
}

/** One package to install. */
export interface PackageToInstall {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly url: string;
  readonly sha256: string;
  readonly size: number;
  /** Where it is listed (for the manifest). */
  readonly repository: string;
  /** Its format (default `deb`). */
  readonly format?: 'deb' | 'rpm';
  /** TLS settings of its origin. */
  readonly tls?: DownloadOptions['tls'];
  /** The environment its download reads proxies from (its repository's own proxy), instead of the set's. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * A check of the package beyond its sha256, run on the downloaded file and what its unpacking recorded, before
   * anything is published (an RPM's own signature); what it returns is kept in the manifest. Throws to refuse.
   */
  readonly verify?: (run: StreamRun, file: string) => Promise<JsonValue>;
}

/** Options of {@link installPackages}. */
export interface InstallOptions {
  readonly cache: Cache;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly tuning: DownloadTuning;
  readonly signal: AbortSignal | undefined;
  readonly offline: boolean;
  /** Recorded in the manifest: the release and arch the set serves, the kernel identity it matched. */
  readonly meta: { readonly release: string; readonly srcarch: string; readonly distroArch: string; readonly family: 'deb' | 'rpm'; readonly [k: string]: JsonValue };
  /** Bytes downloaded so far of the whole set. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The key of a package set unpacked for a SRCARCH. */
export function packageSetKey(packages: readonly { readonly sha256: string }[], srcarch: string): string {
  const h = createHash('sha256')
    .update(
      `${srcarch}\n${packages
        .map((p) => p.sha256)
        .sort()
        .join('\n')}`,
    )
    .digest('hex');
  return `p${DISTRO_FORMAT}-${h}`;
}

function clearDir(dir: string): void {
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}

/**
 * The cache entry of `packages`, downloading and unpacking them once (across processes) when missing.
 * @throws OfflineMiss when offline and the entry is missing; BpfCompileError (`INPUT_UNREADABLE` with a fetch
 *   reason, `ARCHIVE_*`, `CACHE_*`, `TOOLCHAIN_MISSING` without zstd).
 */
export async function installPackages(packages: readonly PackageToInstall[], o: InstallOptions): Promise<CacheEntry> {
  return ensureEntry(o.cache, {
    namespace: DISTRO_NAMESPACE,
    key: packageSetKey(packages, o.meta.srcarch),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    build: async (dataDir, signal) => {
      if (o.offline) throw new OfflineMiss();
      const { extractPackagesInto } = await import('../archive/extract.js');
      const policy = headersPackagePolicy(o.meta.srcarch);
      const files = packages.map((p) => cacheTempPath(o.cache, `pkg-${p.sha256.slice(0, 12)}`));
      const total = packages.reduce((n, p) => n + p.size, 0);
      const done = packages.map(() => 0);
      try {
        const tees = packages.map(() => new PassThrough({ highWaterMark: 1024 * 1024 }));
        const streamed = extractPackagesInto(
          tees.map((t, i) => ({ source: t, format: packages[i]?.format ?? 'deb' })),
          dataDir,
          policy,
          { signal },
        ).then(
          (r) => r,
          () => undefined,
        );
        const downloads = await Promise.allSettled(
          packages.map((p, i) =>
            download(p.url, {
              ...o.tuning,
              dest: files[i] as string,
              expectedSha256: p.sha256,
              maxBytes: Math.max(p.size, 1) + 1024,
              allowInsecureHttp: true, // the sha256 comes from a signed index (or the package's own signature is checked)
              env: p.env ?? o.env,
              ...(p.tls === undefined ? {} : { tls: p.tls }),
              signal,
              tee: tees[i] as PassThrough,
              onProgress: (pr) => {
                done[i] = pr.done;
                o.onProgress?.(
                  done.reduce((a, b) => a + b, 0),
                  total,
                );
              },
            }),
          ),
        );
        const failed = downloads.find((d): d is PromiseRejectedResult => d.status === 'rejected');
        if (failed !== undefined) {
          for (const t of tees) t.destroy();
          await streamed;
          throw cacheAccessError(o.cache.root, o.cache.root, failed.reason, 'write') ?? failed.reason;
        }
        let result = await streamed;
        if (result === undefined || result.packages.some((r, i) => r.sha256 !== packages[i]?.sha256)) {
          clearDir(dataDir);
          result = await extractPackagesInto(
            files.map((f, i) => ({ source: f, format: packages[i]?.format ?? 'deb' })),
            dataDir,
            policy,
            { signal },
          );
          const bad = result.packages.findIndex((r, i) => r.sha256 !== packages[i]?.sha256);
          if (bad >= 0) {
            throw new BpfCompileError(ErrorCode.ARCHIVE_CORRUPT, `${packages[bad]?.url ?? 'a package'} changed after it was verified`, { hint: 'retry' });
          }
        }
        const final = result;
        const verdicts = await Promise.all(packages.map(async (p, i) => (p.verify === undefined ? null : p.verify(final.packages[i] as StreamRun, files[i] as string))));
        return {
          source: packages.map((p) => p.url).join(' '),
          release: o.meta.release,
          files: result.files,
          bytes: result.bytes,
          extra: {
            ...o.meta,
            format: DISTRO_FORMAT,
            packages: packages.map((p, i) => ({
              name: p.name,
              version: p.version,
              architecture: p.architecture,
              sha256: p.sha256,
              size: p.size,
              repository: p.repository,
              ...(verdicts[i] === null ? {} : { verified: verdicts[i] as JsonValue }),
            })),
            droppedSymlinks: [...result.droppedSymlinks],
            symlinks: result.symlinks,
            dirs: result.dirs,
            decoders: result.packages.map((r) => r.decoder),
          },
        };
      } finally {
        for (const f of files) fs.rmSync(f, { force: true });
      }
    },
  });
}
