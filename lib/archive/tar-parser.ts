/**
 * A small push parser for tar streams, purpose-built for extraction: decoded bytes go in with
 * {@link TarParser.push} in chunks of any size; every entry comes out once through a callback
 * with the fields the policy reads (name, type, size, link name); its data goes to the sink the
 * callback returns as plain `Uint8Array` slices, with no per-entry stream objects (a file of at
 * most {@link WHOLE_FILE_MAX} bytes arrives in a single write, however the input was chunked).
 *
 * Formats: ustar (with the `prefix` field), GNU (`L`/`K` long names and link names) and pax
 * (`x` per-entry and `g` global headers; `path`, `linkpath` and `size` are applied, other keys
 * are ignored; an entry carrying `GNU.sparse.*` keys is reported as type `gnu-sparse`). Sizes
 * may be octal or base-256.
 *
 * It is strict: every malformed or ambiguous input raises `ARCHIVE_CORRUPT` naming the byte
 * offset, never a best guess — a bad header checksum, an unknown format (no ustar/GNU magic),
 * a malformed or negative or unsafe-integer size, a malformed pax record, an extended header
 * over {@link MAX_META_BYTES} (global pax headers: in all) or not followed by an entry, two
 * extended headers of one kind for one entry, input that ends before the end-of-archive marker
 * (two zero blocks), a lone zero block followed by data, and anything but zeros after the marker
 * (GNU tar would ignore it, other readers would extract it).
 *
 * Memory is bounded whatever the input: a header block, one extended header, the global pax
 * records and one small file's data ({@link WHOLE_FILE_MAX}) at most.
 */
import { BpfCompileError, ErrorCode } from '../errors.js';

/** One tar entry, with GNU long names and pax records applied. */
export interface TarEntry {
  /** Entry name as stored (not normalised). */
  readonly name: string;
  /**
   * `file`, `directory`, `symlink`, `link`, `character-device`, `block-device`, `fifo`,
   * `contiguous-file`, `gnu-sparse`, or the raw typeflag character of any other type.
   */
  readonly type: string;
  /** Data bytes following the header. */
  readonly size: number;
  /** Link target (symlinks and hard links), or null when the header has none. */
  readonly linkname: string | null;
}

/** Where an entry's data goes. */
export interface EntrySink {
  /** Append bytes. They are a view of the parser's input or of a buffer it reuses: copy them to keep them. */
  write(bytes: Uint8Array): void;
  /** All of the entry's data was written (also called for an empty entry). */
  close(): void;
}

/**
 * Called once per entry, before its data; may throw to stop. Returns where the data goes; may
 * return undefined only for an entry without data (a directory or symlink carrying data is
 * refused, `ARCHIVE_CORRUPT`: tar-stream skipped such data, GNU tar never writes it).
 */
export type TarEntryHandler = (entry: TarEntry) => EntrySink | undefined;

/** Largest pax or GNU long-name header accepted (tar-stream allows 4 MiB; real ones are < 1 KiB). */
export const MAX_META_BYTES = 1024 * 1024;
/** Files up to this size reach their sink in one write, copied together when split across input chunks. */
export const WHOLE_FILE_MAX = 1024 * 1024;

const BLOCK = 512;

// Parser states.
const HEADER = 0;
const DATA = 1;
const META = 2;
const PAD = 3;
const END = 4;
const DEAD = 5;

// Typeflags of the headers that describe the next entry.
const PAX = 0x78; // 'x'
const PAX_GLOBAL = 0x67; // 'g'
const GNU_LONG_NAME = 0x4c; // 'L'
const GNU_LONG_LINK = 0x4b; // 'K'

const TYPES: ReadonlyMap<number, string> = new Map([
  [0, 'file'],
  [0x30, 'file'],
  [0x31, 'link'],
  [0x32, 'symlink'],
  [0x33, 'character-device'],
  [0x34, 'block-device'],
  [0x35, 'directory'],
  [0x36, 'fifo'],
  [0x37, 'contiguous-file'],
  [0x53, 'gnu-sparse'],
]);

/** `ARCHIVE_CORRUPT` for a malformed archive. */
export function corruptArchive(message: string): BpfCompileError {
  return new BpfCompileError(ErrorCode.ARCHIVE_CORRUPT, message, {
    hint: 'The archive is truncated, corrupt, empty or not a tar.xz. Re-create or re-download it.',
  });
}

function badTar(offset: number, why: string): BpfCompileError {
  return corruptArchive(`the archive is not a valid tar: ${why} (at byte ${offset} of the tar stream)`);
}

