/**
 * Finding the `.BTF` section in an ELF file (a `vmlinux`, a kernel module `.ko`, a `.bpf.o`): ELF32 or ELF64,
 * either byte order. Only the section header table and the section-name string table are read; every offset
 * is checked against the file size.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';

/** `\x7fELF`. */
export function isElf(data: Uint8Array): boolean {
  return data.length >= 4 && data[0] === 0x7f && data[1] === 0x45 && data[2] === 0x4c && data[3] === 0x46;
}

/** One section header, as far as we need it. */
export interface ElfSection {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
}

const SHT_NOBITS = 8;
const SHF_COMPRESSED = 0x800;
const SHN_XINDEX = 0xffff;
/** Upper bound on section count: a hostile header must not make us loop for long. */
const MAX_SECTIONS = 1 << 20;

function bad(message: string, details: Record<string, unknown>): BpfCompileError {
  return new BpfCompileError(ErrorCode.BTF_INVALID, message, {
    hint: 'The file is not a well-formed ELF object; check it is a vmlinux, a .ko or a .bpf.o.',
    details,
  });
}

/**
 * List the sections of an ELF file.
 *
 * @throws BpfCompileError `BTF_INVALID` when the ELF headers are malformed or point outside the file.
 */
export function elfSections(data: Uint8Array): ElfSection[] {
  if (!isElf(data) || data.length < 52) throw bad('not an ELF file', { offset: 0 });
  const cls = data[4];
  const enc = data[5];
  if (cls !== 1 && cls !== 2) throw bad(`unknown ELF class ${String(cls)}`, { offset: 4 });
  if (enc !== 1 && enc !== 2) throw bad(`unknown ELF data encoding ${String(enc)}`, { offset: 5 });
  const is64 = cls === 2;
  const le = enc === 1;
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const size = data.length;
  const u16 = (o: number): number => v.getUint16(o, le);
  const u32 = (o: number): number => v.getUint32(o, le);
  const word = (o: number): number => {
    if (!is64) return u32(o);
    const n = v.getBigUint64(o, le);
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
  };
  if (is64 && size < 64) throw bad('truncated ELF64 header', { offset: 0, size });
  const shoff = word(is64 ? 0x28 : 0x20);
  const shentsize = u16(is64 ? 0x3a : 0x2e);
  let shnum = u16(is64 ? 0x3c : 0x30);
  let shstrndx = u16(is64 ? 0x3e : 0x32);
  const minEnt = is64 ? 64 : 40;
  if (shoff === 0) throw bad('ELF file has no section header table', { offset: 0 });
  if (shentsize < minEnt) throw bad(`ELF section header size ${shentsize} too small`, { offset: is64 ? 0x3a : 0x2e });
  const header = (i: number): number => {
    const at = shoff + i * shentsize;
    if (at + minEnt > size) throw bad(`ELF section header ${i} lies outside the file`, { offset: at, size });
    return at;
  };
  // extended numbering: real counts live in section 0
  if (shnum === 0) shnum = word(header(0) + (is64 ? 32 : 20));
  if (shstrndx === SHN_XINDEX) shstrndx = u32(header(0) + (is64 ? 40 : 24));
  if (shnum > MAX_SECTIONS || shoff + shnum * shentsize > size) throw bad(`ELF section header table (${shnum} entries) lies outside the file`, { offset: shoff, shnum });
  const raw: { nameOff: number; type: number; flags: number; offset: number; size: number }[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = header(i);
    raw.push({
      nameOff: u32(at),
      type: u32(at + 4),
      flags: word(at + 8),
      offset: word(at + (is64 ? 24 : 16)),
      size: word(at + (is64 ? 32 : 20)),
    });
  }
  const strtab = raw[shstrndx];
  if (strtab === undefined) throw bad(`ELF section-name table index ${shstrndx} out of range`, { offset: is64 ? 0x3e : 0x32, shstrndx });
  if (strtab.offset + strtab.size > size) throw bad('ELF section-name table lies outside the file', { offset: strtab.offset });
  const names = data.subarray(strtab.offset, strtab.offset + strtab.size);
  const nameAt = (off: number): string => {
    if (off >= names.length) return '';
    let end = off;
    while (end < names.length && names[end] !== 0) end++;
    return Buffer.from(names.buffer, names.byteOffset + off, end - off).toString('latin1');
  };
  return raw.map((r) => ({ name: nameAt(r.nameOff), type: r.type, flags: r.flags, offset: r.offset, size: r.size }));
}

/**
 * The raw bytes of the `.BTF` section of an ELF file (a view, not a copy).
 *
 * @throws BpfCompileError `BTF_INVALID` when the ELF is malformed, has no `.BTF`, or it is compressed/empty.
 */
export function findBtfSection(data: Uint8Array): Uint8Array {
  const sec = elfSections(data).find((s) => s.name === '.BTF');
  if (sec === undefined) {
    throw new BpfCompileError(ErrorCode.BTF_INVALID, 'ELF file has no .BTF section', {
      hint: 'Build with BTF: `clang -g` for BPF objects, CONFIG_DEBUG_INFO_BTF=y for kernels.',
      details: { offset: 0 },
    });
  }
  if (sec.type === SHT_NOBITS) throw bad('.BTF section has no data (SHT_NOBITS)', { offset: sec.offset });
  if ((sec.flags & SHF_COMPRESSED) !== 0) throw bad('.BTF section is compressed, which is not supported', { offset: sec.offset });
  if (sec.offset + sec.size > data.length) throw bad('.BTF section lies outside the file', { offset: sec.offset, size: sec.size });
  return data.subarray(sec.offset, sec.offset + sec.size);
}
