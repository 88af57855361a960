import path from 'node:path';
import { underRoot } from '../system/root.js';
import type { HeaderSource, SourceContext, SourceResult } from './types.js';
import { realDirUnderRoot, validateTreePair } from './tree.js';

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
    const dir = path.posix.join('/lib/modules', ctx.target.release);
    const base = underRoot(ctx.target.root, dir);
    const build = realDirUnderRoot(ctx.target.root, `${dir}/build`);
    const source = realDirUnderRoot(ctx.target.root, `${dir}/source`);
    const present = [source, build].flatMap((s) => (s.ok ? [s.dir] : []));
    if (present.length === 0) {
      return { found: false, reason: build.ok || source.ok ? 'unreachable' : `${build.reason}; ${source.reason}` };
    }
    const checked = await validateTreePair(present[0] as string, present[present.length - 1] as string, ctx.target.arch);
    if (!checked.ok) return { found: false, reason: checked.reason };
    return { found: true, kind: 'kernel-tree', tree: checked.tree, detail: base };
  },
};
