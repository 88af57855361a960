/**
 * A small, bounds-checked ELF reader for kernel modules (`.ko`), good for ELF32 and ELF64 in either
 * byte order. It reads the file header, the section header table, section data and the `.symtab`
 * symbol table — nothing else (no program headers, no relocations).
 *
 * Every offset and size taken from the file is checked against the file length before use, and every
 * table is bounded by the file size, so a hostile file can cost at most a linear pass over itself:
 * it raises `MODULE_INVALID` naming the offending offset, never a crash, an out-of-range read or a
 * huge allocation. Section data are views of the input (no copies).
 */
import { BpfCompileError, ErrorCode } from '../errors.js';

/** ELF file types (`e_type`). */
export const ElfType = {
  /** Relocatable object: a `.o` or a kernel module `.ko`. Symbol values are section offsets. */
  REL: 1,
  /** Executable (`vmlinux`). Symbol values are addresses. */
  EXEC: 2,
  /** Shared object / PIE. Symbol values are addresses. */
  DYN: 3,
} as const;

/** Section types (`sh_type`) the reader knows by name. */
export const SectionType = {
  NULL: 0,
  PROGBITS: 1,
  SYMTAB: 2,
  STRTAB: 3,
  /** Occupies no file space (`.bss`): its data view is empty. */
  NOBITS: 8,
  /** Extended section indices of `.symtab` entries whose `st_shndx` is `SHN_XINDEX`. */
  SYMTAB_SHNDX: 18,
} as const;

/** Special section indices (`st_shndx`). Values from `SHN_LORESERVE` (0xff00) up are not sections. */
export const SectionIndex = {
  /** Undefined symbol (an import). */
  UNDEF: 0,
  /** Start of the reserved range. */
  LORESERVE: 0xff00,
  /** Absolute value, not relative to a section. */
  ABS: 0xfff1,
  /** Common block. */
  COMMON: 0xfff2,
  /** The real index is in `.symtab_shndx`. */
  XINDEX: 0xffff,
} as const;

/** `SHF_COMPRESSED`: section data are zlib/zstd-compressed with an `Elf_Chdr` in front. */
export const SHF_COMPRESSED = 0x800;

/** One section header. Offsets and sizes are checked to fit in a JS number, not yet against the file. */
export interface ElfSection {
  /** Index in the section header table. */
  readonly index: number;
  /** Name from the section-name string table (`''` when the table is missing or the name is unreadable). */
  readonly name: string;
  /** `sh_type` (see {@link SectionType}). */
  readonly type: number;
  /** `sh_flags`. */
  readonly flags: bigint;
  /** `sh_addr`: load address (0 in relocatable files). */
  readonly addr: bigint;
  /** `sh_offset`: file offset of the data. */
  readonly offset: number;
  /** `sh_size`: data size in bytes. */
  readonly size: number;
  /** `sh_link` (for `.symtab`: the index of its string table). */
  readonly link: number;
  /** `sh_info`. */
  readonly info: number;
  /** `sh_entsize`: size of one entry for table sections. */
  readonly entsize: number;
}

/** One `.symtab` entry. */
export interface ElfSymbol {
  /** Index in the symbol table. */
  readonly index: number;
  /** Name from the linked string table. */
  readonly name: string;
  /** `st_value`: a section offset in relocatable files, an address otherwise. */
  readonly value: bigint;
  /** `st_size`. */
  readonly size: bigint;
  /** Symbol type (`st_info & 0xf`): 0 NOTYPE, 1 OBJECT, 2 FUNC, 3 SECTION, … */
  readonly type: number;
  /** Binding (`st_info >> 4`): 0 LOCAL, 1 GLOBAL, 2 WEAK. */
  readonly bind: number;
  /** Section index, with `SHN_XINDEX` already resolved through `.symtab_shndx`. */
  readonly shndx: number;
}

