/**
 * The tar push parser: archives written by the system's GNU tar in every format it writes
 * (gnu, posix/pax, ustar) parse to the entries and bytes that were archived, however the input
 * is chunked; every malformed input raises `ARCHIVE_CORRUPT`. Then through `extractArchive`
 * (both decoders): the same trees as GNU tar extracts, and the typed errors.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractArchive } from '../../lib/archive/index.js';
import { MAX_META_BYTES, TarParser, WHOLE_FILE_MAX, type EntrySink, type TarEntry } from '../../lib/archive/tar-parser.js';
import { isBpfCompileError } from '../../lib/errors.js';
import { xz } from '../helpers/hostile-archives.js';

interface Parsed {
  readonly entry: TarEntry;
  readonly data: Buffer;
  readonly writes: number;
  readonly closed: boolean;
}

/** Parse `tar` fed in chunks of `chunk` bytes; every entry gets a sink that records its data. */
function parse(tar: Buffer, chunk = tar.length): Parsed[] {
  const out: Array<{ entry: TarEntry; parts: Buffer[]; closed: boolean }> = [];
  const parser = new TarParser((entry) => {
    const rec = { entry, parts: [] as Buffer[], closed: false };
    out.push(rec);
    return {
      write: (b: Uint8Array): void => void rec.parts.push(Buffer.from(b)),
      close: (): void => void (rec.closed = true),
    };
  });
  for (let off = 0; off < tar.length; off += Math.max(1, chunk)) parser.push(tar.subarray(off, off + Math.max(1, chunk)));
  parser.end();
  return out.map((r) => ({ entry: r.entry, data: Buffer.concat(r.parts), writes: r.parts.length, closed: r.closed }));
}

function corrupt(tar: Buffer, chunk?: number): void {
  assert.throws(
    () => parse(tar, chunk),
    (err: unknown) => isBpfCompileError(err, 'ARCHIVE_CORRUPT'),
  );
}

// --- a raw tar writer, for inputs GNU tar never writes -------------------------------------

const BLOCK = 512;

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

function checksum(b: Buffer): Buffer {
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

interface RawHeader {
  readonly name: string;
  /** Typeflag character ('0' file, '5' dir, 'x' pax, 'L' GNU long name, …). */
  readonly type?: string;
  readonly size?: number;
  /** Raw bytes of the 12-byte size field, instead of `size`. */
  readonly sizeField?: Buffer;
  readonly linkname?: string;
  readonly format?: 'ustar' | 'gnu' | 'v7';
  readonly prefix?: string;
}

function header(h: RawHeader): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(h.name, 0, 100, 'utf8');
  b.write(octal(0o644, 8), 100, 'latin1');
  b.write(octal(0, 8), 108, 'latin1');
  b.write(octal(0, 8), 116, 'latin1');
  if (h.sizeField !== undefined) h.sizeField.copy(b, 124);
  else b.write(octal(h.size ?? 0, 12), 124, 'latin1');
  b.write(octal(0, 12), 136, 'latin1');
  b.write(h.type ?? '0', 156, 'latin1');
  b.write(h.linkname ?? '', 157, 100, 'utf8');
  const format = h.format ?? 'ustar';
  if (format === 'ustar') b.write('ustar\u000000', 257, 'latin1');
  if (format === 'gnu') b.write('ustar  \0', 257, 'latin1');
  if (h.prefix !== undefined) b.write(h.prefix, 345, 155, 'utf8');
  return checksum(b);
}

function padded(data: Buffer | string): Buffer {
  const b = Buffer.from(data);
  const rem = b.length % BLOCK;
  return rem === 0 ? b : Buffer.concat([b, Buffer.alloc(BLOCK - rem)]);
}

/** One entry: its header and padded data. */
function entry(h: RawHeader, data: Buffer | string = ''): Buffer {
  const bytes = Buffer.from(data);
  return Buffer.concat([header({ size: bytes.length, ...h }), padded(bytes)]);
}

/** Pax records with correct lengths. */
function paxBody(records: Readonly<Record<string, string>>): string {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const body = ` ${k}=${v}\n`;
    let len = Buffer.byteLength(body) + 1;
    while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
    out += `${len}${body}`;
  }
  return out;
}

const END = Buffer.alloc(2 * BLOCK);

