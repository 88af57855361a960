/**
 * A BPF object as CO-RE sees it: its own BTF (`.BTF`, the program's view of the kernel types) and its CO-RE
 * relocations (`.BTF.ext`). Read from an ELF file through the project's one bounds-checked ELF reader.
 */
import fs from 'node:fs/promises';
import { Btf } from '../btf/btf.js';
import { parseBtf } from '../btf/parse.js';
import { BpfCompileError, ErrorCode, errnoCode, isBpfCompileError } from '../errors.js';
import { findSection, isElf, parseElf, sectionData } from '../kmod/elf.js';
import { parseCoreRelos, type CoreRelo } from './ext.js';

/** `EM_BPF`. */
const EM_BPF = 247;

/** The CO-RE view of one BPF object. */
export interface BpfObjectRelos {
  /** Where it was read from (for messages). */
  readonly path: string;
  /** The object's BTF. */
  readonly btf: Btf;
  /** Its CO-RE relocations, in `.BTF.ext` order (empty for an object that relocates nothing). */
  readonly relos: readonly CoreRelo[];
}

function notBpf(file: string, why: string, hint: string, cause?: unknown): BpfCompileError {
  return new BpfCompileError(ErrorCode.BTF_INVALID, `${file}: ${why}`, { hint, details: { path: file }, cause });
}

/**
 * Read the BTF and CO-RE relocations of the BPF object in `data`.
 *
 * @throws BpfCompileError `BTF_INVALID` when it is not a BPF ELF object, has no `.BTF`, or either section is malformed.
 */
export function readBpfObject(data: Uint8Array, file: string): BpfObjectRelos {
  if (!isElf(data)) throw notBpf(file, 'not an ELF file', 'Give the .bpf.o objects clang produced (`bpf-compile compile … -o prog.bpf.o`).');
  let elf;
  try {
    elf = parseElf(data);
  } catch (err) {
    if (isBpfCompileError(err, ErrorCode.MODULE_INVALID)) throw notBpf(file, err.message, 'The object file is damaged; rebuild it.', err);
    throw err;
  }
  if (elf.machine !== EM_BPF) throw notBpf(file, `not a BPF object (ELF machine ${elf.machine})`, 'Give the .bpf.o objects clang produced with -target bpf.');
  const btfSec = findSection(elf, '.BTF');
  if (btfSec === undefined) throw notBpf(file, 'has no .BTF section', "Compile with -g (bpf-compile does): CO-RE needs the object's BTF.");
  let btf: Btf;
  try {
    btf = parseBtf(sectionData(elf, btfSec));
  } catch (err) {
    if (isBpfCompileError(err, ErrorCode.BTF_INVALID)) throw notBpf(file, `.BTF: ${err.message}`, 'The object file is damaged; rebuild it.', err);
    throw err;
  }
  const extSec = findSection(elf, '.BTF.ext');
  if (extSec === undefined) return { path: file, btf, relos: [] };
  const strings = btf.strings;
  let relos: CoreRelo[];
  try {
    relos = parseCoreRelos(sectionData(elf, extSec), (off) => (strings.has(off) ? strings.get(off) : undefined));
  } catch (err) {
    if (isBpfCompileError(err, ErrorCode.BTF_INVALID)) throw notBpf(file, err.message, 'The object file is damaged; rebuild it.', err);
    throw err;
  }
  return { path: file, btf, relos };
}

/** Read a BPF object file. @throws BpfCompileError `INPUT_UNREADABLE`, `BTF_INVALID`. */
export async function loadBpfObject(file: string): Promise<BpfObjectRelos> {
  return readBpfObject(await readObjectFile(file), file);
}

/** The bytes of an object file. @throws BpfCompileError `INPUT_UNREADABLE`. */
export async function readObjectFile(file: string): Promise<Buffer> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot read BPF object ${file}: ${(err as Error).message}`, {
      hint: 'Check the path; build the objects first (`bpf-compile build`).',
      details: { path: file, errno: errnoCode(err) },
      cause: err,
    });
  }
}
