/**
 * Reading one rpm-md repository the way dnf does, with trust stated for each step:
 *
 * 1. Where: its `baseurl`s, or the mirrors its `mirrorlist` lists (tried in order, not only the first), or its
 *    `metalink`, which also gives the hashes `repomd.xml` must have.
 * 2. `repodata/repomd.xml`, from the first mirror that answers; checked against the metalink's hashes when there is
 *    one, and its detached signature `repomd.xml.asc` verified against the repository's keys when `repo_gpgcheck`.
 *    The verified text is remembered in `<cache>/distro-index/` for offline runs.
 * 3. The `primary` index (`.gz`, `.xz`, `.zst` or plain), checked against repomd's checksum and parsed as it decodes;
 *    only `kernel*-devel` packages are kept, as a cache entry `rpm-index/p1-<checksum>`.
 *
 * The packages themselves are checked against primary's checksums and, with `gpgcheck`, their own signatures
 * (`verify.ts`). Requests of a repository carry its TLS settings (`sslcacert`, `sslclientcert`, `sslclientkey`).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ensureEntry } from '../../cache/entry.js';
import { BpfCompileError } from '../../errors.js';
import { cacheAccessError, type Cache } from '../../cache/safety.js';
import { field, readRecord, writeRecord } from '../../cache/records.js';
import { download } from '../../fetch/download.js';
import { fetchError, isNotFound, OfflineMiss, redactCredentials } from '../../fetch/errors.js';
import type { ClientTls } from '../../fetch/proxy.js';
import { cacheTempPath, fetchBytes, type DownloadTuning, type FetchSmallOptions } from '../../fetch/text.js';
import { parseDecodedFile } from '../index-file.js';
import type { DataCompression } from '../../archive/ar.js';
import { underRoot } from '../../system/root.js';
import { mergeKeys, readPublicKeys, verifyDetachedSigners, type PublicKeys } from '../openpgp.js';
import { PrimaryParser, type RpmPackage } from './primary.js';
import { parseMetalink, parseMirrorlist, parseRepomd, type Repomd, type RepomdData } from './repomd.js';
import type { RpmRepo } from './repos.js';

/** Cache namespace of filtered primary indexes. */
export const RPM_INDEX_NAMESPACE = 'rpm-index';
/** Directory (in the cache root) of remembered repomd files (shared with apt's remembered Releases). */
const MEMO_DIR = 'distro-index';
const PACKAGES_FILE = 'devel.json';
const INDEX_FORMAT = 1;
/** Where rpm keeps the keys it trusts for packages, when a repository names none (`gpgkey` unset). */
export const SYSTEM_RPM_KEY_DIRS = ['/etc/pki/rpm-gpg', '/usr/lib/rpm/gnupg/keys'] as const;

/** What reading repositories needs. */
export interface RpmRepoContext {
  readonly cache: Cache;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly tuning: DownloadTuning;
  readonly signal: AbortSignal | undefined;
  readonly offline: boolean;
  /** The target root (keys, certificates of system repositories are read under it). */
  readonly root: string;
}

/** How far `repomd.xml` is trusted. */
export type RepomdTrust = 'signed' | 'metalink' | 'tls' | 'none';

/** A loaded repository. */
export interface LoadedRepo {
  readonly repo: RpmRepo;
  /** Base URL the metadata came from (packages are fetched from it). */
  readonly base: string;
  readonly repomd: Repomd;
  readonly trust: RepomdTrust;
  readonly signers: readonly string[];
  readonly via: 'network' | 'remembered';
  readonly tls: ClientTls | undefined;
  /** Keys for the packages (gpgcheck), undefined when gpgcheck is off. */
  readonly packageKeys: PublicKeys | undefined;
}

function readFileFor(repo: RpmRepo, root: string, p: string): Buffer {
  // repositories given on the command line name host files; configured ones name files of the target
  return fs.readFileSync(repo.origin.startsWith('--rpm-repo') ? p : underRoot(root, p));
}

