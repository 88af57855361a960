/**
 * The `distro` source's implementation: apt options and the kernel's identity from the target root, the apt lookup,
 * and the tree of the unpacked package set (see `lib/sources/distro.ts`, docs/distro.md).
 */
import { BpfCompileError } from '../errors.js';
import { offlineFromEnv } from '../fetch/mirrors.js';
import { toCache } from '../cache/entry.js';
import { readAptOptions } from './apt/conf.js';
import { findAptHeaders } from './apt/index.js';
import { readKernelIdentity } from '../system/kernel-identity.js';
import type { SourceContext, SourceResult } from '../sources/types.js';
import { modulesTreeUnder } from '../sources/tree.js';

/** The apt options that matter for downloads, merged into the environment the downloads read proxies from. */
function envWithAptProxies(env: SourceContext['env'], proxies: { httpProxy: string | undefined; httpsProxy: string | undefined }): SourceContext['env'] {
  const set = (k: string): boolean => (env[k] ?? env[k.toUpperCase()] ?? '') !== '';
  return {
    ...env,
    ...(proxies.httpProxy !== undefined && !set('http_proxy') ? { http_proxy: proxies.httpProxy } : {}),
    ...(proxies.httpsProxy !== undefined && !set('https_proxy') ? { https_proxy: proxies.httpsProxy } : {}),
  };
}

/** The `distro` source's lookup (see `sources/distro.ts`). Loaded on first use. */
export async function findDistroHeaders(ctx: SourceContext): Promise<SourceResult> {
  const apt = readAptOptions(ctx.target.root);
  const identity = readKernelIdentity(ctx.target.root, ctx.target.release);
  const offline = ctx.offline === true || offlineFromEnv(ctx.env);
  try {
    const r = await findAptHeaders({
      root: ctx.target.root,
      release: ctx.target.release,
      debArch: ctx.target.arch.debArch,
      srcarch: ctx.target.arch.srcarch,
      identity: identity?.packageVersion,
      extraRepositories: ctx.aptRepositories ?? [],
      useSystemSources: true,
      repo: {
        cache: toCache({ cacheDir: ctx.cacheDir, env: ctx.env }),
        env: envWithAptProxies(ctx.env, apt),
        tuning: {},
        signal: undefined,
        offline,
        checkValidUntil: apt.checkValidUntil,
        now: new Date(),
      },
      ...(ctx.onProgress === undefined
        ? {}
        : { onProgress: (done: number, total: number) => ctx.onProgress?.({ source: 'distro', what: `downloading linux-headers-${ctx.target.release}`, done, total }) }),
    });
    if (!r.found) {
      const searched = r.searched.map((s) => `${s.source}: ${s.outcome}`).join('; ');
      return { found: false, reason: `${r.reason}${searched === '' ? '' : ` (searched ${searched})`}`, hint: r.hint };
    }
    const tree = await modulesTreeUnder(r.entry.dir, ctx.target.release, ctx.target.arch);
    if (!tree.ok) return { found: false, reason: `unpacked ${r.entry.path}, but ${tree.reason}` };
    const pkgs = r.selection.packages.map((p) => `${p.package} ${p.version}`).join(' + ');
    const first = r.selection.packages[0];
    const notes: string[] = [];
    if (identity !== undefined && first !== undefined && first.version !== identity.packageVersion) {
      notes.push(`the running kernel is ${identity.packageVersion} (${identity.from}), but the repositories hold ${first.version}: headers may differ slightly`);
    }
    const dropped = r.entry.manifest.extra?.['droppedSymlinks'];
    const left = Array.isArray(dropped) && dropped.length > 0 ? `; ${dropped.length} links into packages not needed for BPF left out` : '';
    const detail = `${pkgs} from ${first?.uri ?? '?'} ${first?.suite ?? ''} (${r.selection.why}) → ${r.entry.dir} (${r.entry.fromCache ? 'cached' : 'downloaded'}${left})`;
    return { found: true, kind: 'kernel-tree', tree: tree.tree, detail, notes };
  } catch (err) {
    if (err instanceof BpfCompileError) return { found: false, fatal: true, reason: err.message, hint: err.hint, error: err };
    throw err;
  }
}
