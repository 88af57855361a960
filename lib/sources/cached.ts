/**
 * The `cached` source: headers fetched before, found again with no network (implementation in `cached-lookup.ts`).
 */
import type { HeaderSource, SourceContext, SourceResult } from './types.js';

/**
 * Headers fetched before — a mirror's archive (`fetch`) or distro packages (`distro`) — found again for the same
 * release and arch with no network and no mirror named: only complete entries with a valid manifest, newest first.
 * A distro set is taken only for its arch, and, when `/proc` gives the running kernel's package version, only when
 * it is that build. Skipped when a sha256 is pinned (then exactly that archive is wanted: `fetch` finds it).
 * The lookup (`cached-lookup.ts`) loads on first use.
 */
export const cachedSource: HeaderSource = {
  name: 'cached',
  description: 'headers fetched earlier (from a mirror or distro repositories) for this release and arch, straight from the cache',
  kind: 'kernel-tree',
  async find(ctx: SourceContext): Promise<SourceResult> {
    if (ctx.pinnedSha256 !== undefined) return { found: false, reason: 'a sha256 is pinned (--sha256): the fetch source looks that archive up' };
    return (await import('./cached-lookup.js')).findCachedHeaders(ctx);
  },
};
