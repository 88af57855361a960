/**
 * The `fetch` source: a kheaders archive from HTTP mirrors, verified and cached (machinery in `lib/fetch/`).
 */
import { BpfCompileError } from '../errors.js';
import { redactCredentials } from '../fetch/errors.js';
import type { FetchHeadersOptions } from '../fetch/index.js';
import type { HeaderSource, SourceContext, SourceResult } from './types.js';

/**
 * The {@link FetchHeadersOptions} of a source context: its mirrors, cache, environment, offline mode, the pinned sha256
 * of `kind`, and progress reported as `source`.
 */
export function fetchOptionsOf(ctx: SourceContext, kind: 'kheaders' | 'btf', source: string): FetchHeadersOptions {
  const pinned = kind === 'kheaders' ? ctx.pinnedSha256 : ctx.pinnedBtfSha256;
  return {
    target: ctx.target,
    ...(ctx.mirrors === undefined ? {} : { mirrors: ctx.mirrors }),
    cacheDir: ctx.cacheDir,
    env: ctx.env,
    ...(ctx.offline === undefined ? {} : { offline: ctx.offline }),
    kind,
    ...(pinned === undefined ? {} : { sha256: pinned }),
    ...(ctx.onProgress === undefined
      ? {}
      : {
          onProgress: (p) =>
            ctx.onProgress?.({ source, what: `${p.phase === 'download' ? 'downloading' : 'extracting'} ${redactCredentials(p.url)}`, done: p.done, total: p.total }),
        }),
  };
}

/**
 * Kernel headers from HTTP mirrors (`--mirror URL`, option `mirrors`, `BPF_COMPILE_MIRROR`): the `kheaders` archive of
 * the target release/arch, checksum-verified, downloaded once into the cache and extracted there like any archive.
 * No mirror → not applicable. Integrity or hostile-content failures are fatal; a mirror that lacks the release or is
 * down is a reason, and the next mirror is tried. Offline (`--offline`, `BPF_COMPILE_OFFLINE=1`) only cached
 * downloads are used.
 */
export const fetchSource: HeaderSource = {
  name: 'fetch',
  description: 'a kheaders archive downloaded from a mirror (--mirror URL, BPF_COMPILE_MIRROR), sha256-verified and cached',
  kind: 'kernel-tree',
  async find(ctx: SourceContext): Promise<SourceResult> {
    const { fetchHeaders, mirrorList } = await import('../fetch/index.js');
    if (mirrorList(ctx.mirrors, ctx.env).length === 0) {
      return { found: false, reason: 'no mirror configured (BPF_COMPILE_MIRROR or --mirror)', hint: 'point BPF_COMPILE_MIRROR at a mirror made with `bpf-compile pack`' };
    }
    try {
      const r = await fetchHeaders(fetchOptionsOf(ctx, 'kheaders', 'fetch'));
      if (!r.found) {
        return { found: false, reason: r.reasons.join('; '), hint: r.errors[0]?.hint ?? 'check that the mirror serves this release and arch' };
      }
      if (r.kind !== 'kheaders') return { found: false, reason: 'mirror returned no headers archive' };
      const how = r.downloaded ? 'downloaded' : 'cached download';
      const detail = `${redactCredentials(r.url)} → ${r.dir} (sha256 ${r.sha256.slice(0, 12)}…, ${how}, ${r.extracted ? 'extracted' : 'cached'})`;
      return { found: true, kind: 'kernel-tree', tree: { sourceDir: r.dir, buildDir: r.dir }, detail };
    } catch (err) {
      if (err instanceof BpfCompileError) return { found: false, fatal: true, reason: err.message, hint: err.hint, error: err };
      throw err;
    }
  },
};
