/**
 * `packBtf`: publish a kernel's BTF on a mirror, either raw (`<release>.btf`) or in the btfhub-archive layout
 * (`<release>.btf.tar.xz`: one regular file `<release>.btf`), reproducibly and atomically.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { hashFile } from '../cache/stat-index.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { writeAtomically } from './atomic.js';
import { defaultMtime, writeTarXz } from './tar-xz.js';
import type { XzEncoderChoice } from './xz-encoder.js';

/** Options of {@link packBtf}. */
export interface PackBtfOptions {
  /** Raw BTF (e.g. `/sys/kernel/btf/vmlinux`) or an ELF holding a `.BTF` section. */
  readonly btfFile: string;
  /** The kernel release it describes; names the archive member. */
  readonly release: string;
  /** `….btf.tar.xz` for the btfhub layout; any other name gets a raw copy. */
  readonly outFile: string;
  /** mtime of the archive member (seconds). Default: `SOURCE_DATE_EPOCH`, else 0. */
  readonly mtime?: number;
  /** xz back end for `.btf.tar.xz`. Default `auto`. */
  readonly encoder?: XzEncoderChoice;
}

/** What {@link packBtf} wrote. */
export interface PackBtfResult {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  readonly release: string;
  readonly format: 'raw' | 'tar.xz';
}

const RELEASE = /^[A-Za-z0-9._+-]{1,200}$/;

/** Whether `bytes` start like raw BTF (magic 0xeB9F, either endianness) or an ELF file. */
export function looksLikeBtf(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const raw = (bytes[0] === 0x9f && bytes[1] === 0xeb) || (bytes[0] === 0xeb && bytes[1] === 0x9f);
  const elf = bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c && bytes[3] === 0x46;
  return raw || elf;
}

/**
 * Copy or archive a BTF file for a mirror.
 * @throws BpfCompileError `USAGE` (bad release), `INPUT_UNREADABLE` (unreadable input, unwritable output), `BTF_INVALID`.
 */
export async function packBtf(options: PackBtfOptions): Promise<PackBtfResult> {
  const { release } = options;
  if (!RELEASE.test(release)) throw new BpfCompileError(ErrorCode.USAGE, `not a kernel release: ${JSON.stringify(release)}`);
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(options.btfFile);
  } catch (err) {
    throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot read ${options.btfFile}: ${err instanceof Error ? err.message : String(err)}`, {
      hint: 'the running kernel exposes its BTF at /sys/kernel/btf/vmlinux when built with CONFIG_DEBUG_INFO_BTF=y',
      cause: err,
    });
  }
  if (!looksLikeBtf(bytes)) {
    throw new BpfCompileError(ErrorCode.BTF_INVALID, `${options.btfFile} is neither raw BTF nor an ELF file`, {
      hint: 'pass raw BTF (/sys/kernel/btf/vmlinux) or a vmlinux with .BTF',
    });
  }
  const file = path.resolve(options.outFile);
  if (file.endsWith('.btf.tar.xz')) {
    const w = await writeTarXz(file, [{ type: 'file', name: `${release}.btf`, data: bytes }], {
      mtime: options.mtime ?? defaultMtime(),
      ...(options.encoder === undefined ? {} : { encoder: options.encoder }),
    });
    return { file, sha256: w.sha256, size: w.size, release, format: 'tar.xz' };
  }
  await writeAtomically(file, (tmp) => fs.writeFile(tmp, bytes, { mode: 0o644 }));
  return { file, sha256: hashFile(file), size: bytes.length, release, format: 'raw' };
}
