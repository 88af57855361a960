/**
 * Unit tests of lib/kmod/elf.ts, lib/kmod/decompress.ts and lib/kmod/kheaders-module.ts on handcrafted
 * ELF blobs (ELF64/ELF32, little/big endian), built by the small writer below.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { BpfCompileError, ErrorCode } from '../../lib/errors.js';
import { decompressModuleFile, detectModuleFormat } from '../../lib/kmod/decompress.js';
import { isElf, parseElf, readSymbols, sectionData, SectionIndex } from '../../lib/kmod/elf.js';
import { extractKheadersFromModule, kheadersFromModuleContent, locateKheadersInModule, readKheadersFromModuleFile, sniffKheadersFile } from '../../lib/kmod/kheaders-module.js';
import { tempDir } from '../helpers/fake-kernel.js';

// ---------------------------------------------------------------------------------------------
// A tiny ELF writer: sections [null, .rodata, .data, .symtab, .strtab, .shstrtab].

interface SymSpec {
  readonly name: string;
  readonly value: bigint;
  readonly shndx: number;
  /** 0 LOCAL, 1 GLOBAL. Default GLOBAL. */
  readonly bind?: number;
}

interface ElfSpec {
  readonly bits: 32 | 64;
  readonly le: boolean;
  /** e_type; default 1 (ET_REL). */
  readonly type?: number;
  /** Contents of section 1, `.rodata`. */
  readonly rodata: Uint8Array;
  /** sh_addr of `.rodata`. Default 0. */
  readonly rodataAddr?: bigint;
  readonly symbols: readonly SymSpec[];
  /** Omit the `.symtab` (a stripped file). */
  readonly noSymtab?: boolean;
}

interface BuiltElf {
  readonly buf: Buffer;
  readonly shoff: number;
  readonly rodataOffset: number;
  readonly symtabOffset: number;
  readonly shentsize: number;
}

const RODATA = 1;
const DATA = 2;

function strtab(names: readonly string[]): { bytes: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  const parts: Buffer[] = [Buffer.from([0])];
  let at = 1;
  for (const n of names) {
    offsets.push(at);
    const b = Buffer.from(`${n}\0`);
    parts.push(b);
    at += b.length;
  }
  return { bytes: Buffer.concat(parts), offsets };
}

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

