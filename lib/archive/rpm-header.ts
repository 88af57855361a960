/**
 * RPM v4 header structures (rpm's `format_v4.md`, `tags.md`): a header is the magic `8E AD E8 01`, four reserved
 * bytes, the big-endian entry count and data size, then 16-byte index entries (tag, type, offset, count) and the data
 * store. A package is a 96-byte lead (`ED AB EE DB`), the signature header (padded to 8 bytes), the main header, and
 * the compressed payload. Pure functions over bytes; anything malformed is `ARCHIVE_CORRUPT`.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';

/** The lead's size and magic. */
export const RPM_LEAD_SIZE = 96;
export const RPM_LEAD_MAGIC = 0xedabeedb;
/** A header's magic (3 bytes) and version byte. */
const HEADER_MAGIC = [0x8e, 0xad, 0xe8, 0x01] as const;
/** Bytes before a header's index entries. */
export const HEADER_INTRO = 16;

/** Tags read here, signature header (`RPMSIGTAG_*`) and main header (`RPMTAG_*`). */
export const SIG_TAG = {
  /** OpenPGP signature (DSA / EdDSA / ECDSA …) of the main header. */
  DSA: 267,
  /** OpenPGP signature (RSA, and what newer rpmsign writes for every algorithm) of the main header. */
  RSA: 268,
  /** sha256 (hex) of the main header. */
  SHA256: 273,
  /** Legacy OpenPGP signatures of main header + payload. */
  PGP: 1002,
  GPG: 1005,
} as const;

export const TAG = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  ARCH: 1022,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  /** Digests (hex) of the compressed payload. */
  PAYLOADDIGEST: 5092,
  /** Their algorithm (rpm's PGPHASHALGO: 8 = sha256, 10 = sha512). */
  PAYLOADDIGESTALGO: 5093,
} as const;

/** Hash algorithms of `PAYLOADDIGESTALGO`, as node names. */
export const PAYLOAD_DIGEST_ALGOS: ReadonlyMap<number, string> = new Map([
  [8, 'sha256'],
  [9, 'sha384'],
  [10, 'sha512'],
]);

/** One tag's value. */
export type TagValue = number[] | string | string[] | Uint8Array;

/** A parsed header: its tags, and its bytes as stored (what header signatures sign). */
export interface RpmHeader {
  readonly tags: ReadonlyMap<number, TagValue>;
  readonly bytes: Uint8Array;
}

/** `ARCHIVE_CORRUPT` for a malformed package. */
export function corruptRpm(why: string, offset?: number): BpfCompileError {
  return new BpfCompileError(ErrorCode.ARCHIVE_CORRUPT, `not a valid RPM package: ${why}${offset === undefined ? '' : ` (at byte ${offset})`}`, {
    hint: 'The package is truncated, corrupt or not an RPM; download it again, or inspect it with `rpm -qpi`.',
    ...(offset === undefined ? {} : { details: { offset } }),
  });
}

/** Check a header's intro at `b[0..16)`; returns its total size (intro + index + store). */
export function headerSize(b: Uint8Array, offset: number, max: number): number {
  for (let i = 0; i < 4; i++) if (b[i] !== HEADER_MAGIC[i]) throw corruptRpm('bad header magic', offset);
  const v = new DataView(b.buffer, b.byteOffset, HEADER_INTRO);
  const count = v.getUint32(8);
  const store = v.getUint32(12);
  const size = HEADER_INTRO + count * 16 + store;
  if (count === 0 || count > 100_000 || size > max) throw corruptRpm(`header of ${count} entries and ${store} bytes is out of range (at most ${max} bytes)`, offset);
  return size;
}

function cstring(store: Uint8Array, at: number, what: string): [string, number] {
  const end = store.indexOf(0, at);
  if (end < 0) throw corruptRpm(`${what}: string runs past the header`);
  return [Buffer.from(store.buffer, store.byteOffset + at, end - at).toString('utf8'), end + 1];
}

/**
 * Parse a header (`bytes` = intro + index + store). With `only`, just those tags are decoded (a kernel-devel main
 * header holds ~20k file names nobody here reads); the index and every offset are still checked.
 */
export function parseHeader(bytes: Uint8Array, only?: ReadonlySet<number>): RpmHeader {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const count = v.getUint32(8);
  const storeAt = HEADER_INTRO + count * 16;
  const store = bytes.subarray(storeAt);
  const tags = new Map<number, TagValue>();
  for (let i = 0; i < count; i++) {
    const e = HEADER_INTRO + i * 16;
    const tag = v.getUint32(e);
    const type = v.getUint32(e + 4);
    const off = v.getInt32(e + 8);
    const n = v.getUint32(e + 12);
    const what = `tag ${tag}`;
    if (off < 0 || off > store.byteLength) throw corruptRpm(`${what}: offset ${off} outside the header`);
    if (only !== undefined && !only.has(tag)) continue;
    switch (type) {
      case 2: // INT8
      case 3: // INT16
      case 4: {
        // INT32
        const w = type === 2 ? 1 : type === 3 ? 2 : 4;
        if (off + n * w > store.byteLength) throw corruptRpm(`${what}: runs past the header`);
        const sv = new DataView(store.buffer, store.byteOffset + off, n * w);
        const out: number[] = [];
        for (let k = 0; k < n; k++) out.push(w === 1 ? sv.getUint8(k) : w === 2 ? sv.getUint16(k * 2) : sv.getUint32(k * 4));
        tags.set(tag, out);
        break;
      }
      case 6: // STRING
        tags.set(tag, cstring(store, off, what)[0]);
        break;
      case 8: // STRING_ARRAY
      case 9: {
        // I18NSTRING
        const out: string[] = [];
        let at = off;
        for (let k = 0; k < n; k++) {
          const [s, next] = cstring(store, at, what);
          out.push(s);
          at = next;
        }
        tags.set(tag, type === 9 ? (out[0] ?? '') : out);
        break;
      }
      case 7: // BIN
        if (off + n > store.byteLength) throw corruptRpm(`${what}: runs past the header`);
        tags.set(tag, store.subarray(off, off + n));
        break;
      default:
        break; // CHAR, INT64, NULL: not read here
    }
  }
  return { tags, bytes };
}

/** A string tag, or undefined. */
export function stringTag(h: RpmHeader, tag: number): string | undefined {
  const v = h.tags.get(tag);
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && typeof v[0] === 'string') return v[0];
  return undefined;
}

/** A binary tag, or undefined. */
export function binTag(h: RpmHeader, tag: number): Uint8Array | undefined {
  const v = h.tags.get(tag);
  return v instanceof Uint8Array ? v : undefined;
}

/** An integer tag's first value, or undefined. */
export function intTag(h: RpmHeader, tag: number): number | undefined {
  const v = h.tags.get(tag);
  return Array.isArray(v) && typeof v[0] === 'number' ? v[0] : undefined;
}
