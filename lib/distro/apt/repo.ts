/**
 * Reading one apt repository the way apt does, with trust only from signatures:
 *
 * 1. `dists/<suite>/InRelease` (clearsigned; else `Release` + `Release.gpg`) verified against the keys the source
 *    allows (`keys.ts`), its `Valid-Until` honoured unless `Check-Valid-Until` is off; the verified text is remembered
 *    in `<cache>/distro-index/` for offline runs.
 * 2. `<component>/binary-<arch>/Packages.{xz,gz}` downloaded (by hash when the Release offers it) and checked against
 *    the signed SHA256, then parsed as it decodes; only the kernel headers stanzas are kept, as a cache entry
 *    `apt-index/p1-<sha256 of the index file>` — so a second release, or a second process, costs no index download.
 *
 * Online, the Release is fetched every time (it is small, and it is what says whether the index changed); offline, the
 * remembered one is used.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ensureEntry } from '../../cache/entry.js';
import { cacheAccessError, type Cache } from '../../cache/safety.js';
import { field, readRecord, writeRecord } from '../../cache/records.js';
import { download } from '../../fetch/download.js';
import { fetchError, isNotFound, OfflineMiss } from '../../fetch/errors.js';
import { cacheTempPath, fetchBytes, type DownloadTuning } from '../../fetch/text.js';
import { parseDecodedFile } from '../index-file.js';
import type { DataCompression } from '../../archive/ar.js';
import { verifyClearsigned, verifyDetached } from '../openpgp.js';
import type { KeyringReader } from './keys.js';
import { PackagesParser, type DebPackage } from './packages.js';
import { packagesIndexOf, parseRelease, type ReleaseFile, type ReleaseInfo } from './release.js';
import type { AptSource } from './sources.js';

/** Cache namespace of filtered `Packages` indexes. */
export const APT_INDEX_NAMESPACE = 'apt-index';
/** Directory (in the cache root) of remembered, verified Release files. */
export const RELEASE_MEMO_DIR = 'distro-index';
/** File of the kept stanzas inside an `apt-index` entry. */
const HEADERS_FILE = 'headers.json';
/** Bump when what an index entry holds changes. */
const INDEX_FORMAT = 1;

/** What reading repositories needs. */
export interface RepoContext {
  readonly cache: Cache;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly tuning: DownloadTuning;
  readonly signal: AbortSignal | undefined;
  readonly offline: boolean;
  /** apt's global `Acquire::Check-Valid-Until`. */
  readonly checkValidUntil: boolean;
  /** "Now", for `Valid-Until` (tests move it). */
  readonly now: Date;
}

/** A verified Release of one source. */
export interface VerifiedRelease {
  readonly source: AptSource;
  readonly release: ReleaseInfo;
  /** Key ids that signed it. */
  readonly signers: readonly string[];
  /** Where it came from: the network now, or the copy verified on an earlier run. */
  readonly via: 'InRelease' | 'Release.gpg' | 'remembered';
  /** Base URL of the suite's index files (ends in `/`). */
  readonly distsUrl: string;
}

/** The base URL of a source's Release and indexes. */
export function distsUrlOf(source: AptSource): string {
  return source.flat ? `${source.uri}/${source.suite.replace(/^\/+/, '')}` : `${source.uri}/dists/${source.suite}/`;
}

function memoPath(cache: Cache, source: AptSource): string {
  const id = createHash('sha256').update(`${source.uri}\0${source.suite}`).digest('hex').slice(0, 40);
  return path.join(cache.root, RELEASE_MEMO_DIR, `r-${id}.json`);
}

/** Remember a verified Release for offline runs (a record, `cache/records.ts`; a read-only cache only loses it). */
function remember(cache: Cache, source: AptSource, text: string, signers: readonly string[]): void {
  writeRecord(cache, memoPath(cache, source), { uri: source.uri, suite: source.suite, signers, verifiedAt: new Date().toISOString(), text });
}

function recall(cache: Cache, source: AptSource): { text: string; signers: string[] } | undefined {
  return readRecord(cache, memoPath(cache, source), (v) => {
    const text = field<string>(v, 'text', 'string');
    if (field(v, 'uri', 'string') !== source.uri || field(v, 'suite', 'string') !== source.suite || text === undefined) return undefined;
    const signers = (v as { signers?: unknown }).signers;
    return { text, signers: Array.isArray(signers) ? signers.map(String) : [] };
  });
}

function checkValidity(release: ReleaseInfo, source: AptSource, what: string, rc: RepoContext): void {
  const check = source.checkValidUntil ?? rc.checkValidUntil;
  if (!check || release.validUntil === undefined) return;
  if (release.validUntil.getTime() < rc.now.getTime()) {
    throw fetchError('expired', `${what} expired on ${release.validUntil.toUTCString()} (Valid-Until): refusing a stale or replayed index`, {
      url: what,
      details: { validUntil: release.validUntil.toISOString(), source: source.origin },
    });
  }
}

/**
 * The verified Release of `source`. Offline: the copy verified on an earlier run, or undefined.
 * @throws BpfCompileError `INPUT_UNREADABLE` reason `signature` / `expired` (fatal), or a fetch reason (network, 404).
 */
