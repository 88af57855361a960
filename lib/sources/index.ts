/**
 * The header source registry: every source in priority order. A new source is one module and one line here.
 */
import type { HeaderSource } from './types.js';
import { overrideSource } from './override.js';
import { modulesSource } from './modules.js';
import { kheadersSource } from './kheaders.js';
import { btfSource } from './btf.js';
import { fetchSource } from './fetch.js';
import { cachedSource } from './cached.js';
import { distroSource } from './distro.js';

export type { HeaderKind, HeaderSource, KernelTree, SourceContext, SourceProgress, SourceResult, VmlinuxHeader } from './types.js';

/** Header sources in priority order. A new source is one module and one line here. */
export const HEADER_SOURCES: readonly HeaderSource[] = [overrideSource, modulesSource, kheadersSource, cachedSource, fetchSource, distroSource, btfSource];

/** Names accepted by `--source` / option `sources`. */
export function sourceNames(): string[] {
  return HEADER_SOURCES.map((s) => s.name);
}
