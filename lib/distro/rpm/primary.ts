/**
 * A streaming reader of an rpm-md `primary.xml` (hundreds of MB uncompressed for a large repository): decoded bytes
 * go in as they arrive, and only the packages that can hold kernel headers (`kernel*-devel`, see `names.ts`) are
 * kept, with the fields the lookup needs. Memory: the kept packages and the parser's own state.
 */
import { StringDecoder } from 'node:string_decoder';
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

type Draft = { -readonly [K in keyof RpmPackage]?: RpmPackage[K] };

/** See the module comment. */
export class PrimaryParser {
  private readonly sax = new SaxesParser({ xmlns: false });
  private readonly text = new StringDecoder('utf8');
  private depth = 0;
  private draft: Draft | undefined;
  private field: 'name' | 'arch' | 'checksum' | undefined;
  private buf = '';
  private failure: Error | undefined;
  private seen = 0;
  readonly packages: RpmPackage[] = [];

  constructor() {
    this.sax.on('opentag', (tag) => {
      this.depth++;
      const local = tag.name.includes(':') ? tag.name.slice(tag.name.indexOf(':') + 1) : tag.name;
      if (this.depth === 2 && local === 'package') {
        this.draft = {};
        this.seen++;
        return;
      }
      const d = this.draft;
      if (d === undefined || this.depth !== 3) return;
      const attr = (k: string): string | undefined => {
        const v = tag.attributes[k];
        return v === undefined ? undefined : String(v);
      };
      switch (local) {
        case 'name':
        case 'arch':
          this.field = local;
          this.buf = '';
          break;
        case 'checksum':
          this.field = 'checksum';
          this.buf = '';
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
    this.sax.on('text', (t) => {
      if (this.field !== undefined) this.buf += t;
    });
    this.sax.on('closetag', () => {
      const d = this.draft;
      if (d !== undefined && this.depth === 3 && this.field !== undefined) {
        d[this.field] = this.buf.trim();
        this.field = undefined;
      } else if (d !== undefined && this.depth === 2) {
        if (d.name !== undefined && isKernelDevelName(d.name) && d.href !== undefined && d.checksum !== undefined && d.version !== undefined) {
          this.packages.push({
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
          });
        }
        this.draft = undefined;
      }
      this.depth--;
    });
    this.sax.on('error', (err) => {
      this.failure ??= err;
    });
  }

  /** Parse the next decoded bytes. @throws Error on malformed XML. */
  push(chunk: Buffer): void {
    this.sax.write(this.text.write(chunk));
    if (this.failure !== undefined) throw this.failure;
  }

  /** The input is complete. @throws Error on malformed or truncated XML. */
  end(): void {
    this.sax.write(this.text.end());
    this.sax.close();
    if (this.failure !== undefined) throw this.failure;
    if (this.depth !== 0) throw new Error('the document ends inside an element (truncated)');
  }

  /** How many packages the index listed (all of them, kept or not). */
  get listed(): number {
    return this.seen;
  }
}
