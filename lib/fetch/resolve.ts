/**
 * Turn one configured mirror into an artefact URL plus a trusted sha256 (index.json, sidecar, pinned option, or the
 * memo of a previous run), online or offline. Integrity is mandatory: no checksum, no download.
 *
 * Trust of plain http: checksums read over `http://` from a non-loopback host could be forged along with the file, so
 * such a mirror is refused unless the sha256 is pinned by the caller (reason `insecure`). Loopback http (a local
 * mirror, the tests) and https are trusted.
 */
import type { ArchInfo } from '../arch.js';
import type { Cache } from '../cache/safety.js';
import { parseMirrorIndex, type MirrorIndexEntry } from '../mirror/index-format.js';
import type { OsRelease } from '../system/os-release.js';
import { fetchBytes, type DownloadTuning } from './text.js';
import { fetchError, isNotFound } from './errors.js';
import { artifactMemoName, readArtifactMemo, readCachedIndex, writeArtifactMemo, writeCachedIndex, type ResolvedArtifact } from './memo.js';
import { btfhubUrl, expandTemplate, fallbackUrl, fileUrl, indexUrl, isTemplate, normalizeBase, parseSha256Sidecar, selectIndexEntry, sidecarUrl, templateKind } from './mirrors.js';
import { checkUrl, isLoopbackUrl } from './redirect.js';

export type { DownloadTuning } from './text.js';

/** Inputs of {@link resolveArtifact}. */
export interface ResolveArtifactInput {
  readonly mirror: string;
  readonly kind: MirrorIndexEntry['kind'];
  readonly release: string;
  readonly arch: ArchInfo;
  readonly os: OsRelease | undefined;
  readonly cache: Cache;
  readonly offline: boolean;
  /** A sha256 the caller pins (wins over index/sidecar; the only trust anchor for remote plain-http mirrors). */
  readonly pinnedSha256: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly tuning: DownloadTuning;
  readonly signal: AbortSignal | undefined;
}

/** Why a mirror does not serve the target (not an error). */
export interface ArtifactSkip {
  readonly skip: string;
}

/** True when metadata (index, sidecar) fetched from this URL can be trusted. */
export function trustedMetadataUrl(u: URL): boolean {
  return u.protocol === 'https:' || isLoopbackUrl(u);
}

/** Fetch a small text file (index.json, a sidecar) through a private temp file in the cache root. */
async function fetchText(url: string, input: ResolveArtifactInput, maxBytes: number): Promise<string> {
  return (await fetchBytes(url, { cache: input.cache, env: input.env, tuning: input.tuning, signal: input.signal, maxBytes })).toString('utf8');
}

/** The sha256 from a sidecar, or a typed error. */
async function sidecarSha(url: string, input: ResolveArtifactInput): Promise<string> {
  let text: string;
  try {
    text = await fetchText(sidecarUrl(url), input, 4096);
  } catch (err) {
    if (isNotFound(err)) {
      throw fetchError('http-status', `no checksum for ${url} (${sidecarUrl(url)}: not found): refusing to download without one`, {
        url: sidecarUrl(url),
        status: 404,
        hint: 'publish index.json (bpf-compile pack) or a <file>.sha256 sidecar next to the archive',
      });
    }
    throw err;
  }
  const sha = parseSha256Sidecar(text);
  if (sha === undefined) throw fetchError('checksum', `malformed checksum file ${sidecarUrl(url)} (expected 64 hex digits first)`, { url: sidecarUrl(url) });
  return sha;
}

/** Why a template cannot serve `kind` (it serves the other kind), or undefined. */
function templateMismatch(mirror: string, kind: MirrorIndexEntry['kind']): ArtifactSkip | undefined {
  const serves = templateKind(mirror);
  return serves === kind ? undefined : { skip: `${mirror} is a ${serves} template (BTF templates end in .btf or .btf.tar.xz), not a ${kind} one` };
}

/** The URL a base mirror without index.json serves `kind` at: `pack`'s default name, or the btfhub layout for BTF. */
function fallbackOf(input: ResolveArtifactInput, base: string): { url: string } | ArtifactSkip {
  return input.kind === 'btf' ? btfhubUrl(base, input) : { url: fallbackUrl(base, input.release, input.arch) };
}

