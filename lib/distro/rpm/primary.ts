/**
 * A streaming reader of an rpm-md `primary.xml` (hundreds of MB uncompressed for a large repository): decoded bytes
 * go in as they arrive, and only the packages that can hold kernel headers (`kernel*-devel`, see `names.ts`) are
 * kept, with the fields the lookup needs.
 *
 * Two stages, for speed: the bytes are cut into `<package …>…</package>` elements with `Buffer.indexOf` (createrepo
 * writes no CDATA or comments inside them, and text is escaped, so `</package>` cannot occur within one), each
 * element's `<name>` is looked at, and only elements whose name starts with `kernel` are parsed as XML (`saxes`). Of
 * a Fedora-sized index that is a few hundred of ~60,000 packages: the scan runs at memory speed, where parsing every
 * element ran at ~45 MB/s. The index's integrity is its signed checksum (checked before this runs); what this checks
 * is its shape: a package element cut short, or a document that does not end with `</metadata>`, is an error.
 *
 * Memory: the kept packages and one element (at most {@link MAX_PACKAGE_ELEMENT} bytes).
 */
import { SaxesParser } from 'saxes';
import { isKernelDevelName } from './names.js';

/** A package a primary index lists. */
export interface RpmPackage {
  readonly name: string;
  readonly arch: string;
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
  /** Checksum of the whole `.rpm` file, and its algorithm (`sha256`). */
  readonly checksumType: string;
  readonly checksum: string;
  /** Path relative to the repository base, or to `base` when set (`xml:base`). */
  readonly href: string;
  readonly base: string | undefined;
  readonly size: number;
}

/** Largest single `<package>` element accepted (a package listing tens of thousands of files is a few MB). */
export const MAX_PACKAGE_ELEMENT = 64 * 1024 * 1024;

type Draft = { -readonly [K in keyof RpmPackage]?: RpmPackage[K] };

const OPEN = Buffer.from('<package');
const CLOSE = Buffer.from('</package>');
const NAME = Buffer.from('<name>');
const KERNEL = Buffer.from('kernel');
const END = Buffer.from('</metadata>');

/** Parse one `<package>` element's text. @throws Error on malformed XML. */
export function parsePackageElement(xml: string): RpmPackage | undefined {
  const sax = new SaxesParser({ xmlns: false });
  let depth = 0;
  let field: 'name' | 'arch' | 'checksum' | undefined;
  let text = '';
  const d: Draft = {};
  let failure: Error | undefined;
  sax.on('opentag', (tag) => {
    depth++;
    if (depth !== 2) return;
    const local = tag.name.includes(':') ? tag.name.slice(tag.name.indexOf(':') + 1) : tag.name;
    const attr = (k: string): string | undefined => {
      const v = tag.attributes[k];
      return v === undefined ? undefined : String(v);
    };
    switch (local) {
      case 'name':
      case 'arch':
        field = local;
        text = '';
        break;
      case 'checksum':
        field = 'checksum';
        text = '';
        d.checksumType = (attr('type') ?? 'sha256').toLowerCase().replace(/^sha$/, 'sha1');
        break;
      case 'version':
        d.epoch = attr('epoch') ?? '0';
        d.version = attr('ver') ?? '';
        d.release = attr('rel') ?? '';
        break;
      case 'location':
        d.href = attr('href') ?? '';
        d.base = attr('xml:base');
        break;
      case 'size':
        d.size = Number(attr('package') ?? '0') || 0;
        break;
      default:
        break;
    }
  });
  sax.on('text', (t) => {
    if (field !== undefined) text += t;
  });
  sax.on('closetag', () => {
    if (depth === 2 && field !== undefined) {
      d[field] = text.trim();
      field = undefined;
    }
    depth--;
  });
  sax.on('error', (err) => {
    failure ??= err;
  });
  sax.write(xml).close();
  if (failure !== undefined) throw failure;
  if (d.name === undefined || !isKernelDevelName(d.name) || d.href === undefined || d.checksum === undefined || d.version === undefined) return undefined;
  return {
    name: d.name,
    arch: d.arch ?? '',
    epoch: d.epoch ?? '0',
    version: d.version,
    release: d.release ?? '',
    checksumType: d.checksumType ?? 'sha256',
    checksum: d.checksum.toLowerCase(),
    href: d.href,
    base: d.base,
    size: d.size ?? 0,
  };
}

/** See the module comment. */
export class PrimaryParser {
  private pending: Buffer = Buffer.alloc(0);
  private seen = 0;
  private ended = false;
  readonly packages: RpmPackage[] = [];

  /** Parse the next decoded bytes. @throws Error on a malformed kernel package element, or an oversized element. */
  push(chunk: Buffer): void {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    for (;;) {
      let start = buf.indexOf(OPEN, pos);
      // `<packages…` or another element that merely starts the same way is not a package
      while (start >= 0 && start + OPEN.length < buf.length && !/[\s>]/.test(String.fromCharCode(buf[start + OPEN.length] as number))) start = buf.indexOf(OPEN, start + 1);
      if (start < 0 || start + OPEN.length >= buf.length) {
        // keep what could be the beginning of the next element (and the end marker)
        const keep = Math.max(pos, buf.length - Math.max(OPEN.length, END.length));
        if (buf.indexOf(END, pos) >= 0) this.ended = true;
        this.pending = Buffer.from(buf.subarray(keep));
        return;
      }
      const end = buf.indexOf(CLOSE, start);
      if (end < 0) {
        if (buf.length - start > MAX_PACKAGE_ELEMENT) throw new Error(`a <package> element longer than ${MAX_PACKAGE_ELEMENT} bytes`);
        this.pending = Buffer.from(buf.subarray(start));
        return;
      }
      const stop = end + CLOSE.length;
      this.seen++;
      const nameAt = buf.indexOf(NAME, start);
      if (nameAt >= 0 && nameAt < end && buf.subarray(nameAt + NAME.length, nameAt + NAME.length + KERNEL.length).equals(KERNEL)) {
        const p = parsePackageElement(buf.toString('utf8', start, stop));
        if (p !== undefined) this.packages.push(p);
      }
      pos = stop;
      if (pos >= buf.length) {
        this.pending = Buffer.alloc(0);
        return;
      }
      if (pos > 1024 * 1024) {
        buf = buf.subarray(pos);
        pos = 0;
      }
    }
  }

  /** The input is complete. @throws Error when it was cut short (inside an element, or before `</metadata>`). */
  end(): void {
    if (this.pending.indexOf(END) >= 0) this.ended = true;
    if (this.pending.indexOf(OPEN) >= 0 && this.pending.indexOf(CLOSE) < 0 && this.pending.length > OPEN.length)
      throw new Error('the document ends inside a <package> element (truncated)');
    if (!this.ended) throw new Error('the document does not end with </metadata> (truncated)');
  }

  /** How many packages the index listed (all of them, kept or not). */
  get listed(): number {
    return this.seen;
  }
}
