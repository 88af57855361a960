/**
 * The kheaders archive inside `kheaders.ko` (`CONFIG_IKHEADERS=m`).
 *
 * `kernel/kheaders.c` embeds the archive with inline assembly (identical in 5.2 … 6.1 and later):
 *
 * ```c
 * asm (
 * "	.pushsection .rodata, \"a\"		\n"
 * "	.global kernel_headers_data		\n"
 * "kernel_headers_data:				\n"
 * "	.incbin \"kernel/kheaders_data.tar.xz\"	\n"
 * "	.global kernel_headers_data_end		\n"
 * "kernel_headers_data_end:			\n"
 * "	.popsection				\n"
 * );
 * ```
 *
 * so the archive is exactly the bytes between the two (size-less, `NOTYPE`) global symbols, both in the
 * module's `.rodata`. In a relocatable `.ko` a symbol's value is an offset into its section; in a linked
 * image (a `vmlinux` with `CONFIG_IKHEADERS=y`) it is an address, from which the section's `sh_addr` is
 * subtracted. The module's loader (`ikheaders_read`) serves these bytes verbatim as
 * `/sys/kernel/kheaders.tar.xz`, so what we return is byte-identical to that file.
 */
import fs from 'node:fs/promises';
import { BpfCompileError, ErrorCode, errnoCode } from '../errors.js';
import { decodeCompressed, decompressModuleFile, DEFAULT_MAX_MODULE_BYTES, detectModuleFormat, startsWith, XZ_MAGIC } from './decompress.js';
import type { DecompressModuleOptions } from './decompress.js';
import { ElfType, parseElf, readSymbols, SectionIndex, SectionType, SHF_COMPRESSED, isElf } from './elf.js';
import type { ElfFile, ElfSymbol } from './elf.js';

export { decompressModuleFile, detectModuleFormat, DEFAULT_MAX_MODULE_BYTES, XZ_MAGIC } from './decompress.js';
export type { DecompressModuleOptions, ModuleFileFormat } from './decompress.js';

/** Symbol at the first byte of the embedded archive. */
export const KHEADERS_START_SYMBOL = 'kernel_headers_data';
/** Symbol just past the last byte of the embedded archive. */
export const KHEADERS_END_SYMBOL = 'kernel_headers_data_end';

/** What {@link sniffKheadersFile} found. */
export type KheadersFileKind = 'archive' | 'module';

/** Where the archive sits in a module (for diagnostics). */
export interface KheadersLocation {
  /** Name of the section holding it (`.rodata`). */
  readonly section: string;
  /** File offset of its first byte. */
  readonly fileOffset: number;
  /** Its length in bytes. */
  readonly length: number;
}

function invalid(message: string, details: Record<string, unknown>, hint?: string): BpfCompileError {
  return new BpfCompileError(ErrorCode.MODULE_INVALID, message, {
    hint: hint ?? 'This is not an intact kheaders.ko (CONFIG_IKHEADERS=m). Re-install the kernel modules package, or use /sys/kernel/kheaders.tar.xz after `modprobe kheaders`.',
    details,
  });
}

/** The defined symbol called `name`, a global one first; undefined when there is none. */
function definedSymbol(symbols: readonly ElfSymbol[], name: string): ElfSymbol | undefined {
  const defined = symbols.filter((s) => s.name === name && s.shndx !== SectionIndex.UNDEF);
  return defined.find((s) => s.bind === 1) ?? defined[0];
}

/** Offset of a symbol inside its section: the value itself in relocatable files, value − sh_addr otherwise. */
function sectionOffset(elf: ElfFile, sym: ElfSymbol, addr: bigint): bigint {
  return elf.type === ElfType.REL ? sym.value : sym.value - addr;
}

/**
 * Find the embedded archive in a plain-ELF kheaders module, without copying it.
 *
 * @throws BpfCompileError `MODULE_INVALID` (see {@link extractKheadersFromModule}).
 */
export function locateKheadersInModule(data: Uint8Array): KheadersLocation {
  if (!isElf(data)) {
    const format = detectModuleFormat(data);
    throw invalid(
      format === 'unknown' ? 'not an ELF kernel module' : `the module is ${format}-compressed; decompress it first`,
      { offset: 0, format },
      format === 'unknown' ? undefined : 'Call decompressModuleFile() (or readKheadersFromModuleFile()) on compressed modules.',
    );
  }
  const elf = parseElf(data);
  const symbols = readSymbols(elf);
  const start = definedSymbol(symbols, KHEADERS_START_SYMBOL);
  const end = definedSymbol(symbols, KHEADERS_END_SYMBOL);
  if (start === undefined || end === undefined) {
    const missing = [start === undefined ? KHEADERS_START_SYMBOL : undefined, end === undefined ? KHEADERS_END_SYMBOL : undefined].filter((s) => s !== undefined);
    throw invalid(`the module defines no ${missing.join(' and no ')} symbol: it is not a kheaders module`, { offset: 0, missing });
  }
  if (start.shndx !== end.shndx) {
    throw invalid(`${KHEADERS_START_SYMBOL} and ${KHEADERS_END_SYMBOL} are in different sections (${start.shndx} and ${end.shndx})`, {
      offset: 0,
      startSection: start.shndx,
      endSection: end.shndx,
    });
  }
  const section = start.shndx >= SectionIndex.LORESERVE ? undefined : elf.sections[start.shndx];
  if (section === undefined) {
    throw invalid(`${KHEADERS_START_SYMBOL} refers to section index ${start.shndx}, which the file does not have`, { offset: 0, shndx: start.shndx });
  }
  if (section.type === SectionType.NOBITS || (section.flags & BigInt(SHF_COMPRESSED)) !== 0n) {
    throw invalid(`the section holding ${KHEADERS_START_SYMBOL} (${section.name}) has no plain file data`, { offset: section.offset, section: section.name });
  }
  const from = sectionOffset(elf, start, section.addr);
  const to = sectionOffset(elf, end, section.addr);
  if (from < 0n || to > BigInt(section.size) || to < from) {
    throw invalid(`the archive symbols give a bad range [${from}, ${to}) in section ${section.name || section.index} of ${section.size} bytes (at offset ${section.offset})`, {
      offset: section.offset,
      section: section.name,
      start: from.toString(),
      end: to.toString(),
      sectionSize: section.size,
    });
  }
  if (to === from) throw invalid('the embedded kheaders archive is empty', { offset: section.offset + Number(from), section: section.name });
  const fileOffset = section.offset + Number(from);
  const length = Number(to - from);
  if (fileOffset + length > data.length) {
    throw invalid(`section ${section.name || section.index} runs past the end of the file (at offset ${section.offset})`, { offset: section.offset, size: data.length });
  }
  return { section: section.name, fileOffset, length };
}