function tar(...parts: Buffer[]): Buffer {
  return Buffer.concat([...parts, END]);
}

// --- archives written by GNU tar -------------------------------------------------------------

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bpfc-tar-parser-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Expected {
  readonly type: 'file' | 'directory' | 'symlink';
  readonly data?: Buffer;
  readonly target?: string;
}

const longDir = `d/${'n'.repeat(90)}/${'m'.repeat(60)}`; // over 100 bytes, splittable into ustar prefix + name
const bigData = Buffer.from(Array.from({ length: WHOLE_FILE_MAX + 300_000 }, (_, i) => (i * 7) % 251));

/** Make a tree; returns what each entry must parse to (names without `./`). */
function makeTree(dir: string, options: { long: boolean; big: boolean }): Map<string, Expected> {
  const files: Record<string, Buffer> = {
    'include/linux/short.h': Buffer.from('#define X 1\n'),
    'include/linux/empty.h': Buffer.alloc(0),
    'include/linux/block.h': Buffer.alloc(BLOCK, 0x61),
    'include/linux/ünïcode.h': Buffer.from('int ü;\n'),
    [`${longDir}/${'f'.repeat(50)}.h`]: Buffer.from('long dir\n'),
  };
  if (options.long) files[`${longDir}/${'f'.repeat(110)}.h`] = Buffer.from('long name\n');
  if (options.big) files['big.bin'] = bigData;
  const links: Record<string, string> = { 'include/linux/alias.h': 'short.h' };
  if (options.long) links['include/long-link.h'] = `../${longDir}/${'f'.repeat(110)}.h`;
  const expected = new Map<string, Expected>();
  for (const [name, data] of Object.entries(files)) {
    fs.mkdirSync(path.join(dir, path.dirname(name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), data);
    expected.set(name, { type: 'file', data });
  }
  for (const [name, target] of Object.entries(links)) {
    fs.symlinkSync(target, path.join(dir, name));
    expected.set(name, { type: 'symlink', target });
  }
  const dirs = (rel: string): void => {
    for (const d of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      if (!d.isDirectory()) continue;
      const r = rel === '' ? d.name : `${rel}/${d.name}`;
      expected.set(r, { type: 'directory' });
      dirs(r);
    }
  };
  dirs('');
  expected.set('', { type: 'directory' });
  return expected;
}

/** Regular files under `dir`. */
function* makeTreeFiles(dir: string): Generator<string> {
  for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
    const abs = path.join(dir, d.name);
    if (d.isDirectory()) yield* makeTreeFiles(abs);
    else if (d.isFile()) yield abs;
  }
}

function gnuTar(dir: string, format: string, extra: readonly string[] = []): Buffer {
  return execFileSync('tar', [`--format=${format}`, ...extra, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', '-', '-C', dir, '.'], {
    maxBuffer: 1 << 28,
  });
}

function checkParsed(parsed: readonly Parsed[], expected: ReadonlyMap<string, Expected>): void {
  const names = parsed.map((p) => p.entry.name.replace(/^\.\/?/, '').replace(/\/$/, ''));
  assert.deepEqual([...names].sort(), [...expected.keys()].sort());
  parsed.forEach((p, i) => {
    const want = expected.get(names[i] as string) as Expected;
    assert.equal(p.entry.type, want.type, p.entry.name);
    assert.ok(p.closed, `${p.entry.name}: sink closed`);
    if (want.type === 'file') {
      assert.equal(p.entry.size, want.data?.length, p.entry.name);
      assert.ok(p.data.equals(want.data as Buffer), `${p.entry.name}: content`);
      if (p.entry.size > 0 && p.entry.size <= WHOLE_FILE_MAX) assert.equal(p.writes, 1, `${p.entry.name}: one write`);
    } else {
      assert.equal(p.entry.size, 0);
      assert.equal(p.writes, 0);
    }
    if (want.type === 'symlink') assert.equal(p.entry.linkname, want.target);
  });
}