/** A parsed ELF file: its header fields and section headers; data stay in {@link ElfFile.data}. */
export interface ElfFile {
  /** The whole file. Section data are views into it. */
  readonly data: Uint8Array;
  /** 32 or 64. */
  readonly bits: 32 | 64;
  /** Byte order. */
  readonly littleEndian: boolean;
  /** `e_type` (see {@link ElfType}). */
  readonly type: number;
  /** `e_machine` (62 x86-64, 183 aarch64, 247 BPF, …). */
  readonly machine: number;
  /** Section headers, by index. Empty when the file has no section header table. */
  readonly sections: readonly ElfSection[];
}

const ELF_MAGIC = [0x7f, 0x45, 0x4c, 0x46] as const;
const ELFCLASS32 = 1;
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;
const ELFDATA2MSB = 2;

/** Geometry of the two ELF classes: header sizes and field offsets. */
const LAYOUT = {
  32: { ehdr: 52, shoff: 0x20, shentsize: 0x2e, shnum: 0x30, shstrndx: 0x32, shdr: 40, sym: 16 },
  64: { ehdr: 64, shoff: 0x28, shentsize: 0x3a, shnum: 0x3c, shstrndx: 0x3e, shdr: 64, sym: 24 },
} as const;

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder('utf-8');

/** A `MODULE_INVALID` error naming the offending file offset. */
function invalid(message: string, offset: number, details: Record<string, unknown> = {}): BpfCompileError {
  return new BpfCompileError(ErrorCode.MODULE_INVALID, `${message} (at offset ${offset})`, {
    hint: 'The file is not a well-formed ELF kernel module: it is truncated or corrupt. Re-install the kernel modules package, or point to another file.',
    details: { offset, ...details },
  });
}

/** True when `data` starts with the ELF magic `7F 45 4C 46`. */
export function isElf(data: Uint8Array): boolean {
  return data.length >= 4 && ELF_MAGIC.every((b, i) => data[i] === b);
}

/** Bounds-checked integer reads of one file, in its byte order and class. */
class Reader {
  private readonly view: DataView;