/**
 * Return the kheaders archive (`.tar.xz` bytes) embedded in a plain-ELF `kheaders.ko`: the bytes between
 * the symbols `kernel_headers_data` and `kernel_headers_data_end`. The result is a view of `data`, not
 * a copy.
 *
 * @param data - An uncompressed module (see {@link decompressModuleFile} for `.ko.xz`/`.ko.gz`).
 * @throws BpfCompileError `MODULE_INVALID` when the ELF is malformed, a symbol is missing, the symbols are
 *   in different sections or in the wrong order, or the bytes do not start with the xz magic.
 */
export function extractKheadersFromModule(data: Uint8Array): Uint8Array {
  const loc = locateKheadersInModule(data);
  const archive = data.subarray(loc.fileOffset, loc.fileOffset + loc.length);
  if (!startsWith(archive, XZ_MAGIC)) {
    const magic = Array.from(archive.subarray(0, 6), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw invalid(`the data at ${KHEADERS_START_SYMBOL} (file offset ${loc.fileOffset}) are not an xz stream (starts with ${magic})`, {
      offset: loc.fileOffset,
      magic,
    });
  }
  return archive;
}

/**
 * Decompress a module file if needed ({@link decompressModuleFile}) and extract its archive
 * ({@link extractKheadersFromModule}).
 */
export async function kheadersFromModuleContent(data: Uint8Array, options: DecompressModuleOptions = {}): Promise<Uint8Array> {
  return extractKheadersFromModule(await decompressModuleFile(data, options));
}

/**
 * Read a `kheaders.ko[.xz|.gz]` file and return its embedded archive.
 *
 * @throws BpfCompileError `INPUT_UNREADABLE` when the file cannot be read or is larger than `maxBytes`;
 *   `MODULE_INVALID` as {@link kheadersFromModuleContent}.
 */
export async function readKheadersFromModuleFile(file: string, options: DecompressModuleOptions = {}): Promise<Uint8Array> {
  const limit = options.maxBytes ?? DEFAULT_MAX_MODULE_BYTES;
  let data: Buffer;
  try {
    const handle = await fs.open(file, 'r');
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw Object.assign(new Error('not a regular file'), { code: 'EINVAL' });
      if (st.size > limit) {
        throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `${file} is ${st.size} bytes, more than a kernel module can be (${limit})`, {
          hint: 'Check the path points at kheaders.ko, or raise maxBytes.',
          details: { path: file, size: st.size, limit },
        });
      }
      data = await handle.readFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    if (err instanceof BpfCompileError) throw err;
    throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot read the module ${file}: ${err instanceof Error ? err.message : String(err)}`, {
      hint: 'Check the path and its permissions (kernel modules are readable by everyone on most distributions).',
      details: { path: file, errno: errnoCode(err) },
      cause: err,
    });
  }
  return kheadersFromModuleContent(data, options);
}

/**
 * Tell an explicit `--kheaders FILE` apart: the archive itself (`kheaders.tar.xz`) or a module holding
 * it (`kheaders.ko`, plain or xz/gzip/zstd-compressed). By content only: ELF, gzip and zstd are modules;
 * for xz content the first bytes are decoded, and an ELF header there means a `.ko.xz`. Any other xz
 * content is reported as `archive` (a corrupt one then fails in the archive reader with `ARCHIVE_CORRUPT`).
 *
 * @throws BpfCompileError `ARCHIVE_CORRUPT` when the content is neither xz, ELF, gzip nor zstd.
 */
export async function sniffKheadersFile(data: Uint8Array): Promise<KheadersFileKind> {
  const format = detectModuleFormat(data);
  switch (format) {
    case 'elf':
    case 'gzip':
    case 'zstd':
      return 'module';
    case 'xz': {
      let head: Uint8Array;
      try {
        // 64 bytes cover any ELF header; a 64 KiB budget bounds the work whatever the file.
        ({ data: head } = await decodeCompressed('xz', data, 64 * 1024, 64));
      } catch {
        return 'archive';
      }
      return isElf(head) ? 'module' : 'archive';
    }
    case 'unknown':
      throw new BpfCompileError(ErrorCode.ARCHIVE_CORRUPT, 'the file is neither a kheaders archive (.tar.xz) nor a kernel module (.ko, .ko.xz, .ko.gz)', {
        hint: 'Pass /sys/kernel/kheaders.tar.xz (or a copy of it), or a kheaders.ko module file.',
        details: { offset: 0, magic: Array.from(data.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ') },
      });
  }
}
