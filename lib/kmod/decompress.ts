/**
 * Kernel module files come plain (`.ko`) or compressed whole (`.ko.xz`, `.ko.gz`, `.ko.zst`, per
 * `CONFIG_MODULE_COMPRESS_*`). This file tells them apart by their first bytes — never by file name —
 * and decompresses xz (lzma-native) and gzip (node:zlib) in memory, with a cap on the output size.
 * zstd is refused: Node 20 has no zstd decoder and bpf-compile carries no dependency for one.
 */
import type { Transform } from 'node:stream';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { isElf } from './elf.js';

/** What a module file's content is, by magic bytes. */
export type ModuleFileFormat = 'elf' | 'xz' | 'gzip' | 'zstd' | 'unknown';

/** The xz stream header magic, `FD 37 7A 58 5A 00`. */
export const XZ_MAGIC: readonly number[] = Object.freeze([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
/** The gzip member magic `1F 8B` followed by compression method 8 (deflate). */
export const GZIP_MAGIC: readonly number[] = Object.freeze([0x1f, 0x8b, 0x08]);
/** The zstd frame magic `28 B5 2F FD` (0xFD2FB528 little-endian). */
export const ZSTD_MAGIC: readonly number[] = Object.freeze([0x28, 0xb5, 0x2f, 0xfd]);

/**
 * Largest decompressed module accepted by default: 64 MiB. Real modules are at most a few MB (the
 * kheaders module of a distribution kernel is ~4 MB, almost all of it the already-compressed archive).
 */
export const DEFAULT_MAX_MODULE_BYTES = 64 * 1024 * 1024;

/** Memory limit handed to the xz decoder: 128 MiB (xz -9 needs 65 MiB; the kernel's 1 MiB dictionary far less). */
const XZ_MEMLIMIT = 128 * 1024 * 1024;
/** Input is fed to the decoders in slices this big, so a stop or a cap takes effect early. */
const FEED_SLICE = 64 * 1024;

/** Options of {@link decompressModuleFile}. */
export interface DecompressModuleOptions {
  /** Largest decompressed size accepted, in bytes; more raises `MODULE_INVALID`. Default {@link DEFAULT_MAX_MODULE_BYTES}. */
  readonly maxBytes?: number;
}

/** True when `data` starts with `magic`. */
export function startsWith(data: Uint8Array, magic: readonly number[]): boolean {
  return data.length >= magic.length && magic.every((b, i) => data[i] === b);
}

/** Classify a module file by its first bytes. */
export function detectModuleFormat(data: Uint8Array): ModuleFileFormat {
  if (isElf(data)) return 'elf';
  if (startsWith(data, XZ_MAGIC)) return 'xz';
  if (startsWith(data, GZIP_MAGIC)) return 'gzip';
  if (startsWith(data, ZSTD_MAGIC)) return 'zstd';
  return 'unknown';
}

function hexPrefix(data: Uint8Array): string {
  return Array.from(data.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** The error raised for zstd-compressed modules: unsupported, with a hint to decompress with `zstd -d` first. */
export function zstdUnsupportedError(): BpfCompileError {
  return new BpfCompileError(ErrorCode.MODULE_INVALID, 'the module is zstd-compressed (.ko.zst), which bpf-compile cannot decompress: Node.js 20 has no zstd decoder', {
    hint: 'Decompress it first — `zstd -d -o kheaders.ko kheaders.ko.zst` (or `unzstd`) — and pass the .ko; or load the module (`modprobe kheaders`) and use /sys/kernel/kheaders.tar.xz.',
    details: { offset: 0, format: 'zstd' },
  });
}

function tooLarge(format: string, limit: number): BpfCompileError {
  return new BpfCompileError(ErrorCode.MODULE_INVALID, `the ${format}-compressed module decompresses to more than ${limit} bytes`, {
    hint: 'Kernel modules are at most a few MB; this file is not a kernel module (or raise maxBytes if it really is one).',
    details: { format, limit },
  });
}

function corrupt(format: string, cause: unknown): BpfCompileError {
  const why = cause instanceof Error ? cause.message : String(cause);
  return new BpfCompileError(ErrorCode.MODULE_INVALID, `the ${format}-compressed module is corrupt or truncated: ${why}`, {
    hint: 'Re-install the kernel modules package, or decompress the file by hand to see what is wrong with it.',
    details: { format },
    cause,
  });
}

/** A fresh decoder stream for a compressed format. */
async function decoderFor(format: 'xz' | 'gzip'): Promise<Transform> {
  if (format === 'gzip') {
    const zlib = await import('node:zlib');
    return zlib.createGunzip();
  }
  const { default: lzma } = await import('lzma-native');
  return lzma.createStream('streamDecoder', { memlimit: XZ_MEMLIMIT });
}

/**
 * Decode `input` through a fresh decoder. Stops early (without error) once `stopAt` output bytes are
 * in hand; otherwise fails with `MODULE_INVALID` past `limit` output bytes or on corrupt input.
 *
 * @returns The output (possibly longer than `stopAt`) and whether the whole stream was decoded.
 */
export async function decodeCompressed(
  format: 'xz' | 'gzip',
  input: Uint8Array,
  limit: number,
  stopAt = Number.POSITIVE_INFINITY,
): Promise<{ data: Uint8Array; complete: boolean }> {
  const stream = await decoderFor(format);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
    };
    const collect = (): Uint8Array => (chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, total));
    stream.on('data', (chunk: Buffer) => {
      if (settled) return;
      total += chunk.length;
      chunks.push(chunk);
      if (total >= stopAt) {
        settle(() => resolve({ data: collect(), complete: false }));
        stream.destroy();
      } else if (total > limit) {
        settle(() => reject(tooLarge(format, limit)));
        stream.destroy();
      }
    });
    stream.on('end', () => settle(() => resolve({ data: collect(), complete: true })));
    stream.on('error', (err: Error) => settle(() => reject(/memlimit|memory usage/i.test(err.message) ? tooLarge(format, limit) : corrupt(format, err))));
    stream.on('close', () => settle(() => reject(corrupt(format, new Error('the decoder stopped before the end of the stream')))));
    let offset = 0;
    const feed = (): void => {
      while (!settled && offset < input.length) {
        const slice = input.subarray(offset, offset + FEED_SLICE);
        offset += slice.length;
        if (!stream.write(slice)) {
          stream.once('drain', feed);
          return;
        }
      }
      if (!settled) stream.end();
    };
    feed();
  });
}

