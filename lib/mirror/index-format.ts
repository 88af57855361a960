/**
 * The `index.json` a mirror serves at its root (written by `bpf-compile pack`, read by the `fetch` source): which file
 * serves which release and arch, with its sha256 and size. Plain data, validated on read.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';

/** Format version of `index.json`. */
export const MIRROR_INDEX_VERSION = 1;

/** One artefact on a mirror. */
export interface MirrorIndexEntry {
  /** `kheaders`: a kheaders-layout `.tar.xz`; `btf`: raw `.btf` or a btfhub-style `.btf.tar.xz`. */
  readonly kind: 'kheaders' | 'btf';
  /** Kernel release (`uname -r`) it serves. */
  readonly release: string;
  /** Kernel SRCARCH (`x86`, `arm64`, …). */
  readonly arch: string;
  /** Path relative to the mirror root (no `..`, no leading `/`). */
  readonly file: string;
  /** sha256 of the file, lowercase hex. */
  readonly sha256: string;
  /** Size in bytes. */
  readonly size: number;
}

/** The whole index. */
export interface MirrorIndex {
  readonly version: number;
  readonly entries: readonly MirrorIndexEntry[];
}

/** Default file name `pack` gives a headers archive, and the fallback `fetch` tries without an index. */
export function defaultKheadersName(release: string, srcarch: string): string {
  return `kheaders-${release}-${srcarch}.tar.xz`;
}

function invalid(why: string): never {
  throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `malformed mirror index.json: ${why}`, {
    hint: 'regenerate it with `bpf-compile pack`, or fix the mirror',
  });
}

const SAFE_FILE = /^(?!\/)(?!.*(?:^|\/)\.\.(?:\/|$))[A-Za-z0-9._+\-/]{1,255}$/;

/** Parse and validate `index.json` text. @throws BpfCompileError on anything malformed. */
export function parseMirrorIndex(text: string): MirrorIndex {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    invalid(err instanceof Error ? err.message : String(err));
  }
  if (typeof data !== 'object' || data === null) invalid('not an object');
  const { version, entries } = data as { version?: unknown; entries?: unknown };
  if (version !== MIRROR_INDEX_VERSION) invalid(`unsupported version ${String(version)}`);
  if (!Array.isArray(entries)) invalid('no entries array');
  const out: MirrorIndexEntry[] = entries.map((e: unknown, i: number) => {
    if (typeof e !== 'object' || e === null) invalid(`entry ${i} is not an object`);
    const r = e as Record<string, unknown>;
    if (r['kind'] !== 'kheaders' && r['kind'] !== 'btf') invalid(`entry ${i}: bad kind`);
    for (const k of ['release', 'arch', 'file', 'sha256'] as const) if (typeof r[k] !== 'string' || r[k] === '') invalid(`entry ${i}: bad ${k}`);
    if (!/^[0-9a-f]{64}$/.test(r['sha256'] as string)) invalid(`entry ${i}: sha256 is not 64 hex digits`);
    if (!SAFE_FILE.test(r['file'] as string)) invalid(`entry ${i}: unsafe file name`);
    if (typeof r['size'] !== 'number' || !Number.isSafeInteger(r['size']) || (r['size'] as number) < 0) invalid(`entry ${i}: bad size`);
    return {
      kind: r['kind'] as 'kheaders' | 'btf',
      release: r['release'] as string,
      arch: r['arch'] as string,
      file: r['file'] as string,
      sha256: r['sha256'] as string,
      size: r['size'] as number,
    };
  });
  return { version: MIRROR_INDEX_VERSION, entries: out };
}

/** Serialise an index deterministically (entries sorted by kind, release, arch). */
export function formatMirrorIndex(index: MirrorIndex): string {
  const entries = [...index.entries].sort((a, b) => `${a.kind}\0${a.release}\0${a.arch}`.localeCompare(`${b.kind}\0${b.release}\0${b.arch}`));
  return `${JSON.stringify({ version: MIRROR_INDEX_VERSION, entries }, null, 2)}\n`;
}