export async function loadRelease(source: AptSource, keys: KeyringReader, rc: RepoContext): Promise<VerifiedRelease | undefined> {
  const distsUrl = distsUrlOf(source);
  // one retry for the Release: an unreachable repository must not hold up every resolve for seconds
  const small = { cache: rc.cache, env: rc.env, tuning: { retries: 1, ...rc.tuning }, signal: rc.signal, maxBytes: 64 * 1024 * 1024 };
  if (rc.offline) {
    const memo = recall(rc.cache, source);
    if (memo === undefined) return undefined;
    const release = parseRelease(memo.text);
    checkValidity(release, source, `${distsUrl}InRelease (remembered)`, rc);
    return { source, release, signers: memo.signers, via: 'remembered', distsUrl };
  }
  const allowed = await keys.forSource(source);
  let verified;
  let via: VerifiedRelease['via'] = 'InRelease';
  try {
    const bytes = await fetchBytes(`${distsUrl}InRelease`, small);
    verified = await verifyClearsigned(bytes.toString('utf8'), allowed.keys, `${distsUrl}InRelease`);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    via = 'Release.gpg';
    const [data, sig] = await Promise.all([fetchBytes(`${distsUrl}Release`, small), fetchBytes(`${distsUrl}Release.gpg`, small)]);
    verified = await verifyDetached(data, sig, allowed.keys, `${distsUrl}Release`);
  }
  const release = parseRelease(verified.text);
  checkValidity(release, source, `${distsUrl}${via === 'InRelease' ? 'InRelease' : 'Release'}`, rc);
  remember(rc.cache, source, verified.text, verified.signers);
  return { source, release, signers: verified.signers, via, distsUrl };
}

function compressionOf(file: ReleaseFile): DataCompression {
  if (file.path.endsWith('.xz')) return 'xz';
  if (file.path.endsWith('.gz')) return 'gzip';
  return 'none';
}

/** Parse an index file (verified) into the headers stanzas it lists. */
async function parseIndexFile(file: string, compression: DataCompression): Promise<DebPackage[]> {
  return (await parseDecodedFile(file, compression, new PackagesParser())).packages;
}

/** Outcome of {@link loadHeadersIndex}. */
export type IndexResult = { readonly ok: true; readonly packages: readonly DebPackage[] } | { readonly ok: false; readonly reason: string };

/**
 * The kernel headers packages that `component`/`arch` of a verified Release lists, from the cache or downloaded and
 * checked against the Release's SHA256. `component` is `''` for a flat repository.
 *
 * @throws BpfCompileError reason `checksum` (fatal) or another fetch reason.
 */
export async function loadHeadersIndex(r: VerifiedRelease, component: string, arch: string, rc: RepoContext): Promise<IndexResult> {
  const file = packagesIndexOf(r.release, component, arch);
  const where = `${r.distsUrl}${component === '' ? '' : `${component}/binary-${arch}/`}Packages`;
  if (file === undefined) return { ok: false, reason: `the Release of ${r.distsUrl} lists no ${where.slice(r.distsUrl.length)}{.xz,.gz}` };
  try {
    const entry = await ensureEntry(rc.cache, {
      namespace: APT_INDEX_NAMESPACE,
      key: `p${INDEX_FORMAT}-${file.sha256}`,
      ...(rc.signal === undefined ? {} : { signal: rc.signal }),
      build: async (dataDir, signal) => {
        if (rc.offline) throw new OfflineMiss();
        const url = `${r.distsUrl}${file.path}`;
        const byHash = `${r.distsUrl}${path.posix.dirname(file.path)}/by-hash/SHA256/${file.sha256}`.replace('/./by-hash', '/by-hash');
        const dest = cacheTempPath(rc.cache, 'index');
        const get = (u: string): Promise<unknown> =>
          download(u, { ...rc.tuning, dest, expectedSha256: file.sha256, maxBytes: Math.max(file.size, 1) + 1024, allowInsecureHttp: true, env: rc.env, signal });
        try {
          try {
            await get(r.release.acquireByHash ? byHash : url);
          } catch (err) {
            if (!r.release.acquireByHash || !isNotFound(err)) throw cacheAccessError(rc.cache.root, dest, err, 'write') ?? err;
            await get(url);
          }
          const packages = await parseIndexFile(dest, compressionOf(file));
          const json = JSON.stringify(packages);
          fs.writeFileSync(path.join(dataDir, HEADERS_FILE), json, { mode: 0o644 });
          return { source: url, sha256: file.sha256, files: 1, bytes: Buffer.byteLength(json), extra: { packages: packages.length, format: INDEX_FORMAT, indexBytes: file.size } };
        } finally {
          fs.rmSync(dest, { force: true });
        }
      },
    });
    const packages = JSON.parse(fs.readFileSync(path.join(entry.dir, HEADERS_FILE), 'utf8')) as DebPackage[];
    return { ok: true, packages };
  } catch (err) {
    if (err instanceof OfflineMiss) return { ok: false, reason: `offline and ${where} (sha256 ${file.sha256.slice(0, 12)}…) was never downloaded` };
    throw err;
  }
}
