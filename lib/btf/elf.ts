/**
 * Finding the `.BTF` section in an ELF file (a `vmlinux`, a kernel module `.ko`, a `.bpf.o`): ELF32 or ELF64,
 * either byte order. The ELF itself is read by the one bounds-checked reader of the project (`kmod/elf.ts`); this
 * module only picks the section and turns malformed input into `BTF_INVALID`.
 */
import { BpfCompileError, ErrorCode, isBpfCompileError } from '../errors.js';
import { isElf as isElfFile, parseElf, SectionType, SHF_COMPRESSED, type ElfFile } from '../kmod/elf.js';

/** `\x7fELF`. */
export function isElf(data: Uint8Array): boolean {
  return isElfFile(data);
}

/** One section header, as far as BTF loading needs it. */
export interface ElfSection {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly size: number;
}

function bad(message: string, details: Record<string, unknown>, cause?: unknown): BpfCompileError {
  return new BpfCompileError(ErrorCode.BTF_INVALID, message, {
    hint: 'The file is not a well-formed ELF object; check it is a vmlinux, a .ko or a .bpf.o.',
    details,
    cause,
  });
}

function parse(data: Uint8Array): ElfFile {
  try {
    return parseElf(data);
  } catch (err) {
    if (isBpfCompileError(err, ErrorCode.MODULE_INVALID)) throw bad(err.message, { ...err.details }, err);
    throw err;
  }
}

/**
 * List the sections of an ELF file.
 *
 * @throws BpfCompileError `BTF_INVALID` when the ELF headers are malformed or point outside the file.
 */
export function elfSections(data: Uint8Array): ElfSection[] {
  return parse(data).sections.map((s) => ({ name: s.name, type: s.type, flags: Number(s.flags), offset: s.offset, size: s.size }));
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
  if (sec.type === SectionType.NOBITS) throw bad('.BTF section has no data (SHT_NOBITS)', { offset: sec.offset });
  if ((BigInt(sec.flags) & BigInt(SHF_COMPRESSED)) !== 0n) throw bad('.BTF section is compressed, which is not supported', { offset: sec.offset });
  if (sec.offset + sec.size > data.length) throw bad('.BTF section lies outside the file', { offset: sec.offset, size: sec.size });
  return data.subarray(sec.offset, sec.offset + sec.size);
}
