/**
 * Reading the CO-RE relocation records of a BPF object: the `.BTF.ext` section's `core_relo` subsection
 * (libbpf's `struct btf_ext_header`, `struct btf_ext_info_sec`, `struct bpf_core_relo`).
 *
 * Layout: a header (magic `0xEB9F`, version 1, flags, `hdr_len`, then offsets/lengths of func_info, line_info and —
 * when `hdr_len` ≥ 32 — core_relo, all relative to the header's end). The core_relo subsection is a `record_size`
 * word followed by, per ELF section, `sec_name_off`, `num_info` and `num_info` records of `record_size` bytes
 * whose first 16 are `insn_off`, `type_id`, `access_str_off`, `kind`. Every length is checked against the bytes
 * present; anything malformed is `BTF_INVALID` naming the offset.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';
import { RELO_KINDS } from './kinds.js';

/** One CO-RE relocation record. */
export interface CoreRelo {
  /** ELF section of the instruction (its name's offset is resolved to `section`). */
  readonly section: string;
  /** Index of the record in its section (libbpf's `relo #N`). */
  readonly index: number;
  /** Byte offset of the relocated instruction in its section. */
  readonly insnOff: number;
  /** Local (object BTF) type id the access starts from. */
  readonly typeId: number;
  /** String-table offset of the access string (`0:1:2`). */
  readonly accessStrOff: number;
  /** Relocation kind (`BPF_CORE_*`, see `kinds.ts`). */
  readonly kind: number;
}

const MAGIC = 0xeb9f;
const CORE_RELO_MIN = 16;
/** Header length up to and including `core_relo_len`. */
const HDR_WITH_CORE = 32;

function invalid(message: string, offset: number): BpfCompileError {
  return new BpfCompileError(ErrorCode.BTF_INVALID, `.BTF.ext: ${message}`, {
    hint: 'The object file is damaged or was not produced by clang -target bpf -g; rebuild it.',
    details: { offset },
  });
}

/**
 * The CO-RE relocations of a `.BTF.ext` section, in file order. `sectionName` resolves a `sec_name_off` against
 * the object's BTF string table (`undefined` when out of range).
 *
 * @throws BpfCompileError `BTF_INVALID` for a bad magic/version, lengths outside the section, an unknown kind.
 */
export function parseCoreRelos(ext: Uint8Array, sectionName: (off: number) => string | undefined): CoreRelo[] {
  if (ext.length < 8) throw invalid(`section too short (${ext.length} bytes)`, 0);
  const view = new DataView(ext.buffer, ext.byteOffset, ext.byteLength);
  let little: boolean;
  if (view.getUint16(0, true) === MAGIC) little = true;
  else if (view.getUint16(0, false) === MAGIC) little = false;
  else throw invalid(`bad magic 0x${view.getUint16(0, true).toString(16)}`, 0);
  if (view.getUint8(2) !== 1) throw invalid(`unsupported version ${view.getUint8(2)}`, 2);
  const hdrLen = view.getUint32(4, little);
  if (hdrLen < 24 || hdrLen > ext.length) throw invalid(`header length ${hdrLen} does not fit the section (${ext.length} bytes)`, 4);
  if (hdrLen < HDR_WITH_CORE) return [];
  const off = view.getUint32(24, little);
  const len = view.getUint32(28, little);
  if (len === 0) return [];
  const from = hdrLen + off;
  const to = from + len;
  if (to > ext.length || len < 4) throw invalid(`core_relo subsection [${from}, ${to}) lies outside the section`, 24);
  const recordSize = view.getUint32(from, little);
  if (recordSize < CORE_RELO_MIN || recordSize % 4 !== 0) throw invalid(`core_relo record size ${recordSize} is invalid`, from);
  const out: CoreRelo[] = [];
  let at = from + 4;
  while (at < to) {
    if (at + 8 > to) throw invalid('truncated core_relo section header', at);
    const nameOff = view.getUint32(at, little);
    const num = view.getUint32(at + 4, little);
    const section = sectionName(nameOff);
    if (section === undefined || section === '') throw invalid(`section name offset ${nameOff} is not in the BTF string table`, at);
    at += 8;
    if (num === 0 || num > (to - at) / recordSize) throw invalid(`section ${section}: ${num} records do not fit`, at - 4);
    for (let i = 0; i < num; i++, at += recordSize) {
      const kind = view.getUint32(at + 12, little);
      if (RELO_KINDS[kind] === undefined) throw invalid(`section ${section} record ${i}: unknown relocation kind ${kind}`, at + 12);
      out.push({
        section,
        index: i,
        insnOff: view.getUint32(at, little),
        typeId: view.getUint32(at + 4, little),
        accessStrOff: view.getUint32(at + 8, little),
        kind,
      });
    }
  }
  return out;
}
