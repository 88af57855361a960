/**
 * Hand-made hostile tar.xz archives: a raw ustar/pax writer (so nothing sanitises names for us)
 * and one case per extraction-policy rule.
 */
import { execFileSync } from 'node:child_process';

/** One raw tar entry. `type` is the ustar typeflag. */
export interface RawEntry {
  readonly name: string;
  /** '0' file, '1' hard link, '2' symlink, '3' char dev, '4' block dev, '5' dir, '6' fifo. */
  readonly type: '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | 'S';
  readonly linkname?: string;
  readonly content?: Buffer | string;
  /** Pax extended header records for this entry (e.g. `path`). */
  readonly pax?: Readonly<Record<string, string>>;
  readonly mode?: number;
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, type: string, size: number, linkname = '', mode = 0o644): Buffer {
  const b = Buffer.alloc(512);
  b.write(name.slice(0, 100), 0, 'utf8');
  b.write(octal(mode, 8), 100);
  b.write(octal(0, 8), 108);
  b.write(octal(0, 8), 116);
  b.write(octal(size, 12), 124);
  b.write(octal(1_700_000_000, 12), 136);
  b.write('        ', 148);
  b.write(type, 156);
  b.write(linkname.slice(0, 100), 157, 'utf8');
  b.write('ustar\0', 257);
  b.write('00', 263);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return b;
}

function padded(data: Buffer): Buffer {
  const rem = data.length % 512;
  return rem === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rem)]);
}

function paxRecords(records: Readonly<Record<string, string>>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = body.length + 1;
    while (String(len).length + body.length !== len) len = String(len).length + body.length;
    out += `${len}${body}`;
  }
  return Buffer.from(out, 'utf8');
}