/**
 * Return the ELF bytes of a kernel module file, decompressing `.ko.xz` and `.ko.gz` content. A plain
 * ELF file is returned as is (same object). The format is told by magic bytes, not by name.
 *
 * @throws BpfCompileError `MODULE_INVALID` for zstd content (with a hint to run `zstd -d`), unknown
 *   content, corrupt compressed data, output over `maxBytes`, or output that is not ELF.
 */
export async function decompressModuleFile(data: Uint8Array, options: DecompressModuleOptions = {}): Promise<Uint8Array> {
  const format = detectModuleFormat(data);
  switch (format) {
    case 'elf':
      return data;
    case 'zstd':
      throw zstdUnsupportedError();
    case 'unknown':
      throw new BpfCompileError(ErrorCode.MODULE_INVALID, 'not a kernel module: neither ELF nor xz/gzip/zstd-compressed', {
        hint: 'Pass a kheaders.ko, .ko.xz or .ko.gz file (or the kheaders.tar.xz archive itself).',
        details: { offset: 0, magic: hexPrefix(data) },
      });
    case 'xz':
    case 'gzip': {
      const { data: out } = await decodeCompressed(format, data, options.maxBytes ?? DEFAULT_MAX_MODULE_BYTES);
      if (!isElf(out)) {
        throw new BpfCompileError(ErrorCode.MODULE_INVALID, `the ${format}-compressed file does not hold an ELF module`, {
          hint: 'Pass a kheaders.ko, .ko.xz or .ko.gz file (or the kheaders.tar.xz archive itself).',
          details: { offset: 0, format, magic: hexPrefix(out) },
        });
      }
      return out;
    }
  }
}
