/**
 * The entry policy: which tar entries may be extracted, and their names normalised to
 * relative component lists. Pure functions, no I/O. Everything refused raises
 * `ARCHIVE_UNSAFE` naming the entry.
 *
 * Accepted: regular files (and `contiguous-file`, which GNU tar treats as regular), directories,
 * and relative symlinks (whether they resolve inside the tree is checked once the whole tree is
 * known, see `tree-writer.ts`). Refused: absolute names, `..` components, names with NUL,
 * over-long names or components, too-deep names, hard links, devices, fifos and unknown types.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';
import type { ExtractLimits } from './limits.js';

/** What to do with one tar entry. */
export type EntryAction =
  | { readonly kind: 'root' }
  | { readonly kind: 'dir'; readonly parts: readonly string[] }
  | { readonly kind: 'file'; readonly parts: readonly string[]; readonly size: number }
  | { readonly kind: 'symlink'; readonly parts: readonly string[]; readonly target: string };

/** The fields of a tar header the policy reads (as `TarParser` reports them, see `tar-parser.ts`). */
export interface EntryHeader {
  readonly name: string;
  readonly type: string | null;
  readonly size?: number;
  readonly linkname?: string | null;
}

/** The hint for a kheaders archive of links to the build machine's files instead of headers. */
export const KLEAF_SYMLINK_HINT =
  "This archive's headers are symlinks to absolute paths on the machine that built the kernel, not headers: the known " +
  'cause is an Android kernel built with Bazel/Kleaf whose kheaders.tar.xz was packed without dereferencing links ' +
  '(bcc #4503). Use a kernel build whose archive holds the files (rebuilt with the fix), or another source: the ' +
  "vendor's kernel tree (--kernel-source DIR), a `bpf-compile pack` archive made where the tree is, or CO-RE with the " +
  "kernel's BTF.";

/** Raise `ARCHIVE_UNSAFE` for `entry`. */
export function unsafe(entry: string, why: string, hint?: string): never {
  throw new BpfCompileError(ErrorCode.ARCHIVE_UNSAFE, `refusing archive entry ${JSON.stringify(entry)}: ${why}`, {
    hint: hint ?? 'The archive is not a plain kernel-headers archive; do not use it, or inspect it with `tar -tvf`.',
    details: { entry, reason: why },
  });
}

/** Whether `text` is longer than `max` UTF-8 bytes (one UTF-16 unit is at most 3 bytes: short text skips the count). */
function overBytes(text: string, max: number): boolean {
  return text.length * 3 > max && Buffer.byteLength(text) > max;
}

function checkPathText(entry: string, text: string, what: string, limits: ExtractLimits): void {
  if (text.includes('\0')) unsafe(entry, `${what} contains a NUL byte`);
  if (overBytes(text, limits.maxPathBytes)) {
    unsafe(entry, `${what} is longer than ${limits.maxPathBytes} bytes (limits.maxPathBytes)`);
  }
}

/**
 * Normalise an entry name (`./include/linux/a.h` → `['include','linux','a.h']`). `.` and empty
 * components are dropped; the archive's own `./` yields `[]`.
 */
export function normalizeEntryName(name: string, limits: ExtractLimits): string[] {
  checkPathText(name, name, 'name', limits);
  if (name.startsWith('/')) unsafe(name, 'absolute path');
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') unsafe(name, "'..' path component");
    if (overBytes(part, limits.maxComponentBytes)) {
      unsafe(name, `path component longer than ${limits.maxComponentBytes} bytes (limits.maxComponentBytes)`);
    }
    parts.push(part);
  }
  if (parts.length > limits.maxDepth) unsafe(name, `more than ${limits.maxDepth} path components (limits.maxDepth)`);
  return parts;
}

/**
 * Check a symlink target's text: relative, no NUL, not over-long, and lexically inside the tree
 * from the link's directory. (The exact check, following other links, runs on the finished tree.)
 */
export function checkSymlinkTarget(entry: string, linkParts: readonly string[], target: string, limits: ExtractLimits): void {
  if (target === '') unsafe(entry, 'symlink with an empty target');
  checkPathText(entry, target, 'symlink target', limits);
  if (target.startsWith('/')) {
    // every header a link to a path on the machine that built the kernel: Android 6.1 kernels built with Bazel/Kleaf
    // shipped such a kheaders.tar.xz (bcc #4503); it holds no headers at all
    const header = /\.h$/.test(entry) && /(^|\/)(include|arch)\//.test(entry);
    unsafe(entry, `absolute symlink target ${JSON.stringify(target)}`, header ? KLEAF_SYMLINK_HINT : undefined);
  }
  let depth = linkParts.length - 1;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') depth--;
    else depth++;
    if (depth < 0) unsafe(entry, `symlink target ${JSON.stringify(target)} points outside the tree`);
  }
}