  constructor(
    readonly data: Uint8Array,
    readonly le: boolean,
    readonly bits: 32 | 64,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private check(at: number, width: number, what: string): void {
    if (!Number.isSafeInteger(at) || at < 0 || at + width > this.data.length) {
      throw invalid(`${what} lies outside the file (${this.data.length} bytes)`, at);
    }
  }

  u8(at: number, what: string): number {
    this.check(at, 1, what);
    return this.view.getUint8(at);
  }

  u16(at: number, what: string): number {
    this.check(at, 2, what);
    return this.view.getUint16(at, this.le);
  }

  u32(at: number, what: string): number {
    this.check(at, 4, what);
    return this.view.getUint32(at, this.le);
  }

  u64(at: number, what: string): bigint {
    this.check(at, 8, what);
    return this.view.getBigUint64(at, this.le);
  }

  /** A class-sized word (`Elf32_Word`/`Elf64_Xword`, addresses, offsets) as a bigint. */
  word(at: number, what: string): bigint {
    return this.bits === 64 ? this.u64(at, what) : BigInt(this.u32(at, what));
  }

  /** A class-sized word that must fit a JS number (file offsets, sizes). */
  num(at: number, what: string): number {
    const v = this.word(at, what);
    if (v > MAX_SAFE) throw invalid(`${what} ${v} is too large`, at);
    return Number(v);
  }
}

/** The NUL-terminated string at `off` of a string table, or undefined when out of range or unterminated. */
function stringAt(table: Uint8Array, off: number): string | undefined {
  if (off >= table.length) return undefined;
  const end = table.indexOf(0, off);
  if (end === -1) return undefined;
  return utf8.decode(table.subarray(off, end));
}

/**
 * Parse the ELF file header and section header table.
 *
 * @param data - The whole file (not copied; keep it unchanged while the result is in use).
 * @throws BpfCompileError `MODULE_INVALID` when the header is not ELF, the class or byte order is
 *   unknown, or the section header table does not fit in the file.
 */
export function parseElf(data: Uint8Array): ElfFile {
  if (!isElf(data)) throw invalid('not an ELF file: no \\x7fELF magic', 0);
  if (data.length < 16) throw invalid('truncated ELF identification', data.length);
  const cls = data[4];
  const enc = data[5];
  if (cls !== ELFCLASS32 && cls !== ELFCLASS64) throw invalid(`unknown ELF class ${String(cls)}`, 4);
  if (enc !== ELFDATA2LSB && enc !== ELFDATA2MSB) throw invalid(`unknown ELF data encoding ${String(enc)}`, 5);
  const bits = cls === ELFCLASS64 ? 64 : 32;
  const lay = LAYOUT[bits];
  if (data.length < lay.ehdr) throw invalid(`truncated ELF${bits} header (${data.length} of ${lay.ehdr} bytes)`, data.length);
  const r = new Reader(data, enc === ELFDATA2LSB, bits);
  const type = r.u16(0x10, 'e_type');
  const machine = r.u16(0x12, 'e_machine');
  const shoff = r.num(lay.shoff, 'e_shoff');
  const shentsize = r.u16(lay.shentsize, 'e_shentsize');
  let shnum = r.u16(lay.shnum, 'e_shnum');
  let shstrndx = r.u16(lay.shstrndx, 'e_shstrndx');
  const base = { data, bits, littleEndian: r.le, type, machine } as const;
  if (shoff === 0) return { ...base, sections: [] };
  if (shentsize < lay.shdr) throw invalid(`section header size ${shentsize} is smaller than ${lay.shdr}`, lay.shentsize);
  if (shoff + lay.shdr > data.length) throw invalid(`section header table lies outside the file (${data.length} bytes)`, shoff);
  // Extended numbering: with 0xff00+ sections the real count and string-table index live in section 0.
  if (shnum === 0) shnum = r.num(shoff + (bits === 64 ? 0x20 : 0x14), 'sh_size of section 0 (section count)');
  if (shstrndx === SectionIndex.XINDEX) shstrndx = r.u32(shoff + (bits === 64 ? 0x28 : 0x18), 'sh_link of section 0 (string table index)');
  // shnum * shentsize bytes must be in the file: this bounds the loop below by the file size.
  if (shnum > Math.floor((data.length - shoff) / shentsize)) {
    throw invalid(`section header table (${shnum} entries of ${shentsize} bytes) runs past the end of the file (${data.length} bytes)`, shoff, { shnum });
  }
  const raw: (Omit<ElfSection, 'name'> & { readonly nameOff: number })[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const w = bits === 64 ? 8 : 4;
    raw.push({
      index: i,
      nameOff: r.u32(at, `section ${i} sh_name`),
      type: r.u32(at + 4, `section ${i} sh_type`),
      flags: r.word(at + 8, `section ${i} sh_flags`),
      addr: r.word(at + 8 + w, `section ${i} sh_addr`),
      offset: r.num(at + 8 + 2 * w, `section ${i} sh_offset`),
      size: r.num(at + 8 + 3 * w, `section ${i} sh_size`),
      link: r.u32(at + 8 + 4 * w, `section ${i} sh_link`),
      info: r.u32(at + 12 + 4 * w, `section ${i} sh_info`),
      entsize: r.num(at + 16 + 5 * w, `section ${i} sh_entsize`),
    });
  }
  // Section names: tolerate a missing or broken name table (names become ''), as readelf does.
  let names: Uint8Array | undefined;
  const strHdr = shstrndx !== 0 ? raw[shstrndx] : undefined;
  if (strHdr !== undefined && strHdr.type !== SectionType.NOBITS && strHdr.offset + strHdr.size <= data.length) {
    names = data.subarray(strHdr.offset, strHdr.offset + strHdr.size);
  }
  const sections: ElfSection[] = raw.map(({ nameOff, ...s }) => ({
    ...s,
    name: names === undefined ? '' : (stringAt(names, nameOff) ?? ''),
  }));
  return { ...base, sections };
}

/**
 * The data of a section, as a view into the file (empty for `SHT_NOBITS`).
 *
 * @throws BpfCompileError `MODULE_INVALID` when the data lie outside the file.
 */
export function sectionData(elf: ElfFile, section: ElfSection): Uint8Array {
  if (section.type === SectionType.NOBITS) return elf.data.subarray(0, 0);
  const end = section.offset + section.size;
  if (end > elf.data.length) {
    throw invalid(`section ${section.index} (${section.name || 'unnamed'}) data of ${section.size} bytes run past the end of the file (${elf.data.length} bytes)`, section.offset, {
      section: section.name,
    });
  }
  return elf.data.subarray(section.offset, end);
}

/** The first section with this name, or undefined. */
export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/**
 * Read the `.symtab` symbol table (the `SHT_SYMTAB` section). Entry 0 (the null symbol) is included, as
 * in the file, so `symbols[i].index === i`.
 *
 * @throws BpfCompileError `MODULE_INVALID` when there is no symbol table (a stripped file), or it or its
 *   string table is malformed.
 */
export function readSymbols(elf: ElfFile): ElfSymbol[] {
  const symtab = elf.sections.find((s) => s.type === SectionType.SYMTAB);
  if (symtab === undefined) {
    throw new BpfCompileError(ErrorCode.MODULE_INVALID, 'the ELF file has no symbol table (.symtab)', {
      hint: 'The module was stripped of its symbols; use an unstripped kheaders.ko (as installed by the kernel package).',
      details: { offset: 0 },
    });
  }
  const lay = LAYOUT[elf.bits];
  if (symtab.entsize < lay.sym) throw invalid(`symbol table entry size ${symtab.entsize} is smaller than ${lay.sym}`, symtab.offset, { section: symtab.name });
  const table = sectionData(elf, symtab);
  const strSec = elf.sections[symtab.link];
  if (strSec === undefined || strSec.type !== SectionType.STRTAB) {
    throw invalid(`symbol table links to section ${symtab.link}, which is not a string table`, symtab.offset, { section: symtab.name });
  }
  const strings = sectionData(elf, strSec);
  const symIndex = symtab.index;
  const xSec = elf.sections.find((s) => s.type === SectionType.SYMTAB_SHNDX && s.link === symIndex);
  const xTable = xSec === undefined ? undefined : sectionData(elf, xSec);
  const r = new Reader(elf.data, elf.littleEndian, elf.bits);
  const count = Math.floor(table.length / symtab.entsize);
  const out: ElfSymbol[] = [];
  for (let i = 0; i < count; i++) {
    const at = symtab.offset + i * symtab.entsize;
    const nameOff = r.u32(at, `symbol ${i} st_name`);
    let value: bigint;
    let size: bigint;
    let info: number;
    let shndx: number;
    if (elf.bits === 64) {
      info = r.u8(at + 4, `symbol ${i} st_info`);
      shndx = r.u16(at + 6, `symbol ${i} st_shndx`);
      value = r.u64(at + 8, `symbol ${i} st_value`);
      size = r.u64(at + 16, `symbol ${i} st_size`);
    } else {
      value = BigInt(r.u32(at + 4, `symbol ${i} st_value`));
      size = BigInt(r.u32(at + 8, `symbol ${i} st_size`));
      info = r.u8(at + 12, `symbol ${i} st_info`);
      shndx = r.u16(at + 14, `symbol ${i} st_shndx`);
    }
    if (shndx === SectionIndex.XINDEX) {
      if (xSec === undefined || xTable === undefined || (i + 1) * 4 > xTable.length) {
        throw invalid(`symbol ${i} uses an extended section index but .symtab_shndx has no entry for it`, at);
      }
      shndx = r.u32(xSec.offset + i * 4, `symbol ${i} extended section index`);
    }
    const name = stringAt(strings, nameOff);
    if (name === undefined) throw invalid(`symbol ${i} name offset ${nameOff} is outside its string table (${strings.length} bytes)`, at);
    out.push({ index: i, name, value, size, type: info & 0xf, bind: info >> 4, shndx });
  }
  return out;
}
