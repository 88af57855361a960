/**
 * `Packages` indexes: stanzas of `Field: value` lines separated by blank lines. bookworm main's amd64 index is
 * 50 MB decoded, so it is parsed as it streams, and only the kernel headers packages are kept
 * ({@link isHeadersPackageName}): a few hundred stanzas.
 */
import { StringDecoder } from 'node:string_decoder';

/** The fields of one package bpf-compile uses. */
export interface DebPackage {
  readonly package: string;
  readonly version: string;
  readonly architecture: string;
  /** `Depends` and `Pre-Depends`, unparsed. */
  readonly depends: string;
  /** `Source` (`linux`, `linux-signed-amd64`, `linux-hwe-6.2 (6.2.0-35.35~22.04.1)`), or the package name. */
  readonly source: string;
  /** Path relative to the repository URI (`pool/main/l/linux/…deb`). */
  readonly filename: string;
  readonly size: number;
  readonly sha256: string;
}

/**
 * Names of packages that can hold parts of a kernel headers tree: Debian `linux-headers-<abi>-<flavour>` and
 * `…-common[-rt]`, Ubuntu `linux-headers-<abi>` and `linux-<source>-headers-<abi>` (HWE, cloud kernels).
 * `linux-kbuild-*` (the build tools) is not needed for BPF.
 */
export function isHeadersPackageName(name: string): boolean {
  return /^linux-(?:[a-z0-9.+-]+-)?headers-\d/.test(name);
}

function toPackage(fields: Map<string, string>): DebPackage | undefined {
  const name = fields.get('package');
  const version = fields.get('version');
  const filename = fields.get('filename');
  const sha256 = fields.get('sha256')?.toLowerCase();
  if (name === undefined || version === undefined || filename === undefined || sha256 === undefined || !/^[0-9a-f]{64}$/.test(sha256)) return undefined;
  const depends = [fields.get('pre-depends'), fields.get('depends')].filter((d): d is string => d !== undefined && d !== '').join(', ');
  return {
    package: name,
    version,
    architecture: fields.get('architecture') ?? 'all',
    depends,
    source: (fields.get('source') ?? name).split(/\s/)[0] as string,
    filename,
    size: Number(fields.get('size') ?? 0),
    sha256,
  };
}

/** A streaming `Packages` parser: `push` decoded text chunks, `end`, then read {@link PackagesParser.packages}. */
export class PackagesParser {
  private readonly decoder = new StringDecoder('utf8');
  private rest = '';
  private fields = new Map<string, string>();
  private keep = false;
  /** Stanzas kept (headers packages only, unless `keepAll`). */
  readonly packages: DebPackage[] = [];
  /** Stanzas seen. */
  stanzas = 0;

  constructor(private readonly keepAll = false) {}

  push(chunk: Buffer): void {
    const text = this.rest + this.decoder.write(chunk);
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      if (nl < 0) break;
      this.line(text.slice(start, nl));
      start = nl + 1;
    }
    this.rest = text.slice(start);
  }

  end(): void {
    const tail = this.rest + this.decoder.end();
    this.rest = '';
    if (tail !== '') this.line(tail);
    this.flush();
  }

  private line(line: string): void {
    if (line === '' || line === '\r') {
      this.flush();
      return;
    }
    if (line.charCodeAt(0) === 32 || line.charCodeAt(0) === 9) {
      // continuation: only Description and friends have them; none of the fields kept here
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const key = line.slice(0, colon).toLowerCase();
    if (this.fields.size === 0 && key === 'package') {
      const name = line.slice(colon + 1).trim();
      this.keep = this.keepAll || isHeadersPackageName(name);
    }
    if (this.keep) this.fields.set(key, line.slice(colon + 1).trim());
    else if (this.fields.size === 0) this.fields.set(key, '');
  }

  private flush(): void {
    if (this.fields.size > 0) {
      this.stanzas++;
      if (this.keep) {
        const p = toPackage(this.fields);
        if (p !== undefined) this.packages.push(p);
      }
    }
    this.fields = new Map();
    this.keep = false;
  }
}

/** Parse a whole `Packages` text (tests, small indexes). */
export function parsePackages(text: string, keepAll = false): DebPackage[] {
  const p = new PackagesParser(keepAll);
  p.push(Buffer.from(text));
  p.end();
  return p.packages;
}

/** One alternative of a dependency: a name and an optional version constraint. */
export interface Dependency {
  readonly name: string;
  /** `=`, `>=`, `<=`, `>>`, `<<` (undefined: any version). */
  readonly op: '=' | '>=' | '<=' | '>>' | '<<' | undefined;
  readonly version: string | undefined;
}

/** Parse `Depends`: a list of alternative groups (`a (= 1), b | c (>= 2)`); arch qualifiers and build profiles dropped. */
export function parseDepends(text: string): Dependency[][] {
  const groups: Dependency[][] = [];
  for (const group of text.split(',')) {
    const alts: Dependency[] = [];
    for (const alt of group.split('|')) {
      const m = /^\s*([a-z0-9][a-z0-9+.-]*)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|=|>=|>>|<|>)\s*([^)\s]+)\s*\))?/.exec(alt);
      if (m === null) continue;
      const rawOp = m[2];
      const op = rawOp === '<' ? '<=' : rawOp === '>' ? '>=' : (rawOp as Dependency['op']);
      alts.push({ name: m[1] as string, op, version: m[3] });
    }
    if (alts.length > 0) groups.push(alts);
  }
  return groups;
}