describe('tar parser: archives written by GNU tar', () => {
  for (const format of ['gnu', 'posix', 'ustar'] as const) {
    // ustar stores names up to 255 bytes (prefix + name) and link targets up to 100.
    const long = format !== 'ustar';
    it(`${format}: every entry, whatever the chunking`, () => {
      const dir = fs.mkdtempSync(path.join(tmp, `${format}-`));
      const expected = makeTree(dir, { long, big: false });
      const archive = gnuTar(dir, format);
      for (const chunk of [1, 7, 100, 511, 512, 513, 4096, archive.length]) checkParsed(parse(archive, chunk), expected);
    });
    it(`${format}: a file over WHOLE_FILE_MAX is streamed`, () => {
      const dir = fs.mkdtempSync(path.join(tmp, `${format}-big-`));
      const expected = makeTree(dir, { long, big: true });
      const archive = gnuTar(dir, format);
      for (const chunk of [4096, 65536, archive.length]) {
        const parsed = parse(archive, chunk);
        checkParsed(parsed, expected);
        const big = parsed.find((p) => p.entry.name.endsWith('big.bin'));
        if (chunk < archive.length) assert.ok((big?.writes ?? 0) > 1);
      }
    });
  }

  it('gnu and posix formats use their extended headers for long names', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'ext-'));
    makeTree(dir, { long: true, big: false });
    const flags = (t: Buffer): Set<string> => {
      const out = new Set<string>();
      // Only header blocks matter; data blocks of these small files start with text or zeros.
      for (let o = 0; o + BLOCK <= t.length; o += BLOCK) if (t.subarray(o + 257, o + 262).toString('latin1') === 'ustar') out.add(String.fromCharCode(t[o + 156] as number));
      return out;
    };
    const gnu = flags(gnuTar(dir, 'gnu'));
    assert.ok(gnu.has('L') && gnu.has('K'), [...gnu].join());
    assert.ok(flags(gnuTar(dir, 'posix')).has('x'));
  });

  it('a pax global header (g) is read; its records apply to every later entry', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'global-'));
    const expected = makeTree(dir, { long: true, big: false });
    const archive = gnuTar(dir, 'posix', ['--pax-option=comment=hello']);
    assert.equal(String.fromCharCode(archive[156] as number), 'g');
    checkParsed(parse(archive), expected);

    const g = entry({ name: 'pax_global_header', type: 'g' }, paxBody({ linkpath: 'global-target' }));
    const parsed = parse(
      tar(g, entry({ name: 'l1', type: '2', linkname: 'own' }), entry({ name: 'x', type: 'x' }, paxBody({ linkpath: 'per-entry' })), entry({ name: 'l2', type: '2' })),
    );
    assert.deepEqual(
      parsed.map((p) => [p.entry.name, p.entry.linkname]),
      [
        ['l1', 'global-target'],
        ['l2', 'per-entry'],
      ],
    );
  });

  it('GNU sparse files (gnu S, posix GNU.sparse.*) are reported as gnu-sparse', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'sparse-'));
    const fd = fs.openSync(path.join(dir, 'sparse.bin'), 'w');
    fs.writeSync(fd, 'x', 0);
    fs.writeSync(fd, 'y', 4 * 1024 * 1024);
    fs.closeSync(fd);
    for (const format of ['gnu', 'posix']) {
      const types = parse(gnuTar(dir, format, ['--sparse'])).map((p) => p.entry.type);
      assert.deepEqual(types, ['directory', 'gnu-sparse'], format);
    }
    const g = entry({ name: 'pax_global_header', type: 'g' }, paxBody({ 'GNU.sparse.major': '1' }));
    assert.deepEqual(
      parse(tar(g, entry({ name: 'a.h' }, 'x'), entry({ name: 'b.h' }, 'y'))).map((p) => p.entry.type),
      ['gnu-sparse', 'gnu-sparse'],
    );
  });

  it('v7 archives (no ustar magic) are refused, as tar-stream did', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'v7-'));
    fs.writeFileSync(path.join(dir, 'a.h'), 'x');
    corrupt(gnuTar(dir, 'v7'));
  });
});

