/**
 * Hand-made RPM containers and cpio (newc) payloads, for what no real tool writes: hostile entry names, absolute
 * paths, truncation at any byte. Real packages come from `rpm-repo.ts` (rpmbuild).
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

/** One cpio entry. */
export interface CpioEntry {
  readonly name: string;
  /** Full st_mode (type bits included), e.g. 0o100644. */
  readonly mode: number;
  readonly data?: string | Buffer;
  readonly nlink?: number;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function pad4(b: Buffer[], len: number): void {
  const p = (4 - (len % 4)) % 4;
  if (p > 0) b.push(Buffer.alloc(p));
}

/** A newc archive of `entries`, ended by the trailer (unless `trailer` is false). */
export function newc(entries: readonly CpioEntry[], o: { trailer?: boolean; magic?: string } = {}): Buffer {
  const parts: Buffer[] = [];
  const all = [...entries, ...(o.trailer === false ? [] : [{ name: 'TRAILER!!!', mode: 0 }])];
  let ino = 1;
  for (const e of all) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const name = Buffer.from(`${e.name}\0`);
    const fields = [ino++, e.mode, 0, 0, e.nlink ?? 1, 0, data.length, 0, 0, 0, 0, name.length, 0];
    const head = Buffer.from(`${o.magic ?? '070701'}${fields.map(hex8).join('')}`, 'latin1');
    parts.push(head, name);
    pad4(parts, head.length + name.length);
    parts.push(data);
    pad4(parts, data.length);
  }
  return Buffer.concat(parts);
}

/** A header structure of string tags (type 6), int32 tags (type 4) and binary tags (type 7). */
function header(tags: ReadonlyArray<readonly [number, string | number | Buffer]>): Buffer {
  const index: Buffer[] = [];
  const store: Buffer[] = [];
  let off = 0;
  for (const [tag, value] of tags) {
    let data: Buffer;
    let type: number;
    if (Buffer.isBuffer(value)) {
      data = value;
      type = 7;
    } else if (typeof value === 'number') {
      while (off % 4 !== 0) {
        store.push(Buffer.alloc(1));
        off++;
      }
      data = Buffer.alloc(4);
      data.writeUInt32BE(value);
      type = 4;
    } else {
      data = Buffer.from(`${value}\0`);
      type = 6;
    }
    const e = Buffer.alloc(16);
    e.writeUInt32BE(tag, 0);
    e.writeUInt32BE(type, 4);
    e.writeInt32BE(off, 8);
    e.writeUInt32BE(Buffer.isBuffer(value) ? value.length : 1, 12);
    index.push(e);
    store.push(data);
    off += data.length;
  }
  const s = Buffer.concat(store);
  const intro = Buffer.from([0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  intro.writeUInt32BE(tags.length, 8);
  intro.writeUInt32BE(s.length, 12);
  return Buffer.concat([intro, ...index, s]);
}

/** Options of {@link craftRpm}. */
export interface CraftOptions {
  readonly compressor?: string;
  /** The PAYLOADDIGEST to record (default: the right one); null leaves the tag out, as EL ≤ 7 packages do. */
  readonly payloadDigest?: string | null;
  /** Sign: returns a detached binary OpenPGP signature of the bytes given (main header, or header + payload). */
  readonly sign?: { readonly over: 'header' | 'header+payload'; readonly with: (bytes: Buffer) => Buffer };
}

/** An RPM around a gzip'd cpio payload, with a correct SHA256 header digest and (by default) PAYLOADDIGEST. */
export function craftRpm(cpio: Buffer, o: CraftOptions = {}): Buffer {
  const payload = zlib.gzipSync(cpio);
  const digest = o.payloadDigest === undefined ? createHash('sha256').update(payload).digest('hex') : o.payloadDigest;
  const main = header([
    [1000, 'kernel-devel'],
    [1001, '6.1.0'],
    [1002, '1.test'],
    [1124, 'cpio'],
    [1125, o.compressor ?? 'gzip'],
    ...(digest === null
      ? []
      : ([
          [5092, digest],
          [5093, 8],
        ] as const)),
  ]);
  const sigTags: [number, string | Buffer][] = [[273, createHash('sha256').update(main).digest('hex')]];
  if (o.sign !== undefined) sigTags.push(o.sign.over === 'header' ? [268, o.sign.with(main)] : [1002, o.sign.with(Buffer.concat([main, payload]))]);
  const sig = header(sigTags);
  const lead = Buffer.alloc(96);
  lead.writeUInt32BE(0xedabeedb, 0);
  lead[4] = 3;
  lead.writeUInt16BE(5, 78); // signature type: header-style
  const sigPad = Buffer.alloc((8 - (sig.length % 8)) % 8);
  return Buffer.concat([lead, sig, sigPad, main, payload]);
}
