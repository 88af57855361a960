/**
 * A push parser for the `cpio` "newc" format (`070701`, and `070702` with its per-file checksum), the payload format
 * of RPM packages. It reports entries exactly as {@link TarParser} does (`TarEntry`: name, type, size, link name),
 * so the same policy and {@link SafeTreeWriter} judge and write them.
 *
 * newc: a 110-byte ASCII header (magic, then 13 eight-digit hex fields: ino, mode, uid, gid, nlink, mtime, filesize,
 * devmajor, devminor, rdevmajor, rdevminor, namesize, check), the NUL-terminated name padded so header + name is a
 * multiple of 4, the data padded to 4. A symlink's data is its target. The archive ends with the entry `TRAILER!!!`;
 * only NUL padding may follow it.
 *
 * Types come from the mode's file-type bits. A regular file with more than one link is reported as type `link` (a hard
 * link: newc stores the data once, with the last name of the set), which the policy refuses. rpm's "stripped" cpio
 * (`07070X`, for packages with files over 4 GiB) names entries by index into the header instead: refused as
 * unsupported, like every malformed input (`ARCHIVE_CORRUPT` with the offset).
 *
 * Memory: one header, one name, one symlink target (at most {@link MAX_CPIO_LINK} bytes).
 */
import type { EntrySink, TarEntryHandler } from './tar-parser.js';
import { corruptArchive } from './tar-parser.js';

const HEADER = 110;
/** Longest name accepted (the policy applies its own, smaller, cap to what is kept). */
export const MAX_CPIO_NAME = 64 * 1024;
/** Longest symlink target accepted (Linux PATH_MAX). */
export const MAX_CPIO_LINK = 4096;
const TRAILER = 'TRAILER!!!';

const S_IFMT = 0o170000;
const TYPES: ReadonlyMap<number, string> = new Map([
  [0o100000, 'file'],
  [0o040000, 'directory'],
  [0o120000, 'symlink'],
  [0o020000, 'character-device'],
  [0o060000, 'block-device'],
  [0o010000, 'fifo'],
  [0o140000, 'socket'],
]);

// states
const S_HEADER = 0;
const S_NAME = 1;
const S_DATA = 2;
const S_LINK = 3;
const S_PAD = 4;
const S_END = 5;
const S_DEAD = 6;