describe('tar parser: header fields', () => {
  it('ustar prefix + name', () => {
    const [p] = parse(tar(entry({ name: 'name.h', prefix: 'some/prefix' }, 'abc')));
    assert.equal(p?.entry.name, 'some/prefix/name.h');
    assert.equal(p?.data.toString(), 'abc');
  });
  it('the GNU format has no prefix field', () => {
    const [p] = parse(tar(entry({ name: 'name.h', prefix: 'not/a/prefix', format: 'gnu' }, 'abc')));
    assert.equal(p?.entry.name, 'name.h');
  });
  it('base-256 size', () => {
    const sizeField = Buffer.alloc(12);
    sizeField[0] = 0x80;
    sizeField[11] = 5;
    const [p] = parse(tar(header({ name: 'b256.h', sizeField }), padded('12345')));
    assert.equal(p?.entry.size, 5);
    assert.equal(p?.data.toString(), '12345');
  });
  it('octal size with leading spaces and a space terminator', () => {
    const [p] = parse(tar(header({ name: 'sp.h', sizeField: Buffer.from('      12 \0\0\0', 'latin1') }), padded('0123456789')));
    assert.equal(p?.entry.size, 10);
  });
  it('pax path, linkpath and size override the header', () => {
    const parsed = parse(
      tar(
        entry({ name: 'x', type: 'x' }, paxBody({ path: 'real/name.h', size: '3', mtime: '1.5', 'SCHILY.xattr.user.x': 'y' })),
        header({ name: 'short', size: 0 }),
        padded('abc'),
        entry({ name: 'x', type: 'x' }, paxBody({ linkpath: 'real/name.h' })),
        entry({ name: 'link', type: '2', linkname: 'ignored' }),
      ),
    );
    assert.deepEqual(
      parsed.map((p) => [p.entry.name, p.entry.type, p.entry.size, p.entry.linkname, p.data.toString()]),
      [
        ['real/name.h', 'file', 3, null, 'abc'],
        ['link', 'symlink', 0, 'real/name.h', ''],
      ],
    );
  });
  it('a regular file named with a trailing slash is a directory', () => {
    assert.equal(parse(tar(entry({ name: 'olddir/' })))[0]?.entry.type, 'directory');
  });
  it('types the policy refuses are passed through, named', () => {
    const types = parse(tar(entry({ name: 'h', type: '1', linkname: 'x' }), entry({ name: 'c', type: '3' }), entry({ name: 'v', type: 'V' }), entry({ name: 's', type: 'S' }))).map(
      (p) => p.entry.type,
    );
    assert.deepEqual(types, ['link', 'character-device', 'V', 'gnu-sparse']);
  });
  it('trailing zeros after the end marker (record padding) are fine', () => {
    assert.equal(parse(Buffer.concat([tar(entry({ name: 'a.h' }, 'x')), Buffer.alloc(8192)])).length, 1);
  });
  it('an entry of a type without data may get no sink', () => {
    const seen: string[] = [];
    const parser = new TarParser((e) => {
      seen.push(e.name);
      return undefined;
    });
    parser.push(tar(entry({ name: 'd/', type: '5' }), entry({ name: 'empty.h' })));
    parser.end();
    assert.deepEqual(seen, ['d/', 'empty.h']);
  });
});

