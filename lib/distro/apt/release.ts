/**
 * The signed `Release` of an apt suite (the verified text of `InRelease`, or `Release` checked against
 * `Release.gpg`): its validity window and the SHA256 of every index file (wiki.debian.org/DebianRepository/Format).
 */

/** One index file the Release vouches for. */
export interface ReleaseFile {
  /** Path relative to `dists/<suite>/` (`main/binary-amd64/Packages.xz`). */
  readonly path: string;
  readonly sha256: string;
  readonly size: number;
}

/** The fields of a Release file bpf-compile uses. */
export interface ReleaseInfo {
  readonly suite: string | undefined;
  readonly codename: string | undefined;
  /** `Date`, when parseable. */
  readonly date: Date | undefined;
  /** `Valid-Until`, when present and parseable. */
  readonly validUntil: Date | undefined;
  readonly architectures: readonly string[];
  readonly components: readonly string[];
  /** `Acquire-By-Hash: yes`: indexes can be fetched at `<dir>/by-hash/SHA256/<hex>`. */
  readonly acquireByHash: boolean;
  /** `No-Support-for-Architecture-all: Packages`: arch:all packages are listed in every `binary-<arch>/Packages`. */
  readonly allInArchIndexes: boolean;
  /** SHA256 entries by path. */
  readonly files: ReadonlyMap<string, ReleaseFile>;
}

/** Parse RFC 1123/2822 dates as apt writes them (`Sat, 11 Jul 2026 10:16:37 UTC`). */
function parseDate(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = new Date(v.replace(/\bUTC\b/, 'GMT'));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Parse Release text. Unknown fields are ignored; only SHA256 hashes are read (MD5/SHA1 are not trusted). */
export function parseRelease(text: string): ReleaseInfo {
  const fields = new Map<string, string>();
  const files = new Map<string, ReleaseFile>();
  let current: string | undefined;
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (/^\s/.test(line)) {
      if (current === 'sha256') {
        const m = /^\s+([0-9a-fA-F]{64})\s+(\d+)\s+(\S+)\s*$/.exec(line);
        if (m !== null) files.set(m[3] as string, { path: m[3] as string, sha256: (m[1] as string).toLowerCase(), size: Number(m[2]) });
      }
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    current = line.slice(0, colon).toLowerCase();
    fields.set(current, line.slice(colon + 1).trim());
  }
  const list = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
  return {
    suite: fields.get('suite'),
    codename: fields.get('codename'),
    date: parseDate(fields.get('date')),
    validUntil: parseDate(fields.get('valid-until')),
    architectures: list('architectures'),
    components: list('components'),
    acquireByHash: (fields.get('acquire-by-hash') ?? '').toLowerCase() === 'yes',
    allInArchIndexes: list('no-support-for-architecture-all').includes('Packages'),
    files,
  };
}

/** Compression suffixes of a `Packages` index bpf-compile reads, best first. */
export const PACKAGES_SUFFIXES = ['.xz', '.gz', ''] as const;

/**
 * The `Packages` index of `component`/`arch` the Release lists (the first of `.xz`, `.gz`, uncompressed), or
 * undefined. For a flat repository `component` is `''` and the index is `Packages*` at the top.
 */
export function packagesIndexOf(release: ReleaseInfo, component: string, arch: string): ReleaseFile | undefined {
  const dir = component === '' ? '' : `${component}/binary-${arch}/`;
  for (const suffix of PACKAGES_SUFFIXES) {
    const f = release.files.get(`${dir}Packages${suffix}`);
    if (f !== undefined) return f;
  }
  return undefined;
}