function buildElf(spec: ElfSpec): BuiltElf {
  const is64 = spec.bits === 64;
  const ehsize = is64 ? 64 : 52;
  const shentsize = is64 ? 64 : 40;
  const symsize = is64 ? 24 : 16;
  const dataSec = Buffer.from('other data');
  const syms = [{ name: '', value: 0n, shndx: 0, bind: 0 }, ...spec.symbols];
  const str = strtab(spec.symbols.map((s) => s.name));
  const secNames = ['.rodata', '.data', '.symtab', '.strtab', '.shstrtab'];
  const shstr = strtab(secNames);

  let at = ehsize;
  const rodataOffset = at;
  at += spec.rodata.length;
  const dataOffset = at;
  at += dataSec.length;
  const strOffset = at;
  at += str.bytes.length;
  const shstrOffset = at;
  at += shstr.bytes.length;
  const symtabOffset = align(at, 8);
  at = symtabOffset + syms.length * symsize;
  const shoff = align(at, 8);
  const total = shoff + 6 * shentsize;

  const buf = Buffer.alloc(total);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u16 = (o: number, x: number): void => v.setUint16(o, x, spec.le);
  const u32 = (o: number, x: number): void => v.setUint32(o, x, spec.le);
  const word = (o: number, x: bigint | number): void => {
    if (is64) v.setBigUint64(o, BigInt(x), spec.le);
    else v.setUint32(o, Number(x), spec.le);
  };
  buf.set([0x7f, 0x45, 0x4c, 0x46, is64 ? 2 : 1, spec.le ? 1 : 2, 1], 0);
  u16(0x10, spec.type ?? 1);
  u16(0x12, is64 ? 62 : 3);
  u32(0x14, 1);
  word(is64 ? 0x28 : 0x20, shoff);
  u16(is64 ? 0x34 : 0x28, ehsize);
  u16(is64 ? 0x3a : 0x2e, shentsize);
  u16(is64 ? 0x3c : 0x30, 6);
  u16(is64 ? 0x3e : 0x32, 5);

  buf.set(spec.rodata, rodataOffset);
  buf.set(dataSec, dataOffset);
  buf.set(str.bytes, strOffset);
  buf.set(shstr.bytes, shstrOffset);
  syms.forEach((s, i) => {
    const o = symtabOffset + i * symsize;
    const nameOff = i === 0 ? 0 : (str.offsets[i - 1] ?? 0);
    const info = ((s.bind ?? 1) << 4) | 0;
    u32(o, nameOff);
    if (is64) {
      v.setUint8(o + 4, info);
      u16(o + 6, s.shndx);
      v.setBigUint64(o + 8, s.value, spec.le);
      v.setBigUint64(o + 16, 0n, spec.le);
    } else {
      u32(o + 4, Number(s.value));
      u32(o + 8, 0);
      v.setUint8(o + 12, info);
      u16(o + 14, s.shndx);
    }
  });
  const firstGlobal = syms.findIndex((s) => (s.bind ?? 1) !== 0);
  const sec = (i: number, name: number, type: number, flags: number, addr: bigint, offset: number, size: number, link: number, info: number, entsize: number): void => {
    const o = shoff + i * shentsize;
    const w = is64 ? 8 : 4;
    u32(o, name);
    u32(o + 4, type);
    word(o + 8, flags);
    word(o + 8 + w, addr);
    word(o + 8 + 2 * w, offset);
    word(o + 8 + 3 * w, size);
    u32(o + 8 + 4 * w, link);
    u32(o + 12 + 4 * w, info);
    word(o + 16 + 4 * w, 1);
    word(o + 16 + 5 * w, entsize);
  };
  const n = shstr.offsets;
  sec(1, n[0] ?? 0, 1, 2, spec.rodataAddr ?? 0n, rodataOffset, spec.rodata.length, 0, 0, 0);
  sec(2, n[1] ?? 0, 1, 3, 0n, dataOffset, dataSec.length, 0, 0, 0);
  sec(3, n[2] ?? 0, spec.noSymtab === true ? 1 : 2, 0, 0n, symtabOffset, syms.length * symsize, 4, firstGlobal === -1 ? syms.length : firstGlobal, symsize);
  sec(4, n[3] ?? 0, 3, 0, 0n, strOffset, str.bytes.length, 0, 0, 0);
  sec(5, n[4] ?? 0, 3, 0, 0n, shstrOffset, shstr.bytes.length, 0, 0, 0);
  return { buf, shoff, rodataOffset, symtabOffset, shentsize };
}

// A fake "archive": xz magic then some bytes.
const ARCHIVE = Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), Buffer.from('tar bytes here\u0000YZ')]);
const PREFIX = Buffer.from('before!');
const SUFFIX = Buffer.from('after');

/** A kheaders-like module: .rodata = PREFIX + ARCHIVE + SUFFIX, symbols around ARCHIVE. */
function kheadersElf(bits: 32 | 64, le: boolean, over: Partial<ElfSpec> = {}): BuiltElf {
  return buildElf({
    bits,
    le,
    rodata: Buffer.concat([PREFIX, ARCHIVE, SUFFIX]),
    symbols: [
      { name: 'local_thing', value: 0n, shndx: RODATA, bind: 0 },
      { name: 'kernel_headers_data', value: BigInt(PREFIX.length), shndx: RODATA },
      { name: 'kernel_headers_data_end', value: BigInt(PREFIX.length + ARCHIVE.length), shndx: RODATA },
      { name: 'some_import', value: 0n, shndx: 0 },
    ],
    ...over,
  });
}

function isCode(code: string, check?: (e: BpfCompileError) => void) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof BpfCompileError, `not a BpfCompileError: ${String(err)}`);
    assert.equal(err.code, code, err.message);
    check?.(err);
    return true;
  };
}