describe('tar parser: malformed input → ARCHIVE_CORRUPT', () => {
  const good = (): Buffer => tar(entry({ name: 'a.h' }, 'hello'), entry({ name: 'b.h' }, 'x'.repeat(700)));

  it('no input at all', () => corrupt(Buffer.alloc(0)));
  it('truncated inside a header, the data, the padding, the end marker', () => {
    const t = good();
    for (const cut of [300, BLOCK + 3, BLOCK + 100, 2 * BLOCK + 600, 4 * BLOCK + 100, t.length - BLOCK]) {
      for (const chunk of [1, 512, t.length]) corrupt(t.subarray(0, cut), chunk);
    }
  });
  it('missing end-of-archive marker (ends on a header boundary)', () => corrupt(good().subarray(0, good().length - 2 * BLOCK)));
  it('bad header checksum', () => {
    const t = good();
    t[0] = 0x62; // 'a.h' → 'b.h' without fixing the checksum
    corrupt(t);
  });
  it('a malformed checksum field', () => {
    const t = good();
    t.write('12x4567\0', 148, 'latin1');
    corrupt(t);
  });
  it('no ustar/GNU magic', () => corrupt(tar(entry({ name: 'a.h', format: 'v7' }, 'x'))));
  it('negative, malformed and huge sizes', () => {
    const neg = Buffer.alloc(12, 0xff);
    const bad256 = Buffer.alloc(12);
    bad256[0] = 0x81;
    const huge = Buffer.alloc(12, 0xff);
    huge[0] = 0x80;
    for (const sizeField of [neg, bad256, huge, Buffer.from('0000000012x\0', 'latin1'), Buffer.from('-0000000001\0', 'latin1')]) {
      corrupt(tar(header({ name: 'a.h', sizeField }), padded('x')));
    }
  });
  it('pax records with bad lengths or syntax', () => {
    const bodies = [
      '99 path=a.h\n', // longer than the header
      '5 path=a.h\n', // shorter than its own text
      'x path=a.h\n', // no length
      '13path=a.h\n\n', // no space after the length
      '12 path=a.hX', // not newline-terminated
      '9 patha\n\n', // no '='
      '7 =a.h\n', // empty key
      `${paxBody({ path: 'a.h' })}garbage`, // trailing bytes that are no record
      paxBody({ size: '12a' }),
      paxBody({ size: '-1' }),
      paxBody({ size: '99999999999999999999' }),
    ];
    for (const body of bodies) corrupt(tar(entry({ name: 'PaxHeader', type: 'x' }, body), entry({ name: 'a.h' }, 'x')));
  });
  it('an extended header over MAX_META_BYTES', () => {
    corrupt(tar(header({ name: 'PaxHeader', type: 'x', size: MAX_META_BYTES + 1 })));
    corrupt(tar(header({ name: '././@LongLink', type: 'L', size: MAX_META_BYTES + 1, format: 'gnu' })));
  });
  it('global pax headers over MAX_META_BYTES in all', () => {
    const g = entry({ name: 'pax_global_header', type: 'g' }, paxBody({ comment: 'c'.repeat(MAX_META_BYTES / 2 + 10) }));
    assert.equal(parse(tar(g, entry({ name: 'a.h' }, 'x'))).length, 1);
    corrupt(tar(g, g, entry({ name: 'a.h' }, 'x')));
  });
  it('an extended header not followed by an entry', () => {
    corrupt(tar(entry({ name: 'PaxHeader', type: 'x' }, paxBody({ path: 'a.h' }))));
    corrupt(tar(entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, 'long-name\0')));
  });
  it('two extended headers of one kind for one entry', () => {
    const x = entry({ name: 'PaxHeader', type: 'x' }, paxBody({ path: 'a.h' }));
    corrupt(tar(x, x, entry({ name: 'a' }, 'x')));
    const l = entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, 'long-name\0');
    corrupt(tar(l, l, entry({ name: 'a', format: 'gnu' }, 'x')));
  });
  it('a lone zero block followed by an entry', () => {
    corrupt(tar(entry({ name: 'a.h' }, 'x'), Buffer.alloc(BLOCK), entry({ name: 'hidden.h' }, 'y')));
  });
  it('data after the end-of-archive marker', () => {
    corrupt(Buffer.concat([good(), entry({ name: 'hidden.h' }, 'y')]));
    corrupt(Buffer.concat([good(), Buffer.from([0, 0, 1])]));
  });
  it('a directory or symlink carrying data', () => {
    const noSink = (t: Buffer): void =>
      assert.throws(
        () => {
          const p = new TarParser((e) => (e.type === 'file' ? { write() {}, close() {} } : undefined));
          p.push(t);
          p.end();
        },
        (err: unknown) => isBpfCompileError(err, 'ARCHIVE_CORRUPT'),
      );
    noSink(tar(entry({ name: 'd/', type: '5' }, 'data')));
    noSink(tar(entry({ name: 'l', type: '2', linkname: 't' }, 'data')));
  });
});

describe('tar parser: errors from the handler or a sink', () => {
  it('propagate, close the open sink, and the parser is not reusable', () => {
    const closed: string[] = [];
    const parser = new TarParser((e): EntrySink => ({
      write(): void {
        if (e.name === 'b.h') throw new Error('disk full');
      },
      close(): void {
        closed.push(e.name);
      },
    }));
    const t = tar(entry({ name: 'a.h' }, 'x'), entry({ name: 'b.h' }, 'y'.repeat(2000)));
    assert.throws(() => parser.push(t), /disk full/);
    assert.deepEqual(closed, ['a.h', 'b.h']);
    assert.throws(() => parser.push(t), /after an error/);
  });
});

