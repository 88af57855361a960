/**
 * Safe, streaming extraction of kernel-headers archives (`kheaders.tar.xz`).
 * See `extract.ts` for the data flow and `policy.ts` / `tree-writer.ts` for the entry policy.
 */
export { extractArchive, extractInto, type ExtractOptions, type ExtractProgress, type ExtractResult } from './extract.js';
export { DEFAULT_LIMITS, resolveLimits, type ExtractLimits } from './limits.js';
export { findXz, type DecoderChoice } from './decoder.js';
export { parseUtsRelease, readUtsRelease, UTSRELEASE_H } from './release.js';
export type { ArchiveSource } from './source.js';
export { extractArchiveToCache, kheadersKey, EXTRACT_FORMAT_VERSION, KHEADERS_NAMESPACE, type ExtractToCacheOptions, type ExtractToCacheResult } from './cache.js';