const invalidAt = (offset?: number) =>
  isCode(ErrorCode.MODULE_INVALID, (e) => {
    assert.equal(typeof e.details['offset'], 'number', `no offset in details of: ${e.message}`);
    if (offset !== undefined) assert.equal(e.details['offset'], offset, e.message);
    assert.ok(e.hint !== undefined && e.hint.length > 0);
  });

const VARIANTS = [
  { bits: 64, le: true },
  { bits: 64, le: false },
  { bits: 32, le: true },
  { bits: 32, le: false },
] as const;

// ---------------------------------------------------------------------------------------------

describe('ELF reader', () => {
  for (const { bits, le } of VARIANTS) {
    test(`ELF${bits} ${le ? 'LE' : 'BE'}: sections, symbols and section data`, () => {
      const { buf } = kheadersElf(bits, le);
      const elf = parseElf(buf);
      assert.equal(elf.bits, bits);
      assert.equal(elf.littleEndian, le);
      assert.equal(elf.type, 1);
      assert.deepEqual(
        elf.sections.map((s) => s.name),
        ['', '.rodata', '.data', '.symtab', '.strtab', '.shstrtab'],
      );
      const rodata = elf.sections[1];
      assert.ok(rodata);
      assert.deepEqual(Buffer.from(sectionData(elf, rodata)), Buffer.concat([PREFIX, ARCHIVE, SUFFIX]));
      const syms = readSymbols(elf);
      assert.equal(syms.length, 5);
      const start = syms.find((s) => s.name === 'kernel_headers_data');
      assert.equal(start?.value, BigInt(PREFIX.length));
      assert.equal(start?.shndx, RODATA);
      assert.equal(start?.bind, 1);
      assert.equal(syms.find((s) => s.name === 'local_thing')?.bind, 0);
      assert.equal(syms.find((s) => s.name === 'some_import')?.shndx, SectionIndex.UNDEF);
    });
  }

  test('isElf', () => {
    assert.equal(isElf(Buffer.from([0x7f, 0x45, 0x4c, 0x46])), true);
    assert.equal(isElf(Buffer.from([0x7f, 0x45, 0x4c])), false);
    assert.equal(isElf(Buffer.from('hello world')), false);
  });

  test('not ELF, unknown class, unknown data encoding', () => {
    const { buf } = kheadersElf(64, true);
    assert.throws(() => parseElf(Buffer.from('not an elf file at all, really not')), invalidAt(0));
    const badClass = Buffer.from(buf);
    badClass[4] = 3;
    assert.throws(() => parseElf(badClass), invalidAt(4));
    const badEnc = Buffer.from(buf);
    badEnc[5] = 0;
    assert.throws(() => parseElf(badEnc), invalidAt(5));
  });

  test('every truncation of a valid file is MODULE_INVALID, never another error', () => {
    for (const { bits, le } of VARIANTS) {
      const { buf } = kheadersElf(bits, le);
      for (let len = 0; len < buf.length; len++) {
        assert.throws(() => extractKheadersFromModule(buf.subarray(0, len)), isCode(ErrorCode.MODULE_INVALID), `ELF${bits} truncated to ${len}`);
      }
    }
  });

  test('a huge section count is refused without allocating', () => {
    const { buf } = kheadersElf(64, true);
    const b = Buffer.from(buf);
    b.writeUInt16LE(0xfff0, 0x3c);
    assert.throws(() => parseElf(b), invalidAt(kheadersElf(64, true).shoff));
  });

  test('extended section count (e_shnum 0) is read from section 0, and bounded by the file', () => {
    const built = kheadersElf(64, true);
    const b = Buffer.from(built.buf);
    b.writeUInt16LE(0, 0x3c);
    b.writeBigUInt64LE(6n, built.shoff + 0x20); // section 0 sh_size = real count
    assert.equal(parseElf(b).sections.length, 6);
    b.writeBigUInt64LE(1n << 40n, built.shoff + 0x20);
    assert.throws(() => parseElf(b), invalidAt(built.shoff));
  });

  test('section header table offset past the end, and 64-bit offsets over 2^53', () => {
    const { buf } = kheadersElf(64, true);
    const b = Buffer.from(buf);
    b.writeBigUInt64LE(BigInt(buf.length + 100), 0x28);
    assert.throws(() => parseElf(b), invalidAt(buf.length + 100));
    b.writeBigUInt64LE(0xffff_ffff_ffff_fff0n, 0x28);
    assert.throws(() => parseElf(b), invalidAt(0x28));
  });

  test('section header entry size too small', () => {
    const b = Buffer.from(kheadersElf(32, false).buf);
    b.writeUInt16BE(20, 0x2e);
    assert.throws(() => parseElf(b), invalidAt(0x2e));
  });

  test('section data running past the end of the file names its offset', () => {
    const built = kheadersElf(64, true);
    const b = Buffer.from(built.buf);
    // .rodata sh_size (section 1, field at +0x20)
    b.writeBigUInt64LE(1_000_000n, built.shoff + built.shentsize + 0x20);
    const elf = parseElf(b);
    const rodata = elf.sections[1];
    assert.ok(rodata);
    assert.throws(() => sectionData(elf, rodata), invalidAt(built.rodataOffset));
  });

  test('no .symtab (stripped) → MODULE_INVALID saying so', () => {
    const { buf } = kheadersElf(64, true, { noSymtab: true });
    assert.throws(
      () => extractKheadersFromModule(buf),
      isCode(ErrorCode.MODULE_INVALID, (e) => assert.match(e.message, /no symbol table/)),
    );
  });

  test('.symtab linking to a non-string-table section', () => {
    const built = kheadersElf(64, true);
    const b = Buffer.from(built.buf);
    b.writeUInt32LE(DATA, built.shoff + 3 * built.shentsize + 0x28); // symtab sh_link → .data
    assert.throws(() => readSymbols(parseElf(b)), invalidAt(built.symtabOffset));
  });

  test('symbol name offset outside the string table', () => {
    const built = kheadersElf(64, true);
    const b = Buffer.from(built.buf);
    b.writeUInt32LE(0xffffff, built.symtabOffset + 24); // symbol 1 st_name
    assert.throws(() => readSymbols(parseElf(b)), invalidAt(built.symtabOffset + 24));
  });

  test('SHN_XINDEX without .symtab_shndx', () => {
    const built = kheadersElf(64, true);
    const b = Buffer.from(built.buf);
    b.writeUInt16LE(0xffff, built.symtabOffset + 2 * 24 + 6); // symbol 2 st_shndx
    assert.throws(() => readSymbols(parseElf(b)), invalidAt(built.symtabOffset + 2 * 24));
  });

  test('fuzz: random mutations of valid files give a result or MODULE_INVALID, nothing else', () => {
    let seed = 0x2545f491;
    const rand = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) / 0x1_0000_0000;
    };
    let ok = 0;
    let invalid = 0;
    for (let i = 0; i < 3000; i++) {
      const v = VARIANTS[i % VARIANTS.length];
      assert.ok(v);
      const b = Buffer.from(kheadersElf(v.bits, v.le).buf);
      const flips = 1 + Math.floor(rand() * 8);
      for (let f = 0; f < flips; f++) {
        const at = 4 + Math.floor(rand() * (b.length - 4)); // keep the magic: exercise the parser
        b[at] = Math.floor(rand() * 256);
      }
      try {
        const out = extractKheadersFromModule(b);
        assert.ok(out instanceof Uint8Array);
        assert.ok(out.length <= b.length);
        ok++;
      } catch (err) {
        assert.ok(err instanceof BpfCompileError && err.code === ErrorCode.MODULE_INVALID, `iteration ${i}: ${String(err)}`);
        invalid++;
      }
    }
    assert.ok(ok > 0 && invalid > 0, `ok ${ok}, invalid ${invalid}`);
    // random bytes behind a valid magic and class
    for (let i = 0; i < 500; i++) {
      const b = Buffer.alloc(64 + Math.floor(rand() * 512));
      for (let j = 0; j < b.length; j++) b[j] = Math.floor(rand() * 256);
      b.set([0x7f, 0x45, 0x4c, 0x46, 1 + (i % 2), 1 + ((i >> 1) % 2)], 0);
      assert.throws(() => extractKheadersFromModule(b), isCode(ErrorCode.MODULE_INVALID));
    }
  });
});