/** Decide what to do with one entry, or raise `ARCHIVE_UNSAFE`. */
export function classifyEntry(header: EntryHeader, limits: ExtractLimits): EntryAction {
  const name = header.name;
  switch (header.type) {
    case 'directory': {
      const parts = normalizeEntryName(name, limits);
      return parts.length === 0 ? { kind: 'root' } : { kind: 'dir', parts };
    }
    case 'file':
    case 'contiguous-file': {
      const parts = normalizeEntryName(name, limits);
      if (parts.length === 0) unsafe(name, 'a regular file named like the archive root');
      const size = header.size ?? 0;
      if (!Number.isSafeInteger(size) || size < 0) unsafe(name, `invalid size ${String(size)}`);
      return { kind: 'file', parts, size };
    }
    case 'symlink': {
      const parts = normalizeEntryName(name, limits);
      if (parts.length === 0) unsafe(name, 'a symlink named like the archive root');
      const target = header.linkname ?? '';
      checkSymlinkTarget(name, parts, target, limits);
      return { kind: 'symlink', parts, target };
    }
    case 'link':
      return unsafe(name, `hard link (to ${JSON.stringify(header.linkname ?? '')})`);
    case 'character-device':
    case 'block-device':
      return unsafe(name, 'device node');
    case 'fifo':
      return unsafe(name, 'fifo');
    default:
      return unsafe(name, `unsupported entry type ${JSON.stringify(header.type)}`);
  }
}

/**
 * The policy for a distribution package's payload (a `.deb`'s `data.tar`, an rpm's cpio): what is outside the kept
 * directories (`usr/share/doc`, …) is skipped unread; absolute symlink targets are re-rooted — rewritten relative to
 * the link, as if the package set were the root file system — and then checked like any other link. Names, hard links,
 * devices and fifos are judged exactly as for a kheaders archive.
 */
export interface PackagePolicy {
  /** Directory prefixes to keep, as component lists (`['usr', 'src']`). */
  readonly keep: readonly (readonly string[])[];
  /**
   * Keep only this SRCARCH's `arch/<a>/` directory in the trees directly under these prefixes (Debian's `-common`
   * ships all 13 arches: 22 of its 73 MB, 3,500 of its 9,400 files, of which the target needs one).
   */
  readonly onlyArch?: { readonly under: readonly (readonly string[])[]; readonly srcarch: string };
}

/** What to do with one package entry: like {@link classifyEntry}, plus `skip` for entries outside the kept dirs. */
export type PackageEntryAction = EntryAction | { readonly kind: 'skip' };

function under(parts: readonly string[], prefix: readonly string[]): boolean {
  if (parts.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (parts[i] !== prefix[i]) return false;
  return true;
}

/** Rewrite an absolute link target relative to the link's directory (`lib/modules/R/build` → `/usr/src/x` gives `../../../usr/src/x`). */
export function rerootSymlinkTarget(linkParts: readonly string[], target: string): string {
  const up = linkParts.length - 1;
  const rest = target.split('/').filter((p) => p !== '' && p !== '.');
  const rel = [...Array<string>(up).fill('..'), ...rest].join('/');
  return rel === '' ? '.' : rel;
}

/** Decide what to do with one package entry, or raise `ARCHIVE_UNSAFE`. */
export function classifyPackageEntry(header: EntryHeader, limits: ExtractLimits, policy: PackagePolicy): PackageEntryAction {
  const parts = normalizeEntryName(header.name, limits);
  if (parts.length === 0) return header.type === 'directory' ? { kind: 'root' } : classifyEntry(header, limits);
  if (!policy.keep.some((k) => under(parts, k))) return { kind: 'skip' };
  const only = policy.onlyArch;
  if (only !== undefined) {
    for (const u of only.under) {
      // <prefix>/<tree>/arch/<a>/…
      if (parts.length > u.length + 2 && parts[u.length + 1] === 'arch' && parts[u.length + 2] !== only.srcarch && under(parts, u)) return { kind: 'skip' };
    }
  }
  if (header.type === 'symlink' && (header.linkname ?? '').startsWith('/')) {
    checkPathText(header.name, header.linkname ?? '', 'symlink target', limits);
    return classifyEntry({ ...header, linkname: rerootSymlinkTarget(parts, header.linkname ?? '') }, limits);
  }
  return classifyEntry(header, limits);
}
