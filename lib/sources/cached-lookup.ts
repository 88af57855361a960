/**
 * The `cached` source's lookup: complete `distro` and `kheaders` entries of the cache for the target release and arch.
 */
import fs from 'node:fs';
import path from 'node:path';
import { toCache } from '../cache/entry.js';
import { readCompleteManifest, type Manifest } from '../cache/manifest.js';
import { readKernelIdentity } from '../system/kernel-identity.js';
import type { SourceContext, SourceResult } from './types.js';
import { modulesTreeUnder, validateTreePair } from './tree.js';
import { rpmKernelOf } from '../distro/rpm/names.js';
import { rpmTreeUnder } from '../distro/rpm/tree.js';

/** Namespaces whose entries are header trees fetched earlier: unpacked distro packages, extracted archives. */
const TREE_NAMESPACES = ['distro', 'kheaders'] as const;

interface Candidate {
  readonly namespace: (typeof TREE_NAMESPACES)[number];
  readonly dir: string;
  readonly manifest: Manifest;
}

function candidates(root: string, release: string, uid: number): Candidate[] {
  const out: Candidate[] = [];
  for (const namespace of TREE_NAMESPACES) {
    let keys: string[];
    try {
      keys = fs.readdirSync(path.join(root, namespace));
    } catch {
      continue;
    }
    for (const key of keys) {
      if (key.startsWith('.') || key.includes('.')) continue; // temp, trash, locks, owners
      const entryPath = path.join(root, namespace, key);
      let m: Manifest | undefined;
      try {
        m = readCompleteManifest(entryPath, namespace, key, uid);
      } catch {
        m = undefined; // an unsafe entry is never used; the source that made it reports it
      }
      if (m !== undefined && m.release === release) out.push({ namespace, dir: path.join(entryPath, 'data'), manifest: m });
    }
  }
  return out.sort((a, b) => b.manifest.createdAt.localeCompare(a.manifest.createdAt));
}

/** The `cached` source's lookup (see `sources/cached.ts`). Loaded on first use. */
export async function findCachedHeaders(ctx: SourceContext): Promise<SourceResult> {
  const cache = toCache({ cacheDir: ctx.cacheDir, env: ctx.env });
  const { release, arch } = ctx.target;
  const identity = readKernelIdentity(ctx.target.root, release);
  const skipped: string[] = [];
  for (const c of candidates(cache.root, release, cache.uid)) {
    const extra = c.manifest.extra ?? {};
    let tree;
    if (c.namespace === 'distro') {
      if (extra['srcarch'] !== arch.srcarch) continue;
      if (extra['family'] === 'rpm') {
        // an RPM set names its build exactly (uname -r is version-release.arch): no identity to check
        if (extra['distroArch'] !== arch.rpmArch) continue;
        const kernel = rpmKernelOf(release, arch.rpmArch, extra['rpmFamily'] === 'suse' ? 'suse' : undefined);
        if (kernel === undefined) continue;
        tree = await rpmTreeUnder(c.dir, kernel, arch);
      } else {
        if (extra['distroArch'] !== arch.debArch) continue;
        const version = extra['packageVersion'];
        if (identity !== undefined && version !== identity.packageVersion) {
          skipped.push(`${c.dir}: packages ${String(version)}, the running kernel is ${identity.packageVersion}`);
          continue;
        }
        // an unpacked set is laid out like a root file system: found in it as the modules source finds an installed tree
        tree = await modulesTreeUnder(c.dir, release, arch);
      }
    } else {
      tree = await validateTreePair(c.dir, c.dir, arch);
      if (tree.ok && !fs.existsSync(path.join(c.dir, 'arch', arch.srcarch, 'include', 'generated'))) continue;
    }
    if (!tree.ok) continue;
    const pkgs = Array.isArray(extra['packages'])
      ? (extra['packages'] as { name?: unknown; version?: unknown }[]).map((p) => `${String(p.name)} ${String(p.version)}`).join(' + ')
      : '';
    const from = c.namespace === 'distro' ? `distro packages ${pkgs}` : `archive sha256 ${(c.manifest.sha256 ?? '').slice(0, 12)}…`;
    return { found: true, kind: 'kernel-tree', tree: tree.tree, detail: `${c.dir} (${from}, fetched ${c.manifest.createdAt})` };
  }
  return {
    found: false,
    reason: `nothing fetched for ${release} ${arch.srcarch} in ${cache.root}${skipped.length > 0 ? ` (${skipped.join('; ')})` : ''}`,
  };
}