describe('extractKheadersFromModule', () => {
  for (const { bits, le } of VARIANTS) {
    test(`ELF${bits} ${le ? 'LE' : 'BE'}: returns the bytes between the symbols, as a view`, () => {
      const { buf, rodataOffset } = kheadersElf(bits, le);
      const out = extractKheadersFromModule(buf);
      assert.deepEqual(Buffer.from(out), ARCHIVE);
      assert.equal(out.buffer, buf.buffer, 'not a view of the input');
      assert.equal(out.byteOffset, buf.byteOffset + rodataOffset + PREFIX.length);
      assert.deepEqual(locateKheadersInModule(buf), { section: '.rodata', fileOffset: rodataOffset + PREFIX.length, length: ARCHIVE.length });
    });
  }

  test('linked image (ET_EXEC): symbol values are addresses, minus the section address', () => {
    const addr = 0xffff_ffff_8200_0000n;
    const { buf } = kheadersElf(64, true, {
      type: 2,
      rodataAddr: addr,
      symbols: [
        { name: 'kernel_headers_data', value: addr + BigInt(PREFIX.length), shndx: RODATA },
        { name: 'kernel_headers_data_end', value: addr + BigInt(PREFIX.length + ARCHIVE.length), shndx: RODATA },
      ],
    });
    assert.deepEqual(Buffer.from(extractKheadersFromModule(buf)), ARCHIVE);
  });

  test('missing symbols are named', () => {
    const none = kheadersElf(64, true, { symbols: [{ name: 'other', value: 0n, shndx: RODATA }] });
    assert.throws(
      () => extractKheadersFromModule(none.buf),
      isCode(ErrorCode.MODULE_INVALID, (e) => {
        assert.match(e.message, /kernel_headers_data and no kernel_headers_data_end/);
        assert.deepEqual(e.details['missing'], ['kernel_headers_data', 'kernel_headers_data_end']);
      }),
    );
    const noEnd = kheadersElf(32, true, { symbols: [{ name: 'kernel_headers_data', value: 0n, shndx: RODATA }] });
    assert.throws(
      () => extractKheadersFromModule(noEnd.buf),
      isCode(ErrorCode.MODULE_INVALID, (e) => assert.deepEqual(e.details['missing'], ['kernel_headers_data_end'])),
    );
  });

  test('an undefined (imported) symbol does not count as present', () => {
    const { buf } = kheadersElf(64, true, {
      symbols: [
        { name: 'kernel_headers_data', value: 0n, shndx: SectionIndex.UNDEF },
        { name: 'kernel_headers_data_end', value: 10n, shndx: RODATA },
      ],
    });
    assert.throws(
      () => extractKheadersFromModule(buf),
      isCode(ErrorCode.MODULE_INVALID, (e) => assert.deepEqual(e.details['missing'], ['kernel_headers_data'])),
    );
  });

  test('end before start', () => {
    const { buf } = kheadersElf(64, false, {
      symbols: [
        { name: 'kernel_headers_data', value: 10n, shndx: RODATA },
        { name: 'kernel_headers_data_end', value: 4n, shndx: RODATA },
      ],
    });
    assert.throws(() => extractKheadersFromModule(buf), invalidAt());
  });

  test('end past the end of the section', () => {
    const { buf } = kheadersElf(32, true, {
      symbols: [
        { name: 'kernel_headers_data', value: BigInt(PREFIX.length), shndx: RODATA },
        { name: 'kernel_headers_data_end', value: 100_000n, shndx: RODATA },
      ],
    });
    assert.throws(() => extractKheadersFromModule(buf), invalidAt());
  });

  test('empty range', () => {
    const { buf } = kheadersElf(64, true, {
      symbols: [
        { name: 'kernel_headers_data', value: 3n, shndx: RODATA },
        { name: 'kernel_headers_data_end', value: 3n, shndx: RODATA },
      ],
    });
    assert.throws(
      () => extractKheadersFromModule(buf),
      isCode(ErrorCode.MODULE_INVALID, (e) => assert.match(e.message, /empty/)),
    );
  });

  test('symbols in different sections', () => {
    const { buf } = kheadersElf(64, true, {
      symbols: [
        { name: 'kernel_headers_data', value: 0n, shndx: RODATA },
        { name: 'kernel_headers_data_end', value: 4n, shndx: DATA },
      ],
    });
    assert.throws(
      () => extractKheadersFromModule(buf),
      isCode(ErrorCode.MODULE_INVALID, (e) => assert.match(e.message, /different sections/)),
    );
  });

  test('symbols in a section the file does not have, or absolute', () => {
    for (const shndx of [42, SectionIndex.ABS]) {
      const { buf } = kheadersElf(64, true, {
        symbols: [
          { name: 'kernel_headers_data', value: 0n, shndx },
          { name: 'kernel_headers_data_end', value: 4n, shndx },
        ],
      });
      assert.throws(() => extractKheadersFromModule(buf), invalidAt());
    }
  });

  test('wrong magic in the embedded data', () => {
    const { buf, rodataOffset } = kheadersElf(64, true, { rodata: Buffer.concat([PREFIX, Buffer.alloc(ARCHIVE.length, 'PK\u0003\u0004'), SUFFIX]) });
    assert.throws(
      () => extractKheadersFromModule(buf),
      isCode(ErrorCode.MODULE_INVALID, (e) => {
        assert.match(e.message, /not an xz stream/);
        assert.equal(e.details['offset'], rodataOffset + PREFIX.length);
      }),
    );
  });

  test('compressed input is refused with a pointer to decompressModuleFile', () => {
    const gz = zlib.gzipSync(kheadersElf(64, true).buf);
    assert.throws(
      () => extractKheadersFromModule(gz),
      isCode(ErrorCode.MODULE_INVALID, (e) => assert.match(e.hint ?? '', /decompressModuleFile/)),
    );
  });
});

