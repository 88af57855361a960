/**
 * The `ar` container of a `.deb` (deb(5)): `!<arch>\n`, then members, each a 60-byte header (name 16, mtime 12,
 * uid 6, gid 6, mode 8, size 10, `` `\n ``) followed by its data padded to an even length. A binary package holds
 * `debian-binary` (`2.x`), `control.tar.*`, then `data.tar[.xz|.zst|.gz]`.
 *
 * {@link DebDataStream} is a push parser over the package bytes that passes on only the bytes of the `data.tar*`
 * member, after announcing its name (and so its compression) with a `member` event. Anything malformed is
 * `ARCHIVE_CORRUPT` with the byte offset. Memory: one header.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { BpfCompileError, ErrorCode } from '../errors.js';

const MAGIC = '!<arch>\n';
const HEADER = 60;

/** Compression of a `data.tar` member, from its name. */
export type DataCompression = 'xz' | 'zstd' | 'gzip' | 'none';

/** The compression a member name says (`data.tar.zst` → `zstd`), or undefined when it is not a data member we read. */
export function dataCompressionOf(member: string): DataCompression | undefined {
  switch (member) {
    case 'data.tar.xz':
      return 'xz';
    case 'data.tar.zst':
      return 'zstd';
    case 'data.tar.gz':
      return 'gzip';
    case 'data.tar':
      return 'none';
    default:
      return undefined;
  }
}

function corruptDeb(message: string, offset: number): BpfCompileError {
  return new BpfCompileError(ErrorCode.ARCHIVE_CORRUPT, `not a valid .deb package: ${message} (at byte ${offset})`, {
    hint: 'The package is truncated, corrupt or not a Debian binary package; download it again, or inspect it with `dpkg-deb --info`.',
    details: { offset },
  });
}

/** See the module comment. Emits `member` (name, compression) once, before the data member's first byte. */
export class DebDataStream extends Transform {
  private offset = 0;
  private head = Buffer.alloc(0);
  /** Bytes left of the current member's data (+ padding) and whether they are passed on. */
  private left = 0;
  private pad = 0;
  private passing = false;
  private members = 0;
  private sawData = false;
  private sawVersion = false;
  private versionBytes: Buffer[] = [];

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk);
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.offset < MAGIC.length) return cb(corruptDeb('too short for an ar archive', this.offset));
    if (this.left > 0 || this.head.byteLength > 0) return cb(corruptDeb('truncated inside a member', this.offset));
    if (!this.sawData) return cb(corruptDeb('no data.tar member', this.offset));
    cb();
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.byteLength) {
      if (this.offset < MAGIC.length) {
        const n = Math.min(MAGIC.length - this.offset, chunk.byteLength - pos);
        const got = chunk.subarray(pos, pos + n).toString('latin1');
        if (got !== MAGIC.slice(this.offset, this.offset + n)) throw corruptDeb('no !<arch> magic', this.offset);
        this.offset += n;
        pos += n;
        continue;
      }
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.byteLength - pos);
        const bytes = chunk.subarray(pos, pos + n);
        if (this.passing) this.push(bytes);
        else if (!this.sawVersion && this.members === 1) this.versionBytes.push(Buffer.from(bytes));
        this.left -= n;
        this.offset += n;
        pos += n;
        if (this.left === 0) this.endMember();
        continue;
      }
      if (this.pad > 0) {
        this.pad--;
        this.offset++;
        pos++;
        continue;
      }
      if (this.sawData) {
        // members after data.tar (none in a real package) are skipped unread
        this.offset += chunk.byteLength - pos;
        return;
      }
      const need = HEADER - this.head.byteLength;
      const take = chunk.subarray(pos, pos + need);
      this.head = this.head.byteLength === 0 ? Buffer.from(take) : Buffer.concat([this.head, take]);
      pos += take.byteLength;
      this.offset += take.byteLength;
      if (this.head.byteLength === HEADER) this.member(this.head);
    }
  }

  private member(h: Buffer): void {
    this.head = Buffer.alloc(0);
    const at = this.offset - HEADER;
    if (h[58] !== 0x60 || h[59] !== 0x0a) throw corruptDeb('bad ar member header', at);
    const name = h.subarray(0, 16).toString('latin1').trim().replace(/\/$/, '');
    const sizeText = h.subarray(48, 58).toString('latin1').trim();
    if (!/^\d+$/.test(sizeText)) throw corruptDeb(`bad size of member ${JSON.stringify(name)}`, at);
    const size = Number(sizeText);
    this.members++;
    if (this.members === 1 && name !== 'debian-binary') throw corruptDeb(`first member is ${JSON.stringify(name)}, not debian-binary`, at);
    if (this.members > 1 && !this.sawVersion) this.checkVersion(at);
    const compression = dataCompressionOf(name);
    if (name.startsWith('data.tar') && compression === undefined) throw corruptDeb(`unsupported data member ${JSON.stringify(name)}`, at);
    this.passing = compression !== undefined;
    if (compression !== undefined) this.emit('member', name, compression);
    this.left = size;
    this.pad = size % 2;
    if (size === 0) this.endMember();
  }

  private checkVersion(at: number): void {
    const v = Buffer.concat(this.versionBytes).toString('latin1');
    if (!/^2\.\d+\n/.test(v)) throw corruptDeb(`debian-binary says ${JSON.stringify(v.slice(0, 16))}, not 2.x`, at);
    this.sawVersion = true;
    this.versionBytes = [];
  }

  private endMember(): void {
    if (this.passing) {
      this.passing = false;
      this.sawData = true;
    }
  }
}
