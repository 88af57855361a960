/**
 * BTF archives in the btfhub-archive layout: `<release>.btf.tar.xz`, an xz-compressed tar holding exactly one
 * regular file `<release>.btf` (raw BTF or an ELF with a `.BTF` section).
 *
 * Extraction reuses the audited streaming extractor (`archive/extract.ts`: path, link, device and size policy)
 * into a private `0700` temp directory, then checks the shape (one regular `*.btf` file, nothing else but the
 * archive's own `./` entry), reads the file and removes the directory. Nothing is parsed here.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { extractInto } from '../archive/extract.js';
import type { ExtractLimits } from '../archive/limits.js';
import { BpfCompileError, ErrorCode } from '../errors.js';

/** File-name suffix of btfhub BTF archives. */
export const BTF_ARCHIVE_SUFFIX = '.btf.tar.xz';

/** Whether `file` is named like a btfhub BTF archive (`*.btf.tar.xz`). */
export function isBtfArchivePath(file: string): boolean {
  return file.endsWith(BTF_ARCHIVE_SUFFIX);
}

/** Options of {@link extractBtfFromArchive}. */
export interface ExtractBtfOptions {
  /** Extraction caps (see `ExtractLimits`); defaults suit a vmlinux BTF (a few MiB). */
  readonly limits?: Partial<ExtractLimits>;
  /** Directory under which the private temp directory is made. Default `os.tmpdir()`. */
  readonly tmpParent?: string;
  /** Abort the extraction. */
  readonly signal?: AbortSignal;
}

/** The BTF file found in an archive. */
export interface ExtractedBtf {
  /** The BTF file's bytes (raw BTF or ELF; not validated here). */
  readonly bytes: Uint8Array;
  /** Its name inside the archive (`5.4.0-1010-aws.btf`). */
  readonly name: string;
  /** The release the file is named after (`5.4.0-1010-aws`). */
  readonly release: string;
  /** sha256 (hex) of the compressed archive bytes that were read. */
  readonly archiveSha256: string;
}

function badLayout(label: string, why: string, details: Readonly<Record<string, unknown>> = {}): BpfCompileError {
  return new BpfCompileError(ErrorCode.ARCHIVE_UNSAFE, `refusing BTF archive ${label}: ${why}`, {
    hint: 'A btfhub BTF archive holds exactly one regular file named <release>.btf. Inspect it with `tar -tvJf`.',
    details: { archive: label, reason: why, ...details },
  });
}

/**
 * Extract the single `<release>.btf` file of a btfhub-style `.btf.tar.xz` archive.
 *
 * @param archive - Path of the archive, or its bytes.
 * @param options - Limits, temp location, abort signal.
 * @returns The BTF file's bytes and name, and the archive's sha256.
 * @throws BpfCompileError `ARCHIVE_UNSAFE` (unsafe entries, or anything but one regular `*.btf` file: a second
 *   file, a directory, a symlink, a file with another name), `ARCHIVE_CORRUPT` (not an xz tar, empty, truncated),
 *   `ARCHIVE_TOO_LARGE`, `INPUT_UNREADABLE`.
 */
export async function extractBtfFromArchive(archive: string | Uint8Array, options: ExtractBtfOptions = {}): Promise<ExtractedBtf> {
  const label = typeof archive === 'string' ? archive : '<buffer>';
  const work = fs.mkdtempSync(path.join(options.tmpParent ?? os.tmpdir(), 'bpfc-btf-'));
  try {
    fs.chmodSync(work, 0o700);
    const into = path.join(work, 'x');
    fs.mkdirSync(into, { mode: 0o700 });
    const r = await extractInto(archive, into, {
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (r.symlinks > 0) throw badLayout(label, `it holds ${r.symlinks} symlink(s)`, { symlinks: r.symlinks });
    if (r.dirs > 0) throw badLayout(label, `it holds ${r.dirs} director${r.dirs === 1 ? 'y' : 'ies'}`, { dirs: r.dirs });
    if (r.files !== 1) throw badLayout(label, `it holds ${r.files} files, not one`, { files: r.files });
    const names = fs.readdirSync(into);
    const name = names[0];
    if (names.length !== 1 || name === undefined) throw badLayout(label, 'unexpected extracted tree', { names });
    const file = path.join(into, name);
    const st = fs.lstatSync(file);
    if (!st.isFile()) throw badLayout(label, `${JSON.stringify(name)} is not a regular file`, { entry: name });
    if (!name.endsWith('.btf') || name === '.btf') {
      throw badLayout(label, `its only file ${JSON.stringify(name)} is not named <release>.btf`, { entry: name });
    }
    const bytes = fs.readFileSync(file);
    return { bytes, name, release: name.slice(0, -'.btf'.length), archiveSha256: r.sha256 };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