async function resolveOnline(input: ResolveArtifactInput): Promise<ResolvedArtifact | ArtifactSkip> {
  const { mirror, kind, release, arch } = input;
  if (isTemplate(mirror)) {
    const t = expandTemplate(mirror, { release, arch, os: input.os });
    if ('skip' in t) return t;
    if (input.pinnedSha256 !== undefined) return { url: t.url, sha256: input.pinnedSha256, via: 'pinned' };
    return { url: t.url, sha256: await sidecarSha(t.url, input), via: 'sidecar' };
  }
  const base = normalizeBase(mirror);
  let text: string | undefined;
  try {
    text = await fetchText(indexUrl(base), input, 8 * 1024 * 1024);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (text !== undefined) {
    const index = parseMirrorIndex(text);
    writeCachedIndex(input.cache, base, text);
    const entry = selectIndexEntry(index, kind, release, arch);
    if (entry === undefined) return { skip: `${indexUrl(base)} has no ${kind} entry for ${release} ${arch.srcarch}` };
    const url = fileUrl(base, entry.file);
    if (input.pinnedSha256 !== undefined && input.pinnedSha256 !== entry.sha256) {
      throw fetchError('checksum', `${indexUrl(base)} lists sha256 ${entry.sha256} for ${url}, but ${input.pinnedSha256} is pinned`, { url });
    }
    return { url, sha256: entry.sha256, via: input.pinnedSha256 === undefined ? 'index' : 'pinned' };
  }
  const fallback = fallbackOf(input, base);
  if ('skip' in fallback) return { skip: `${indexUrl(base)} not found, and ${fallback.skip}` };
  if (input.pinnedSha256 !== undefined) return { url: fallback.url, sha256: input.pinnedSha256, via: 'pinned' };
  return { url: fallback.url, sha256: await sidecarSha(fallback.url, input), via: 'sidecar' };
}

function resolveOffline(input: ResolveArtifactInput, memoName: string): ResolvedArtifact | ArtifactSkip {
  const memo = readArtifactMemo(input.cache, memoName);
  if (memo !== undefined) return memo;
  if (!isTemplate(input.mirror)) {
    const base = normalizeBase(input.mirror);
    const index = readCachedIndex(input.cache, base);
    const entry = index === undefined ? undefined : selectIndexEntry(index, input.kind, input.release, input.arch);
    if (entry !== undefined) return { url: fileUrl(base, entry.file), sha256: entry.sha256, via: 'index' };
  }
  if (input.pinnedSha256 !== undefined) {
    const t = isTemplate(input.mirror) ? expandTemplate(input.mirror, input) : fallbackOf(input, normalizeBase(input.mirror));
    if ('url' in t) return { url: t.url, sha256: input.pinnedSha256, via: 'pinned' };
  }
  return { skip: `offline (--offline or BPF_COMPILE_OFFLINE) and ${input.mirror} was never resolved for ${input.release} ${input.arch.srcarch}` };
}

/**
 * Resolve one mirror. Warm: the memo answers without network (`via: 'memo'`). Offline: the memo, the cached
 * index.json, or a pinned sha256; else a skip.
 *
 * @throws BpfCompileError `INPUT_UNREADABLE` (a fetch reason, or a malformed index.json).
 */
export async function resolveArtifact(input: ResolveArtifactInput, useMemo: (a: ResolvedArtifact) => boolean): Promise<ResolvedArtifact | ArtifactSkip> {
  const mismatch = isTemplate(input.mirror) ? templateMismatch(input.mirror, input.kind) : undefined;
  if (mismatch !== undefined) return mismatch;
  const memoName = artifactMemoName(input.mirror, input.kind, input.release, input.arch.srcarch);
  if (input.offline) return resolveOffline(input, memoName);
  const memo = readArtifactMemo(input.cache, memoName);
  if (memo !== undefined && (input.pinnedSha256 === undefined || memo.sha256 === input.pinnedSha256) && useMemo(memo)) return memo;
  const mirrorUrl = checkUrl(isTemplate(input.mirror) ? input.mirror.replace(/\{[a-z_]+\}/g, 'x') : input.mirror, true);
  if (!trustedMetadataUrl(mirrorUrl) && input.pinnedSha256 === undefined) {
    throw fetchError('insecure', `refusing plain-http mirror ${input.mirror}: a checksum read over http could be forged with the file`, { url: input.mirror });
  }
  const r = await resolveOnline(input);
  if ('url' in r) writeArtifactMemo(input.cache, memoName, r);
  return r;
}