// ---------------------------------------------------------------------------------------------

function xz(data: Uint8Array): Buffer {
  return execFileSync('xz', ['-c', '--format=xz', '--check=crc32'], { input: data });
}

describe('decompressModuleFile / sniffKheadersFile', () => {
  const elf = kheadersElf(64, true).buf;
  const ZSTD_BLOB = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x24, 0x00, 0x01, 0x00, 0x00]);

  test('detectModuleFormat by magic bytes', () => {
    assert.equal(detectModuleFormat(elf), 'elf');
    assert.equal(detectModuleFormat(xz(elf)), 'xz');
    assert.equal(detectModuleFormat(zlib.gzipSync(elf)), 'gzip');
    assert.equal(detectModuleFormat(ZSTD_BLOB), 'zstd');
    assert.equal(detectModuleFormat(Buffer.from('hello')), 'unknown');
    assert.equal(detectModuleFormat(new Uint8Array(0)), 'unknown');
  });

  test('plain ELF is returned as is', async () => {
    assert.equal(await decompressModuleFile(elf), elf);
  });

  test('.ko.xz and .ko.gz content decompress to the module', async () => {
    assert.deepEqual(Buffer.from(await decompressModuleFile(xz(elf))), elf);
    assert.deepEqual(Buffer.from(await decompressModuleFile(zlib.gzipSync(elf))), elf);
    assert.deepEqual(Buffer.from(await kheadersFromModuleContent(xz(elf))), ARCHIVE);
    assert.deepEqual(Buffer.from(await kheadersFromModuleContent(zlib.gzipSync(elf))), ARCHIVE);
  });

  test('zstd is refused with a hint to run zstd -d', async () => {
    await assert.rejects(
      decompressModuleFile(ZSTD_BLOB),
      isCode(ErrorCode.MODULE_INVALID, (e) => {
        assert.match(e.message, /zstd/);
        assert.match(e.hint ?? '', /zstd -d/);
        assert.equal(e.details['format'], 'zstd');
      }),
    );
  });

  test('unknown content, and compressed content that is not ELF', async () => {
    await assert.rejects(decompressModuleFile(Buffer.from('#!/bin/sh\necho hi\n')), invalidAt(0));
    await assert.rejects(
      decompressModuleFile(xz(Buffer.from('just text'))),
      isCode(ErrorCode.MODULE_INVALID, (e) => assert.match(e.message, /does not hold an ELF/)),
    );
    await assert.rejects(decompressModuleFile(zlib.gzipSync(Buffer.from('just text'))), isCode(ErrorCode.MODULE_INVALID));
  });

  test('corrupt or truncated compressed data', async () => {
    const x = xz(elf);
    await assert.rejects(
      decompressModuleFile(x.subarray(0, x.length - 10)),
      isCode(ErrorCode.MODULE_INVALID, (e) => assert.match(e.message, /corrupt or truncated/)),
    );
    const flipped = Buffer.from(x);
    const mid = Math.floor(flipped.length / 2);
    flipped[mid] = (flipped[mid] ?? 0) ^ 0xff;
    await assert.rejects(decompressModuleFile(flipped), isCode(ErrorCode.MODULE_INVALID));
    const gz = zlib.gzipSync(elf);
    await assert.rejects(decompressModuleFile(gz.subarray(0, gz.length - 6)), isCode(ErrorCode.MODULE_INVALID));
  });

  test('output over maxBytes is refused (a decompression bomb stops early)', async () => {
    const bomb = Buffer.concat([elf, Buffer.alloc(8 * 1024 * 1024)]);
    for (const packed of [xz(bomb), zlib.gzipSync(bomb)]) {
      const t0 = Date.now();
      await assert.rejects(
        decompressModuleFile(packed, { maxBytes: 1024 * 1024 }),
        isCode(ErrorCode.MODULE_INVALID, (e) => assert.match(e.message, /more than 1048576 bytes/)),
      );
      assert.ok(Date.now() - t0 < 5000);
    }
    assert.deepEqual(Buffer.from(await decompressModuleFile(xz(elf), { maxBytes: elf.length })), elf);
    await assert.rejects(decompressModuleFile(xz(elf), { maxBytes: elf.length - 1 }), isCode(ErrorCode.MODULE_INVALID));
  });

  test('sniffKheadersFile: archive vs module, by content', async () => {
    const tarLike = Buffer.alloc(1024);
    tarLike.write('./include/', 0);
    tarLike.write('ustar  ', 257);
    assert.equal(await sniffKheadersFile(xz(tarLike)), 'archive');
    assert.equal(await sniffKheadersFile(elf), 'module');
    assert.equal(await sniffKheadersFile(xz(elf)), 'module');
    assert.equal(await sniffKheadersFile(zlib.gzipSync(elf)), 'module');
    assert.equal(await sniffKheadersFile(ZSTD_BLOB), 'module');
    // corrupt xz: left to the archive reader to report
    assert.equal(await sniffKheadersFile(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3])), 'archive');
    await assert.rejects(sniffKheadersFile(Buffer.from('PK\u0003\u0004')), isCode(ErrorCode.ARCHIVE_CORRUPT));
  });
});