describe('extraction through the parser', () => {
  /** Relative path → 'dir' | 'file:<sha of content>' | 'link:<target>' for a tree. */
  function listing(root: string): Map<string, string> {
    const out = new Map<string, string>();
    const walk = (rel: string): void => {
      for (const d of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
        const r = rel === '' ? d.name : `${rel}/${d.name}`;
        const abs = path.join(root, r);
        if (d.isSymbolicLink()) out.set(r, `link:${fs.readlinkSync(abs)}`);
        else if (d.isDirectory()) {
          out.set(r, 'dir');
          walk(r);
        } else out.set(r, `file:${fs.readFileSync(abs).toString('base64')}`);
      }
    };
    walk('');
    return out;
  }

  for (const format of ['gnu', 'posix', 'ustar'] as const) {
    for (const decoder of ['xz', 'lzma-native'] as const) {
      it(`${format} (${decoder}): the same tree as GNU tar extracts`, async () => {
        const dir = fs.mkdtempSync(path.join(tmp, `x-${format}-${decoder}-`));
        fs.mkdirSync(path.join(dir, 'src'));
        makeTree(path.join(dir, 'src'), { long: format !== 'ustar', big: true });
        const archive = xz(gnuTar(path.join(dir, 'src'), format));
        const r = await extractArchive(archive, path.join(dir, 'ours'), { decoder });
        fs.mkdirSync(path.join(dir, 'gnu'));
        execFileSync('tar', ['-xJf', '-', '-C', path.join(dir, 'gnu')], { input: archive });
        assert.deepEqual(listing(path.join(dir, 'ours')), listing(path.join(dir, 'gnu')));
        assert.equal(
          r.bytes,
          [...makeTreeFiles(path.join(dir, 'src'))].reduce((n, f) => n + fs.statSync(f).size, 0),
        );
      });
    }
  }

  const cases: Array<[string, 'ARCHIVE_CORRUPT' | 'ARCHIVE_UNSAFE', Buffer]> = [
    ['a symlink carrying data', 'ARCHIVE_CORRUPT', tar(entry({ name: 'a.h' }, 'x'), entry({ name: 'l', type: '2', linkname: 'a.h' }, 'data'))],
    ['a directory carrying data', 'ARCHIVE_CORRUPT', tar(entry({ name: 'a.h' }, 'x'), entry({ name: 'd/', type: '5' }, 'data'))],
    ['an entry hidden after the end marker', 'ARCHIVE_CORRUPT', Buffer.concat([tar(entry({ name: 'a.h' }, 'x')), entry({ name: 'hidden.h' }, 'y')])],
    ['a missing end marker', 'ARCHIVE_CORRUPT', entry({ name: 'a.h' }, 'x')],
    ['a bad checksum', 'ARCHIVE_CORRUPT', Buffer.concat([entry({ name: 'a.h' }, 'x'), header({ name: 'b.h' }).fill(0x63, 0, 1), END])],
    ['a pax record with a bad length', 'ARCHIVE_CORRUPT', tar(entry({ name: 'PaxHeader', type: 'x' }, '99 path=a.h\n'), entry({ name: 'a.h' }, 'x'))],
    ['a GNU sparse file', 'ARCHIVE_UNSAFE', tar(entry({ name: 'a.h' }, 'x'), entry({ name: 's.h', type: 'S' }, 'x'))],
    ['a global pax path with ..', 'ARCHIVE_UNSAFE', tar(entry({ name: 'pax_global_header', type: 'g' }, paxBody({ path: '../escape.h' })), entry({ name: 'a.h' }, 'x'))],
    ['a GNU long name with ..', 'ARCHIVE_UNSAFE', tar(entry({ name: '././@LongLink', type: 'L', format: 'gnu' }, '../escape.h\0'), entry({ name: 'a.h', format: 'gnu' }, 'x'))],
  ];
  for (const [name, code, raw] of cases) {
    for (const decoder of ['xz', 'lzma-native'] as const) {
      it(`${name} (${decoder}) → ${code}`, async () => {
        const parent = fs.mkdtempSync(path.join(tmp, 'bad-'));
        await assert.rejects(extractArchive(xz(raw), path.join(parent, 'out'), { decoder }), (err: unknown) => {
          assert.ok(isBpfCompileError(err, code), `expected ${code}, got ${String(err)}`);
          return true;
        });
        assert.deepEqual(fs.readdirSync(parent), [], 'nothing left behind');
        assert.equal(fs.existsSync(path.join(tmp, 'escape.h')), false);
      });
    }
  }
});