function badCpio(offset: number, why: string): Error {
  return corruptArchive(`the payload is not a valid cpio (newc) archive: ${why} (at byte ${offset} of the cpio stream)`);
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** See the module comment. Not reusable after it threw. */
export class CpioParser {
  private state = S_HEADER;
  private offset = 0;
  private readonly head = Buffer.alloc(HEADER);
  private headFill = 0;
  private buf: Buffer = Buffer.alloc(0);
  private bufFill = 0;
  private remaining = 0;
  private mode = 0;
  private nlink = 0;
  private size = 0;
  private name = '';
  private nameSize = 0;
  private sink: EntrySink | undefined;
  private entries = 0;

  constructor(private readonly onEntry: TarEntryHandler) {}

  /** Parse the next bytes. Throws typed errors (`ARCHIVE_CORRUPT`, or whatever the handler or a sink throws). */
  push(chunk: Buffer): void {
    if (this.state === S_DEAD) throw new Error('CpioParser: push after an error or destroy');
    try {
      this.consume(chunk);
    } catch (err) {
      this.destroy();
      throw err;
    }
  }

  /** The input is complete: throws `ARCHIVE_CORRUPT` unless the trailer was read. */
  end(): void {
    if (this.state === S_DEAD) throw new Error('CpioParser: end after an error or destroy');
    const state = this.state;
    const offset = this.offset;
    this.destroy();
    if (state === S_END) return;
    throw badCpio(offset, offset === 0 ? 'no data' : 'unexpected end of data before the TRAILER!!! entry (truncated?)');
  }

  /** Stop: closes the current entry's sink, if any. Idempotent. */
  destroy(): void {
    this.state = S_DEAD;
    const sink = this.sink;
    this.sink = undefined;
    sink?.close();
  }

  private hex(at: number, what: string): number {
    const s = this.head.toString('latin1', at, at + 8);
    if (!/^[0-9a-fA-F]{8}$/.test(s)) throw badCpio(this.offset, `malformed ${what} field ${JSON.stringify(s)}`);
    return Number.parseInt(s, 16);
  }

  private header(): void {
    const magic = this.head.toString('latin1', 0, 6);
    if (magic === '07070X') throw badCpio(this.offset, "rpm's stripped cpio (07070X, packages with files over 4 GiB) is not supported");
    if (magic !== '070701' && magic !== '070702') throw badCpio(this.offset, `bad magic ${JSON.stringify(magic)} (not newc 070701/070702)`);
    this.mode = this.hex(14, 'mode');
    this.nlink = this.hex(38, 'nlink');
    this.size = this.hex(54, 'filesize');
    const namesize = this.hex(94, 'namesize');
    if (namesize < 2 || namesize > MAX_CPIO_NAME) throw badCpio(this.offset, `name size ${namesize} out of range`);
    // the name and the padding after it (header + name end on a 4-byte boundary) are read as one
    this.nameSize = namesize;
    this.buf = Buffer.alloc(namesize + pad4(HEADER + namesize));
    this.bufFill = 0;
    this.remaining = this.buf.length;
    this.state = S_NAME;
  }

  private named(): void {
    const raw = this.buf.subarray(0, this.nameSize);
    for (let i = this.nameSize; i < this.buf.length; i++) if (this.buf[i] !== 0) throw badCpio(this.offset, 'non-zero padding after a name');
    if (raw[raw.length - 1] !== 0) throw badCpio(this.offset, 'name not NUL-terminated');
    const name = raw.toString('utf8', 0, raw.length - 1);
    if (name.includes('\0')) throw badCpio(this.offset, 'name contains a NUL byte');
    this.name = name;
    if (name === TRAILER) {
      if (this.entries === 0) throw badCpio(this.offset, 'the archive is empty (only a trailer)');
      this.state = S_END;
      return;
    }
    this.entries++;
    const kind = TYPES.get(this.mode & S_IFMT) ?? `mode 0${(this.mode & S_IFMT).toString(8)}`;
    const type = kind === 'file' && this.nlink > 1 ? 'link' : kind;
    if (type === 'symlink') {
      if (this.size === 0 || this.size > MAX_CPIO_LINK) throw badCpio(this.offset, `symlink ${JSON.stringify(name)} with a ${this.size}-byte target`);
      this.buf = Buffer.alloc(this.size);
      this.bufFill = 0;
      this.remaining = this.size;
      this.state = S_LINK;
      return;
    }
    const sink = this.onEntry({ name, type, size: this.size, linkname: null });
    if (this.size > 0 && sink === undefined) throw badCpio(this.offset, `entry ${JSON.stringify(name)} of type ${type} carries data`);
    this.sink = sink;
    if (this.size === 0) {
      this.sink = undefined;
      sink?.close();
      this.state = S_HEADER;
      return;
    }
    this.remaining = this.size;
    this.state = S_DATA;
  }

  /** After an entry's data (or a symlink's target): its padding to 4 bytes, then the next header. */
  private afterData(): void {
    this.remaining = pad4(this.size);
    this.state = this.remaining > 0 ? S_PAD : S_HEADER;
  }

  private consume(chunk: Buffer): void {
    const len = chunk.length;
    let pos = 0;
    while (pos < len) {
      switch (this.state) {
        case S_HEADER: {
          const n = Math.min(HEADER - this.headFill, len - pos);
          chunk.copy(this.head, this.headFill, pos, pos + n);
          this.headFill += n;
          pos += n;
          if (this.headFill < HEADER) return;
          this.headFill = 0;
          this.header();
          this.offset += HEADER;
          break;
        }
        case S_NAME:
        case S_LINK: {
          const n = Math.min(this.remaining, len - pos);
          chunk.copy(this.buf, this.bufFill, pos, pos + n);
          this.bufFill += n;
          pos += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining > 0) return;
          if (this.state === S_NAME) this.named();
          else {
            const target = this.buf.toString('utf8');
            const sink = this.onEntry({ name: this.name, type: 'symlink', size: 0, linkname: target });
            sink?.close();
            this.afterData();
          }
          break;
        }
        case S_DATA: {
          const n = Math.min(this.remaining, len - pos);
          (this.sink as EntrySink).write(chunk.subarray(pos, pos + n));
          pos += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) {
            const sink = this.sink;
            this.sink = undefined;
            sink?.close();
            this.afterData();
          }
          break;
        }
        case S_PAD: {
          const n = Math.min(this.remaining, len - pos);
          for (let i = pos; i < pos + n; i++) if (chunk[i] !== 0) throw badCpio(this.offset + (i - pos), 'non-zero padding');
          pos += n;
          this.offset += n;
          this.remaining -= n;
          if (this.remaining === 0) this.state = S_HEADER;
          break;
        }
        case S_END: {
          for (let i = pos; i < len; i++) if (chunk[i] !== 0) throw badCpio(this.offset + (i - pos), 'data after the TRAILER!!! entry');
          this.offset += len - pos;
          pos = len;
          break;
        }
        default:
          throw new Error('CpioParser: bad state');
      }
    }
  }
}