/** Zero padding after `size` data bytes, up to the next block. */
function padOf(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

function isZeroBlock(b: Uint8Array, at: number): boolean {
  for (let i = at, end = at + BLOCK; i < end; i++) if (b[i] !== 0) return false;
  return true;
}

/** A NUL-terminated header string field. */
function field(b: Buffer, at: number, len: number): string {
  let end = at;
  const max = at + len;
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', at, end);
}

/**
 * A numeric header field: octal digits (leading spaces allowed, ended by NUL, space or the
 * field's end), or GNU base-256 (first byte 0x80; 0xff means negative, refused).
 */
function numeric(b: Buffer, at: number, len: number, what: string, offset: number): number {
  const first = b[at] as number;
  if ((first & 0x80) !== 0) {
    if (first !== 0x80) throw badTar(offset, `negative or malformed base-256 ${what}`);
    let v = 0;
    for (let i = at + 1; i < at + len; i++) v = v * 256 + (b[i] as number);
    if (!Number.isSafeInteger(v)) throw badTar(offset, `${what} too large`);
    return v;
  }
  const end = at + len;
  let i = at;
  while (i < end && b[i] === 0x20) i++;
  let v = 0;
  for (; i < end; i++) {
    const c = b[i] as number;
    if (c < 0x30 || c > 0x37) break;
    v = v * 8 + (c - 0x30);
  }
  if (i < end && b[i] !== 0 && b[i] !== 0x20) throw badTar(offset, `malformed ${what} field`);
  return v;
}

/**
 * Records of a pax extended header (`"%d %s=%s\n"`, the length counting the whole record) into
 * `into`. Returns whether one is a `GNU.sparse.*` key.
 */
function paxRecords(buf: Buffer, offset: number, into: Map<string, string>): boolean {
  let sparse = false;
  let i = 0;
  while (i < buf.length) {
    let j = i;
    let len = 0;
    while (j < buf.length && (buf[j] as number) >= 0x30 && (buf[j] as number) <= 0x39 && len <= buf.length) {
      len = len * 10 + ((buf[j] as number) - 0x30);
      j++;
    }
    if (j === i || buf[j] !== 0x20) throw badTar(offset, 'malformed pax record length');
    if (len < j - i + 4 || i + len > buf.length) throw badTar(offset, `pax record length ${len} out of bounds`);
    const end = i + len - 1;
    if (buf[end] !== 0x0a) throw badTar(offset, 'pax record not ended by a newline');
    const eq = buf.indexOf(0x3d, j + 1);
    if (eq <= j + 1 || eq >= end) throw badTar(offset, 'pax record without a key=value');
    const key = buf.toString('utf8', j + 1, eq);
    if (key.startsWith('GNU.sparse.')) sparse = true;
    into.set(key, buf.toString('utf8', eq + 1, end));
    i += len;
  }
  return sparse;
}

/** A decimal pax `size`. */
function paxSize(text: string, offset: number): number {
  if (!/^[0-9]{1,16}$/.test(text)) throw badTar(offset, `malformed pax size ${JSON.stringify(text.slice(0, 40))}`);
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw badTar(offset, 'pax size too large');
  return n;
}

/** See the module comment. Not reusable after it threw. */
export class TarParser {
  private state = HEADER;
  /** Tar-stream offset of the next byte to consume. */
  private offset = 0;
  /** A header split across chunks. */
  private readonly partial = Buffer.alloc(BLOCK);
  private partialFill = 0;
  /** Bytes left of the current entry's data (DATA, META), or zero bytes seen after the marker (END). */
  private remaining = 0;
  private pad = 0;
  private sink: EntrySink | undefined;
  /** A small file's data being copied together, in `scratch` (reused: fewer dead buffers for the GC). */
  private whole: Buffer | undefined;
  private wholeFill = 0;
  private scratch = Buffer.alloc(0);
  /** An extended header being read, and its typeflag and offset. */
  private meta: Buffer | undefined;
  private metaFill = 0;
  private metaFlag = 0;
  private metaOffset = 0;
  // Pending extended headers for the next entry.
  private longName: string | undefined;
  private longLink: string | undefined;
  private pax: Map<string, string> | undefined;
  private paxSparse = false;
  /** Global pax records (`g` headers, cumulative), their total size, and whether one is `GNU.sparse.*`. */
  private globalPax: Map<string, string> | undefined;
  private globalBytes = 0;
  private globalSparse = false;

  constructor(private readonly onEntry: TarEntryHandler) {}

  /** Parse the next bytes. Throws typed errors (`ARCHIVE_CORRUPT`, or whatever the handler or a sink throws). */
  push(chunk: Buffer): void {
    if (this.state === DEAD) throw new Error('TarParser: push after an error or destroy');
    try {
      this.consume(chunk);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** The input is complete: throws `ARCHIVE_CORRUPT` unless it ended with the end-of-archive marker. */
  end(): void {
    if (this.state === DEAD) throw new Error('TarParser: end after an error or destroy');
    const state = this.state;
    const zeros = this.remaining;
    const offset = this.offset;
    this.destroy();
    if (state === END && zeros >= 2 * BLOCK) return;
    if (state === END) throw badTar(offset, 'truncated end-of-archive marker (one zero block)');
    if (state === HEADER && this.partialFill === 0) {
      throw badTar(offset, offset === 0 ? 'no data' : 'missing end-of-archive marker (truncated?)');
    }
    throw badTar(offset, 'unexpected end of data (truncated)');
  }

  /** Stop: closes the current entry's sink, if any. Idempotent. */
  destroy(): void {
    this.state = DEAD;
    const sink = this.sink;
    this.sink = undefined;
    this.whole = undefined;
    this.meta = undefined;
    sink?.close();
  }

  private consume(chunk: Buffer): void {
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      switch (this.state) {
        case HEADER: {
          if (this.partialFill === 0 && len - pos >= BLOCK) {
            this.header(chunk, pos);
            pos += BLOCK;
          } else {
            const n = Math.min(BLOCK - this.partialFill, len - pos);
            chunk.copy(this.partial, this.partialFill, pos, pos + n);
            this.partialFill += n;
            pos += n;
            if (this.partialFill < BLOCK) return;
            this.partialFill = 0;
            this.header(this.partial, 0);
          }
          this.offset += BLOCK;
          break;
        }
        case DATA: {
          const n = Math.min(this.remaining, len - pos);
          this.data(chunk, pos, n);
          pos += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            const sink = this.sink;
            this.sink = undefined;
            sink?.close();
            this.state = this.pad > 0 ? PAD : HEADER;
          }
          break;
        }
        case META: {
          const meta = this.meta as Buffer;
          const n = Math.min(this.remaining, len - pos);
          chunk.copy(meta, this.metaFill, pos, pos + n);
          this.metaFill += n;
          pos += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            this.meta = undefined;
            this.extended(meta);
            this.state = this.pad > 0 ? PAD : HEADER;
          }
          break;
        }
        case PAD: {
          const n = Math.min(this.pad, len - pos);
          pos += n;
          this.offset += n;
          this.pad -= n;
          if (this.pad === 0) this.state = HEADER;
          break;
        }
        case END: {
          for (; pos < len; pos++, this.offset++, this.remaining++) {
            if (chunk[pos] !== 0) {
              throw badTar(this.offset, this.remaining < 2 * BLOCK ? 'a lone zero block followed by data' : 'data after the end-of-archive marker');
            }
          }
          break;
        }
        default:
          throw new Error('TarParser: push after an error or destroy');
      }
    }
  }

  private data(chunk: Buffer, pos: number, n: number): void {
    const sink = this.sink as EntrySink;
    if (this.whole !== undefined) {
      chunk.copy(this.whole, this.wholeFill, pos, pos + n);
      this.wholeFill += n;
      if (this.wholeFill === this.whole.length) {
        const whole = this.whole;
        this.whole = undefined;
        sink.write(whole);
      }
      return;
    }
    if (n < this.remaining && this.wholeFill === 0 && this.remaining <= WHOLE_FILE_MAX) {
      // The first piece of a small file split across chunks: gather it (in a reused buffer).
      if (this.scratch.length < this.remaining) {
        this.scratch = Buffer.allocUnsafeSlow(Math.min(WHOLE_FILE_MAX, Math.max(this.remaining, 2 * this.scratch.length, 64 * 1024)));
      }
      this.whole = this.scratch.subarray(0, this.remaining);
      chunk.copy(this.whole, 0, pos, pos + n);
      this.wholeFill = n;
      return;
    }
    this.wholeFill = -1; // streaming this (large) file
    sink.write(chunk.subarray(pos, pos + n));
  }

  private header(b: Buffer, at: number): void {
    const offset = this.offset;
    if (isZeroBlock(b, at)) {
      if (this.longName !== undefined || this.longLink !== undefined || this.pax !== undefined) {
        throw badTar(offset, 'an extended header not followed by an entry');
      }
      this.state = END;
      this.remaining = BLOCK;
      return;
    }
    let sum = 8 * 0x20; // the checksum field counts as spaces
    for (let i = at; i < at + 148; i++) sum += b[i] as number;
    for (let i = at + 156; i < at + BLOCK; i++) sum += b[i] as number;
    if (numeric(b, at + 148, 8, 'checksum', offset) !== sum) throw badTar(offset, 'header checksum mismatch');
    const m = at + 257;
    const magic5 = b[m] === 0x75 && b[m + 1] === 0x73 && b[m + 2] === 0x74 && b[m + 3] === 0x61 && b[m + 4] === 0x72; // "ustar"
    const ustar = magic5 && b[m + 5] === 0;
    const gnu = magic5 && b[m + 5] === 0x20 && b[m + 6] === 0x20 && b[m + 7] === 0;
    if (!ustar && !gnu) throw badTar(offset, 'unknown header format (no ustar magic)');
    const flag = b[at + 156] as number;
    const headerSize = numeric(b, at + 124, 12, 'size', offset);

    if (flag === PAX || flag === PAX_GLOBAL || flag === GNU_LONG_NAME || flag === GNU_LONG_LINK) {
      if (headerSize > MAX_META_BYTES) throw badTar(offset, `extended header of ${headerSize} bytes (more than ${MAX_META_BYTES})`);
      if (flag === PAX_GLOBAL && (this.globalBytes += headerSize) > MAX_META_BYTES) {
        throw badTar(offset, `global pax headers of more than ${MAX_META_BYTES} bytes in all`);
      }
      if ((flag === PAX && this.pax !== undefined) || (flag === GNU_LONG_NAME && this.longName !== undefined) || (flag === GNU_LONG_LINK && this.longLink !== undefined)) {
        throw badTar(offset, `two '${String.fromCharCode(flag)}' extended headers for one entry`);
      }
      this.metaFlag = flag;
      this.metaOffset = offset;
      this.pad = padOf(headerSize);
      if (headerSize === 0) {
        this.extended(Buffer.alloc(0));
        this.state = HEADER;
        return;
      }
      this.meta = Buffer.allocUnsafe(headerSize);
      this.metaFill = 0;
      this.remaining = headerSize;
      this.state = META;
      return;
    }

    let name = field(b, at, 100);
    if (ustar && b[at + 345] !== 0) name = `${field(b, at + 345, 155)}/${name}`;
    let linkname: string | null = b[at + 157] === 0 ? null : field(b, at + 157, 100);
    let size = headerSize;
    if (this.longName !== undefined && this.longName !== '') name = this.longName;
    if (this.longLink !== undefined && this.longLink !== '') linkname = this.longLink;
    const global = this.globalPax;
    const pax = this.pax;
    if (global !== undefined || pax !== undefined) {
      // Per-entry records override global ones, which override the header and GNU long names.
      for (const records of [global, pax]) {
        if (records === undefined) continue;
        const p = records.get('path');
        if (p !== undefined && p !== '') name = p;
        const l = records.get('linkpath');
        if (l !== undefined && l !== '') linkname = l;
        const s = records.get('size');
        if (s !== undefined && s !== '') size = paxSize(s, offset);
      }
    }
    this.longName = undefined;
    this.longLink = undefined;
    this.pax = undefined;

    let type = TYPES.get(flag) ?? String.fromCharCode(flag);
    // A regular file named with a trailing slash is a directory (old tars; GNU tar does the same).
    if ((type === 'file' || type === 'contiguous-file') && name.endsWith('/')) type = 'directory';
    if (this.paxSparse || this.globalSparse) type = 'gnu-sparse';
    this.paxSparse = false;

    const sink = this.onEntry({ name, type, size, linkname });
    if (size === 0) {
      sink?.close();
      this.state = HEADER;
      return;
    }
    if (sink === undefined) throw badTar(offset, `${type} entry ${JSON.stringify(name)} carries ${size} data bytes`);
    this.sink = sink;
    this.whole = undefined;
    this.wholeFill = 0;
    this.remaining = size;
    this.pad = padOf(size);
    this.state = DATA;
  }

  private extended(buf: Buffer): void {
    const offset = this.metaOffset;
    switch (this.metaFlag) {
      case GNU_LONG_NAME:
        this.longName = field(buf, 0, buf.length);
        break;
      case GNU_LONG_LINK:
        this.longLink = field(buf, 0, buf.length);
        break;
      case PAX:
        this.pax = new Map();
        this.paxSparse = paxRecords(buf, offset, this.pax);
        break;
      default:
        this.globalPax ??= new Map();
        if (paxRecords(buf, offset, this.globalPax)) this.globalSparse = true;
        break;
    }
  }
}