describe('readKheadersFromModuleFile', () => {
  let tmp: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    tmp = await tempDir('bpfc-kmod-');
  });
  after(async () => tmp.cleanup());

  test('reads a module file (any name) and returns the archive', async () => {
    const file = path.join(tmp.dir, 'misnamed.ko.zst');
    await fs.writeFile(file, xz(kheadersElf(32, false).buf));
    assert.deepEqual(Buffer.from(await readKheadersFromModuleFile(file)), ARCHIVE);
  });

  test('unreadable, a directory, or too large → INPUT_UNREADABLE', async () => {
    await assert.rejects(
      readKheadersFromModuleFile(path.join(tmp.dir, 'nope.ko')),
      isCode(ErrorCode.INPUT_UNREADABLE, (e) => assert.equal(e.details['errno'], 'ENOENT')),
    );
    await assert.rejects(readKheadersFromModuleFile(tmp.dir), isCode(ErrorCode.INPUT_UNREADABLE));
    const big = path.join(tmp.dir, 'big.ko');
    await fs.writeFile(big, kheadersElf(64, true).buf);
    await assert.rejects(
      readKheadersFromModuleFile(big, { maxBytes: 100 }),
      isCode(ErrorCode.INPUT_UNREADABLE, (e) => assert.match(e.message, /more than/)),
    );
  });
});
