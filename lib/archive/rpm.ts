/**
 * The container of an RPM package, streamed: {@link RpmPayloadStream} is a push parser over the package bytes that
 * reads the lead, the signature header and the main header (kept: the signature checks need the main header's bytes),
 * announces the payload's compression with a `payload` event, then passes on only the payload bytes, hashing them
 * with the algorithm the header names (`PAYLOADDIGESTALGO`, sha256 by default) so the signed `PAYLOADDIGEST` can be
 * checked once the stream ends. Memory: the two headers (capped), never the payload.
 *
 * Nothing here decides trust: `lib/distro/rpm/verify.ts` checks the signatures and digests against the keys a
 * repository allows, from what this stream recorded ({@link RpmContainerInfo}).
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { DataCompression } from './ar.js';
import { corruptRpm, HEADER_INTRO, headerSize, intTag, parseHeader, PAYLOAD_DIGEST_ALGOS, RPM_LEAD_MAGIC, RPM_LEAD_SIZE, stringTag, TAG, type RpmHeader } from './rpm-header.js';

/** Largest signature header accepted (file signatures make them grow; real ones are a few KiB). */
const MAX_SIGNATURE_HEADER = 32 * 1024 * 1024;
/** Largest main header accepted (a kernel-devel header, with ~20k files' metadata, is a few MiB). */
const MAX_MAIN_HEADER = 128 * 1024 * 1024;

/** The main header's tags anything here reads (the rest, file lists mostly, is kept as bytes only). */
const MAIN_TAGS_READ: ReadonlySet<number> = new Set(Object.values(TAG));

/** What the stream read of one package. */
export interface RpmContainerInfo {
  readonly signature: RpmHeader;
  readonly header: RpmHeader;
  /** `PAYLOADCOMPRESSOR` (`zstd`, `xz`, `gzip`, …). */
  readonly compressor: string;
  /** Node name of the payload digest's algorithm. */
  readonly payloadAlgo: string;
  /** Digest (hex) of the compressed payload bytes, as streamed. */
  readonly payloadDigest: string;
  /** Offset of the main header in the package (what legacy header+payload signatures cover from). */
  readonly headerOffset: number;
}

/** The decoder of a `PAYLOADCOMPRESSOR`, or undefined when none is available for it. */
export function payloadCompressionOf(compressor: string): DataCompression | undefined {
  switch (compressor) {
    case 'zstd':
      return 'zstd';
    case 'xz':
      return 'xz';
    case 'gzip':
    case '':
      return 'gzip';
    default:
      return undefined; // bzip2, lzma: no EL ≥ 5 kernel package uses them
  }
}

const LEAD = 0;
const SIG_INTRO = 1;
const SIG = 2;
const SIG_PAD = 3;
const HDR_INTRO = 4;
const HDR = 5;
const PAYLOAD = 6;

/** See the module comment. Emits `payload` (compression, info-so-far) once, before the payload's first byte. */
export class RpmPayloadStream extends Transform {
  private state = LEAD;
  private offset = 0;
  private buf = Buffer.alloc(RPM_LEAD_SIZE);
  private fill = 0;
  private signature: RpmHeader | undefined;
  private header: RpmHeader | undefined;
  private headerOffset = 0;
  private hash: Hash | undefined;
  private algo = 'sha256';
  private compressor = '';
  /** Set when the stream ended cleanly. */
  info: RpmContainerInfo | undefined;

  private need(n: number): void {
    this.buf = Buffer.alloc(n);
    this.fill = 0;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      let pos = 0;
      while (pos < chunk.length) {
        if (this.state === PAYLOAD) {
          const rest = pos === 0 ? chunk : chunk.subarray(pos);
          this.hash?.update(rest);
          this.offset += rest.length;
          this.push(rest);
          break;
        }
        const n = Math.min(this.buf.length - this.fill, chunk.length - pos);
        chunk.copy(this.buf, this.fill, pos, pos + n);
        this.fill += n;
        pos += n;
        if (this.fill < this.buf.length) break;
        const at = this.offset;
        this.offset += this.buf.length;
        this.step(at);
      }
      cb();
    } catch (err) {
      cb(err as Error);
    }
  }

  private step(at: number): void {
    switch (this.state) {
      case LEAD: {
        if (this.buf.readUInt32BE(0) !== RPM_LEAD_MAGIC) throw corruptRpm('no RPM lead (magic ED AB EE DB)', 0);
        if (this.buf[4] !== 3) throw corruptRpm(`RPM format ${this.buf[4] ?? '?'} (only v3 leads / v4 headers are read)`, 4);
        this.state = SIG_INTRO;
        this.need(HEADER_INTRO);
        return;
      }
      case SIG_INTRO:
      case HDR_INTRO: {
        const sig = this.state === SIG_INTRO;
        const size = headerSize(this.buf, at, sig ? MAX_SIGNATURE_HEADER : MAX_MAIN_HEADER);
        const intro = this.buf;
        this.need(size);
        intro.copy(this.buf, 0);
        this.fill = HEADER_INTRO;
        if (!sig) this.headerOffset = at;
        this.state = sig ? SIG : HDR;
        this.offset -= HEADER_INTRO; // counted again when the whole header is complete
        return;
      }
      case SIG: {
        this.signature = parseHeader(this.buf);
        const pad = (8 - (this.buf.length % 8)) % 8;
        if (pad > 0) {
          this.state = SIG_PAD;
          this.need(pad);
        } else {
          this.state = HDR_INTRO;
          this.need(HEADER_INTRO);
        }
        return;
      }
      case SIG_PAD:
        this.state = HDR_INTRO;
        this.need(HEADER_INTRO);
        return;
      case HDR: {
        const header = parseHeader(this.buf, MAIN_TAGS_READ);
        this.header = header;
        const format = stringTag(header, TAG.PAYLOADFORMAT) ?? 'cpio';
        if (format !== 'cpio') throw corruptRpm(`payload format ${JSON.stringify(format)} (only cpio is read)`);
        this.compressor = stringTag(header, TAG.PAYLOADCOMPRESSOR) ?? 'gzip';
        const algoId = intTag(header, TAG.PAYLOADDIGESTALGO);
        this.algo = (algoId === undefined ? undefined : PAYLOAD_DIGEST_ALGOS.get(algoId)) ?? 'sha256';
        this.hash = createHash(this.algo);
        this.state = PAYLOAD;
        this.buf = Buffer.alloc(0);
        this.emit('payload', this.compressor);
        return;
      }
      default:
        throw new Error('RpmPayloadStream: bad state');
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.state !== PAYLOAD || this.signature === undefined || this.header === undefined || this.hash === undefined) {
      cb(corruptRpm('the package ends before its payload (truncated)', this.offset));
      return;
    }
    this.info = {
      signature: this.signature,
      header: this.header,
      compressor: this.compressor,
      payloadAlgo: this.algo,
      payloadDigest: this.hash.digest('hex'),
      headerOffset: this.headerOffset,
    };
    cb();
  }
}
