/**
 * Caps applied while extracting an archive. Exceeding a size or count cap raises
 * `ARCHIVE_TOO_LARGE`; a name over a length cap raises `ARCHIVE_UNSAFE`.
 */
export interface ExtractLimits {
  /** Most decoded (tar) bytes accepted, headers and padding included. Default 512 MiB. */
  readonly maxBytes: number;
  /** Most compressed bytes accepted from a stream source that must be spooled. Default 256 MiB. */
  readonly maxCompressedBytes: number;
  /** Most tar entries accepted. Default 100,000. */
  readonly maxEntries: number;
  /** Longest entry name or symlink target, in UTF-8 bytes. Default 1,024 (the kernel archive's longest is < 100). */
  readonly maxPathBytes: number;
  /** Longest single path component, in UTF-8 bytes. Default 255 (Linux NAME_MAX). */
  readonly maxComponentBytes: number;
  /** Most path components in a name. Default 64. */
  readonly maxDepth: number;
  /** Most symlinks followed while checking where a symlink resolves. Default 40 (as Linux). */
  readonly maxSymlinkHops: number;
  /** Memory limit handed to the xz decoder, in bytes. Default 256 MiB. */
  readonly decoderMemlimit: number;
}

/** Documented defaults of {@link ExtractLimits}. */
export const DEFAULT_LIMITS: ExtractLimits = Object.freeze({
  maxBytes: 512 * 1024 * 1024,
  maxCompressedBytes: 256 * 1024 * 1024,
  maxEntries: 100_000,
  maxPathBytes: 1024,
  maxComponentBytes: 255,
  maxDepth: 64,
  maxSymlinkHops: 40,
  decoderMemlimit: 256 * 1024 * 1024,
});

/** Defaults overlaid with the caller's partial limits. */
export function resolveLimits(partial: Partial<ExtractLimits> = {}): ExtractLimits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [k, v] of Object.entries(partial)) {
    if (v === undefined) continue;
    if (typeof v !== 'number' || !(v > 0)) throw new TypeError(`limits.${k} must be a positive number`);
    out[k] = v;
  }
  return out as unknown as ExtractLimits;
}
