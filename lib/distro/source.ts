/**
 * The `distro` source's implementation, one backend per repository format: apt (options and the kernel's identity from
 * the target root, `apt/`) and rpm-md (dnf/yum and zypper, `rpm/`, loaded only for RPM-shaped releases or
 * `--rpm-repo`), and the tree of the unpacked package set (see `lib/sources/distro.ts`, docs/distro.md).
 */
import fs from 'node:fs';
import { BpfCompileError } from '../errors.js';
import { underRoot } from '../system/root.js';
import { offlineFromEnv } from '../fetch/mirrors.js';
import { toCache } from '../cache/entry.js';
import { readAptOptions } from './apt/conf.js';
import { findAptHeaders } from './apt/index.js';
import { readKernelIdentity } from '../system/kernel-identity.js';
import type { SourceContext, SourceResult } from '../sources/types.js';
import { modulesTreeUnder } from '../sources/tree.js';
import { readOsRelease } from '../system/os-release.js';
import { aptFamilyOf, rpmFamilyOf } from './releases.js';

/** The apt options that matter for downloads, merged into the environment the downloads read proxies from. */
function envWithAptProxies(env: SourceContext['env'], proxies: { httpProxy: string | undefined; httpsProxy: string | undefined }): SourceContext['env'] {
  const set = (k: string): boolean => (env[k] ?? env[k.toUpperCase()] ?? '') !== '';
  return {
    ...env,
    ...(proxies.httpProxy !== undefined && !set('http_proxy') ? { http_proxy: proxies.httpProxy } : {}),
    ...(proxies.httpsProxy !== undefined && !set('https_proxy') ? { https_proxy: proxies.httpsProxy } : {}),
  };
}

/** The apt backend: Debian/Ubuntu repositories (`apt/`). */
async function fromApt(ctx: SourceContext, offline: boolean): Promise<SourceResult> {
  const apt = readAptOptions(ctx.target.root);
  const identity = readKernelIdentity(ctx.target.root, ctx.target.release);
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
}

/** Where an RPM system keeps its repository files. */
const RPM_CONFIG_DIRS = ['/etc/yum.repos.d', '/etc/zypp/repos.d'] as const;

/** Whether the target's os-release names a SUSE system. */
async function suseTarget(root: string): Promise<boolean> {
  const os = await readOsRelease(root);
  return [os?.id ?? '', ...(os?.idLike ?? [])].some((x) => /suse|sles/.test(x));
}

/** The rpm backend: dnf/yum and zypper repositories (`rpm/`). */
async function fromRpm(ctx: SourceContext, offline: boolean): Promise<SourceResult> {
  const [{ findRpmHeaders }, { rpmTreeUnder }] = await Promise.all([import('./rpm/index.js'), import('./rpm/tree.js')]);
  const r = await findRpmHeaders({
    release: ctx.target.release,
    rpmArch: ctx.target.arch.rpmArch,
    srcarch: ctx.target.arch.srcarch,
    family: (await suseTarget(ctx.target.root)) ? 'suse' : undefined,
    extraRepositories: ctx.rpmRepositories ?? [],
    useSystemRepos: rpmFamilyOf(ctx.target.release) !== undefined,
    repo: { cache: toCache({ cacheDir: ctx.cacheDir, env: ctx.env }), env: ctx.env, tuning: {}, signal: undefined, offline, root: ctx.target.root },
    ...(ctx.onProgress === undefined
      ? {}
      : { onProgress: (done: number, total: number) => ctx.onProgress?.({ source: 'distro', what: `downloading kernel-devel ${ctx.target.release}`, done, total }) }),
  });
  if (!r.found) {
    const searched = r.searched.map((s) => `${s.source}: ${s.outcome}`).join('; ');
    return { found: false, reason: `${r.reason}${searched === '' ? '' : ` (searched ${searched})`}`, hint: r.hint };
  }
  const tree = await rpmTreeUnder(r.entry.dir, r.kernel, ctx.target.arch);
  if (!tree.ok) return { found: false, reason: `unpacked ${r.entry.path}, but found ${tree.reason}` };
  const pkgs = r.chosen.map((c) => `${c.pkg.name}-${c.pkg.version}-${c.pkg.release}.${c.pkg.arch}`).join(' + ');
  const signed = r.chosen.every((c) => c.from.repo.gpgcheck) ? 'signatures verified' : 'some not signature-checked (gpgcheck=0)';
  const detail = `${pkgs} from ${[...new Set(r.chosen.map((c) => c.from.repo.id))].join(', ')} (${signed}) → ${r.entry.dir} (${r.entry.fromCache ? 'cached' : 'downloaded'})`;
  return { found: true, kind: 'kernel-tree', tree: tree.tree, detail, notes: [] };
}

/** The `distro` source's lookup (see `sources/distro.ts`): the apt backend, the rpm backend, as the release and options ask. Loaded on first use. */
export async function findDistroHeaders(ctx: SourceContext): Promise<SourceResult> {
  const offline = ctx.offline === true || offlineFromEnv(ctx.env);
  const backends: Array<(c: SourceContext, o: boolean) => Promise<SourceResult>> = [];
  // the rpm backend where the target is configured for dnf/yum/zypper (or --rpm-repo): the Debian and SUSE release
  // shapes overlap (6.11.8-1-default), and a Debian system must not report missing rpm repositories
  const rpmConfigured = RPM_CONFIG_DIRS.some((d) => fs.existsSync(underRoot(ctx.target.root, d)));
  if ((rpmFamilyOf(ctx.target.release) !== undefined && rpmConfigured) || (ctx.rpmRepositories ?? []).length > 0) backends.push(fromRpm);
  if (aptFamilyOf(ctx.target.release) !== undefined || (ctx.aptRepositories ?? []).length > 0) backends.push(fromApt);
  // nothing configured for either: the backend of the release's shape says so
  if (backends.length === 0) backends.push(rpmFamilyOf(ctx.target.release) !== undefined ? fromRpm : fromApt);
  const misses: SourceResult[] = [];
  try {
    for (const b of backends) {
      const r = await b(ctx, offline);
      if (r.found) return r;
      misses.push(r);
    }
  } catch (err) {
    if (err instanceof BpfCompileError) return { found: false, fatal: true, reason: err.message, hint: err.hint, error: err };
    throw err;
  }
  if (misses.length === 1) return misses[0] as SourceResult;
  return {
    found: false,
    reason: misses.map((m) => (m.found ? '' : m.reason)).join('; and '),
    hint: misses
      .map((m) => (m.found ? '' : (m.hint ?? '')))
      .filter(Boolean)
      .join('; or '),
  };
}
