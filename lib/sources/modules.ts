/**
 * The `modules` source: the installed tree `/lib/modules/<release>/{build,source}`.
 */
import path from 'node:path';
import { underRoot } from '../system/root.js';
import type { HeaderSource, SourceContext, SourceResult } from './types.js';
import { modulesTreeUnder } from './tree.js';

/**
 * The installed tree of the target release: `/lib/modules/<release>/build` and `/lib/modules/<release>/source`
 * (under `--root`), following symlinks. Distros split them (Debian: `build` → `linux-headers-<rel>` with the
 * generated headers, `source` → `linux-headers-<rel>-common` with the rest); either one alone serves as both.
 * Links are resolved against the root: Debian's absolute `build -> /usr/src/…` in a `--root DIR` means `DIR/usr/src/…`.
 */
export const modulesSource: HeaderSource = {
  name: 'modules',
  description: 'the installed tree /lib/modules/<release>/{build,source}',
  kind: 'kernel-tree',
  async find(ctx: SourceContext): Promise<SourceResult> {
    const checked = await modulesTreeUnder(ctx.target.root, ctx.target.release, ctx.target.arch);
    if (!checked.ok) return { found: false, reason: checked.reason };
    return { found: true, kind: 'kernel-tree', tree: checked.tree, detail: underRoot(ctx.target.root, path.posix.join('/lib/modules', ctx.target.release)) };
  },
};