/** An uncompressed tar (with the two zero end blocks) of `entries`. */
export function rawTar(entries: readonly RawEntry[], options: { endBlocks?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.pax !== undefined) {
      const body = paxRecords(e.pax);
      parts.push(header('PaxHeader', 'x', body.length), padded(body));
    }
    const data = e.content === undefined ? Buffer.alloc(0) : Buffer.from(e.content);
    parts.push(header(e.name, e.type, e.type === '0' || e.type === '7' ? data.length : 0, e.linkname ?? '', e.mode));
    if (data.length > 0) parts.push(padded(data));
  }
  if (options.endBlocks !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** xz-compress bytes with the xz program (`-0`, CRC64). */
export function xz(data: Buffer): Buffer {
  return execFileSync('xz', ['-c', '-0', '--check=crc64'], { input: data, maxBuffer: 1 << 30 });
}

/** A minimal valid kheaders-like tree, to prefix hostile entries with. */
export function validPrefix(release = '6.1.0-hostile'): RawEntry[] {
  return [
    { name: './', type: '5' },
    { name: './include/', type: '5' },
    { name: './include/generated/', type: '5' },
    { name: './include/generated/utsrelease.h', type: '0', content: `#define UTS_RELEASE "${release}"\n` },
  ];
}

/** A hostile case: entries and the error code extraction must raise. */
export interface HostileCase {
  readonly name: string;
  readonly entries: readonly RawEntry[];
  readonly code: 'ARCHIVE_UNSAFE' | 'ARCHIVE_TOO_LARGE' | 'ARCHIVE_CORRUPT';
  /** Limits to extract with. */
  readonly limits?: Readonly<Record<string, number>>;
}

/**
 * One case per policy rule. `sentinel` is an absolute path outside the extraction dir that must
 * never be created; `up` is a `../../…` prefix long enough to reach the filesystem root from
 * the extraction dir.
 */
export function hostileCases(sentinel: string, up: string): HostileCase[] {
  const rel = `${up}${sentinel.replace(/^\//, '')}`;
  const p = validPrefix();
  return [
    { name: 'absolute path', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: sentinel, type: '0', content: 'x' }] },
    { name: "'..' component", code: 'ARCHIVE_UNSAFE', entries: [...p, { name: rel, type: '0', content: 'x' }] },
    { name: "'..' in the middle", code: 'ARCHIVE_UNSAFE', entries: [...p, { name: `include/../${rel}`, type: '0', content: 'x' }] },
    { name: 'symlink escaping by ..', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'include/esc', type: '2', linkname: `../${rel}` }] },
    { name: 'absolute symlink', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'include/abs', type: '2', linkname: sentinel }] },
    {
      name: 'file written through an inside symlink',
      code: 'ARCHIVE_UNSAFE',
      entries: [...p, { name: 'include/d', type: '2', linkname: 'generated' }, { name: 'include/d/x.h', type: '0', content: 'x' }],
    },
    {
      name: 'symlink to a dir symlink, then a file through it',
      code: 'ARCHIVE_UNSAFE',
      entries: [...p, { name: 'l', type: '2', linkname: '.' }, { name: 'l/evil.h', type: '0', content: 'x' }],
    },
    {
      name: 'symlink escaping through another symlink',
      code: 'ARCHIVE_UNSAFE',
      entries: [...p, { name: 'up', type: '2', linkname: '.' }, { name: 'include/x', type: '2', linkname: '../up/..' }],
    },
    { name: 'symlink loop', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'a', type: '2', linkname: 'b' }, { name: 'b', type: '2', linkname: 'a/x' }] },
    { name: 'hard link', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'include/hard', type: '1', linkname: 'include/generated/utsrelease.h' }] },
    { name: 'character device', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'include/null', type: '3' }] },
    { name: 'block device', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'include/sda', type: '4' }] },
    { name: 'fifo', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'include/fifo', type: '6' }] },
    { name: 'GNU sparse (unknown type)', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'include/sparse', type: 'S' }] },
    { name: 'NUL in name (pax path)', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'x', type: '0', content: 'x', pax: { path: 'include/a\0b.h' } }] },
    { name: 'over-long path (pax path)', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'x', type: '0', content: 'x', pax: { path: `include/${'d/'.repeat(600)}x.h` } }] },
    { name: 'over-long component', code: 'ARCHIVE_UNSAFE', entries: [...p, { name: 'x', type: '0', content: 'x', pax: { path: `include/${'n'.repeat(300)}.h` } }] },
    {
      name: 'duplicate: symlink replacing a file',
      code: 'ARCHIVE_UNSAFE',
      entries: [...p, { name: 'include/a.h', type: '0', content: 'x' }, { name: 'include/a.h', type: '2', linkname: 'generated/utsrelease.h' }],
    },
    {
      name: 'duplicate: file replacing a symlink',
      code: 'ARCHIVE_UNSAFE',
      entries: [...p, { name: 'include/a.h', type: '2', linkname: 'generated/utsrelease.h' }, { name: 'include/a.h', type: '0', content: 'x' }],
    },
    {
      name: 'duplicate: file replacing a file',
      code: 'ARCHIVE_UNSAFE',
      entries: [...p, { name: 'include/a.h', type: '0', content: 'x' }, { name: './include/a.h', type: '0', content: 'y' }],
    },
    {
      name: 'entry count cap',
      code: 'ARCHIVE_TOO_LARGE',
      limits: { maxEntries: 10 },
      entries: [...p, ...Array.from({ length: 20 }, (_, i): RawEntry => ({ name: `include/f${i}.h`, type: '0', content: 'x' }))],
    },
    {
      name: 'size cap (bomb)',
      code: 'ARCHIVE_TOO_LARGE',
      limits: { maxBytes: 1024 * 1024 },
      entries: [...p, { name: 'include/bomb.h', type: '0', content: Buffer.alloc(4 * 1024 * 1024) }],
    },
    {
      name: 'only directories',
      code: 'ARCHIVE_CORRUPT',
      entries: [
        { name: './', type: '5' },
        { name: './include/', type: '5' },
      ],
    },
  ];
}