/** The TLS settings of a repository (certificate files read under the root). @throws BpfCompileError reason `tls`. */
export function tlsOf(repo: RpmRepo, root: string): ClientTls | undefined {
  if (repo.sslCaCert === undefined && repo.sslClientCert === undefined && repo.sslClientKey === undefined && repo.sslVerify) return undefined;
  const read = (p: string | undefined, what: string): Buffer | undefined => {
    if (p === undefined) return undefined;
    try {
      return readFileFor(repo, root, p);
    } catch (err) {
      throw fetchError('tls', `cannot read the ${what} ${p} of repository ${repo.id}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, {
        hint: what.includes('client')
          ? 'RHEL: register the system (subscription-manager) so its entitlement certificates exist, or fix sslclientcert/sslclientkey'
          : 'fix sslcacert',
        details: { repository: repo.id, file: p },
      });
    }
  };
  const ca = read(repo.sslCaCert, 'CA bundle (sslcacert)');
  const cert = read(repo.sslClientCert, 'client certificate (sslclientcert)');
  const key = read(repo.sslClientKey, 'client key (sslclientkey)');
  return { ...(ca === undefined ? {} : { ca }), ...(cert === undefined ? {} : { cert }), ...(key === undefined ? {} : { key }), verify: repo.sslVerify };
}

/** The environment with the repository's own proxy (`proxy=`; `_none_` removes the proxy variables). */
export function envOf(repo: RpmRepo, env: RpmRepoContext['env']): RpmRepoContext['env'] {
  if (repo.proxy === undefined) return env;
  if (repo.proxy === '_none_') return { ...env, http_proxy: '', HTTP_PROXY: '', https_proxy: '', HTTPS_PROXY: '' };
  return { ...env, http_proxy: repo.proxy, https_proxy: repo.proxy };
}

/** Options of a small request to a repository (its proxy and TLS settings, one retry). */
function smallFetch(repo: RpmRepo, rc: RpmRepoContext, tls: ClientTls | undefined, maxBytes: number): FetchSmallOptions {
  return { cache: rc.cache, env: envOf(repo, rc.env), tuning: { retries: 1, ...rc.tuning }, signal: rc.signal, maxBytes, ...(tls === undefined ? {} : { tls }) };
}

/** Where a repository's keys are: its `gpgkey`s, else every file of the system's rpm key dirs (`file://` URLs). */
export function keyLocations(repo: RpmRepo, root: string): string[] {
  if (repo.gpgkeys.length > 0) return [...repo.gpgkeys];
  return SYSTEM_RPM_KEY_DIRS.flatMap((dir) => {
    try {
      return fs
        .readdirSync(repo.origin.startsWith('--rpm-repo') ? dir : underRoot(root, dir))
        .sort()
        .map((n) => `file://${dir}/${n}`);
    } catch {
      return [];
    }
  });
}

/** The keys a repository allows (see {@link keyLocations}); `https://` keys are fetched with the repository's TLS settings. */
export async function repoKeys(repo: RpmRepo, rc: RpmRepoContext, tls: ClientTls | undefined): Promise<{ keys: PublicKeys; from: string[]; problems: string[] }> {
  const sets: PublicKeys[] = [];
  const from: string[] = [];
  const problems: string[] = [];
  const locations = keyLocations(repo, rc.root);
  for (const loc of locations) {
    try {
      let bytes: Buffer;
      if (loc.startsWith('file://')) bytes = readFileFor(repo, rc.root, decodeURIComponent(loc.slice('file://'.length)));
      else if (loc.startsWith('https://')) {
        if (rc.offline) {
          problems.push(`${loc}: offline`);
          continue;
        }
        bytes = await fetchBytes(loc, smallFetch(repo, rc, tls, 4 * 1024 * 1024));
      } else if (loc.startsWith('/')) bytes = readFileFor(repo, rc.root, loc);
      else {
        problems.push(`${loc}: not used (a key must come from a file or an https URL)`);
        continue;
      }
      sets.push(await readPublicKeys(bytes, loc));
      from.push(loc);
    } catch (err) {
      problems.push(`${loc}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { keys: mergeKeys(sets), from, problems };
}

function memoPath(cache: Cache, repo: RpmRepo): string {
  const id = createHash('sha256')
    .update(`rpm\0${repo.id}\0${[...repo.baseurls, repo.mirrorlist ?? '', repo.metalink ?? ''].join('\0')}`)
    .digest('hex')
    .slice(0, 40);
  return path.join(cache.root, MEMO_DIR, `m-${id}.json`);
}

interface Memo {
  base: string;
  text: string;
  trust: RepomdTrust;
  signers: string[];
}

function recall(cache: Cache, repo: RpmRepo): Memo | undefined {
  return readRecord(cache, memoPath(cache, repo), (v) => {
    const base = field<string>(v, 'base', 'string');
    const text = field<string>(v, 'text', 'string');
    const trust = field<string>(v, 'trust', 'string');
    if (base === undefined || text === undefined || trust === undefined || field(v, 'id', 'string') !== repo.id) return undefined;
    const signers = (v as { signers?: unknown }).signers;
    return { base, text, trust: trust as RepomdTrust, signers: Array.isArray(signers) ? signers.map(String) : [] };
  });
}

/** Mirror bases of a repository, and the metalink's hashes when it has one. */
async function mirrorsOf(
  repo: RpmRepo,
  rc: RpmRepoContext,
  tls: ClientTls | undefined,
): Promise<{ bases: string[]; hashes: { sha256: string[]; sha512: string[] } | undefined; via: string }> {
  const small = smallFetch(repo, rc, tls, 8 * 1024 * 1024);
  if (repo.baseurls.length > 0) return { bases: [...repo.baseurls], hashes: undefined, via: 'baseurl' };
  if (repo.metalink !== undefined) {
    const text = (await fetchBytes(repo.metalink, small)).toString('utf8');
    let ml;
    try {
      ml = parseMetalink(text);
    } catch (err) {
      throw fetchError('network', `the metalink ${repo.metalink} of repository ${repo.id} is not usable: ${(err as Error).message}`, { url: repo.metalink });
    }
    return { bases: [...ml.bases], hashes: { sha256: [...ml.sha256], sha512: [...ml.sha512] }, via: `metalink (${ml.bases.length} mirrors)` };
  }
  const list = parseMirrorlist((await fetchBytes(repo.mirrorlist as string, small)).toString('utf8'));
  if (list.length === 0) throw fetchError('network', `the mirrorlist ${repo.mirrorlist ?? ''} of repository ${repo.id} lists no mirror`, { url: repo.mirrorlist ?? '' });
  return { bases: list, hashes: undefined, via: `mirrorlist (${list.length} mirrors)` };
}

/**
 * Load a repository's `repomd.xml` (see the module comment). Offline: the remembered copy, or undefined.
 * @throws BpfCompileError reason `signature` / `checksum` (fatal), or a fetch reason when no mirror answered.
 */
export async function loadRepo(repo: RpmRepo, rc: RpmRepoContext): Promise<LoadedRepo | undefined> {
  const tls = tlsOf(repo, rc.root);
  const keyInfo = repo.gpgcheck || repo.repoGpgcheck ? await repoKeys(repo, rc, tls) : undefined;
  const packageKeys = repo.gpgcheck ? keyInfo?.keys : undefined;
  if (rc.offline) {
    const memo = recall(rc.cache, repo);
    if (memo === undefined) return undefined;
    return { repo, base: memo.base, repomd: parseRepomd(memo.text), trust: memo.trust, signers: memo.signers, via: 'remembered', tls, packageKeys };
  }
  const { bases, hashes } = await mirrorsOf(repo, rc, tls);
  const small = smallFetch(repo, rc, tls, 16 * 1024 * 1024);
  let lastError: unknown;
  for (const base of bases) {
    let bytes: Buffer;
    try {
      bytes = await fetchBytes(`${base}/repodata/repomd.xml`, small);
    } catch (err) {
      lastError = err;
      continue; // the next mirror
    }
    let trust: RepomdTrust = base.startsWith('https://') && repo.sslVerify ? 'tls' : 'none';
    if (hashes !== undefined && (hashes.sha256.length > 0 || hashes.sha512.length > 0)) {
      const ok = hashes.sha256.includes(createHash('sha256').update(bytes).digest('hex')) || hashes.sha512.includes(createHash('sha512').update(bytes).digest('hex'));
      if (!ok) {
        // a mirror that is behind the metalink: dnf tries the next one too
        lastError = fetchError('checksum', `${base}/repodata/repomd.xml does not have a hash the metalink of ${repo.id} lists (stale or tampered mirror)`, {
          url: `${base}/repodata/repomd.xml`,
        });
        continue;
      }
      if ((repo.metalink ?? '').startsWith('https://')) trust = 'metalink';
    }
    let signers: readonly string[] = [];
    if (repo.repoGpgcheck) {
      const sig = await fetchBytes(`${base}/repodata/repomd.xml.asc`, small);
      signers = await verifyDetachedSigners(bytes, sig, keyInfo?.keys ?? { keys: [], fingerprints: [] }, `${base}/repodata/repomd.xml`);
      trust = 'signed';
    }
    let repomd: Repomd;
    try {
      repomd = parseRepomd(bytes.toString('utf8'));
    } catch (err) {
      throw fetchError('checksum', `${base}/repodata/repomd.xml is not a repomd document: ${(err as Error).message}`, { url: `${base}/repodata/repomd.xml` });
    }
    writeRecord(rc.cache, memoPath(rc.cache, repo), { id: repo.id, base, text: bytes.toString('utf8'), trust, signers, verifiedAt: new Date().toISOString() });
    return { repo, base, repomd, trust, signers, via: 'network', tls, packageKeys };
  }
  throw lastError ?? fetchError('network', `repository ${repo.id} lists no mirror`);
}

function compressionOf(href: string): DataCompression | undefined {
  if (href.endsWith('.gz')) return 'gzip';
  if (href.endsWith('.xz')) return 'xz';
  if (href.endsWith('.zst')) return 'zstd';
  if (href.endsWith('.xml')) return 'none';
  return undefined; // .bz2 (createrepo < 0.9 with sqlite), .zck: not read
}

async function fileDigest(file: string, algo: string): Promise<string> {
  const h = createHash(algo);
  await pipeline(fs.createReadStream(file), h);
  return h.digest('hex');
}

function parsePrimary(file: string, compression: DataCompression): Promise<PrimaryParser> {
  return parseDecodedFile(file, compression, new PrimaryParser());
}

/** Outcome of {@link loadDevelPackages}. */
export type DevelIndex = { readonly ok: true; readonly packages: readonly RpmPackage[]; readonly listed: number } | { readonly ok: false; readonly reason: string };

const SUPPORTED_DIGESTS = new Set(['sha256', 'sha512', 'sha384', 'sha224']);

/**
 * The `kernel*-devel` packages a loaded repository's primary index lists, from the cache or downloaded, checked and
 * parsed. @throws BpfCompileError reason `checksum` (fatal) or another fetch reason.
 */
export async function loadDevelPackages(r: LoadedRepo, rc: RpmRepoContext): Promise<DevelIndex> {
  const primary: RepomdData | undefined = r.repomd.data.find((d) => d.type === 'primary');
  if (primary === undefined) return { ok: false, reason: `${r.base}/repodata/repomd.xml lists no primary index` };
  const compression = compressionOf(primary.href);
  if (compression === undefined) return { ok: false, reason: `its primary index ${primary.href} is in a compression not read here` };
  if (!SUPPORTED_DIGESTS.has(primary.checksumType)) return { ok: false, reason: `its primary index has a ${primary.checksumType} checksum (sha2 needed)` };
  try {
    const entry = await ensureEntry(rc.cache, {
      namespace: RPM_INDEX_NAMESPACE,
      key: `p${INDEX_FORMAT}-${primary.checksumType === 'sha256' ? '' : `${primary.checksumType}-`}${primary.checksum.slice(0, 128)}`,
      ...(rc.signal === undefined ? {} : { signal: rc.signal }),
      build: async (dataDir, signal) => {
        if (rc.offline) throw new OfflineMiss();
        const url = `${r.base}/${primary.href.replace(/^\/+/, '')}`;
        const dest = cacheTempPath(rc.cache, 'primary');
        try {
          try {
            await download(url, {
              ...rc.tuning,
              dest,
              ...(primary.checksumType === 'sha256' ? { expectedSha256: primary.checksum } : {}),
              maxBytes: (primary.size ?? 2 * 1024 * 1024 * 1024) + 1024,
              allowInsecureHttp: true, // checked against repomd's checksum
              env: envOf(r.repo, rc.env),
              signal,
              ...(r.tls === undefined ? {} : { tls: r.tls }),
            });
          } catch (err) {
            throw cacheAccessError(rc.cache.root, dest, err, 'write') ?? err;
          }
          if (primary.checksumType !== 'sha256' && (await fileDigest(dest, primary.checksumType)) !== primary.checksum) {
            throw fetchError('checksum', `${url} does not match its ${primary.checksumType} in repomd.xml`, { url });
          }
          let parsed: PrimaryParser;
          try {
            parsed = await parsePrimary(dest, compression);
          } catch (err) {
            if (err instanceof BpfCompileError) throw err;
            throw fetchError('checksum', `${url} matches repomd.xml but is not a primary index: ${(err as Error).message}`, { url });
          }
          const json = JSON.stringify(parsed.packages);
          fs.writeFileSync(path.join(dataDir, PACKAGES_FILE), json, { mode: 0o644 });
          return {
            source: url,
            files: 1,
            bytes: Buffer.byteLength(json),
            extra: { packages: parsed.packages.length, listed: parsed.listed, format: INDEX_FORMAT, indexBytes: primary.size ?? 0 },
          };
        } finally {
          fs.rmSync(dest, { force: true });
        }
      },
    });
    const packages = JSON.parse(fs.readFileSync(path.join(entry.dir, PACKAGES_FILE), 'utf8')) as RpmPackage[];
    const listed = entry.manifest.extra?.['listed'];
    return { ok: true, packages, listed: typeof listed === 'number' ? listed : packages.length };
  } catch (err) {
    if (err instanceof OfflineMiss) return { ok: false, reason: `offline and its primary index (${primary.checksum.slice(0, 12)}…) was never downloaded` };
    if (isNotFound(err)) return { ok: false, reason: redactCredentials((err as Error).message) };
    throw err;
  }
}
