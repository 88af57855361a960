/**
 * Deterministic xz encoders for `pack`. The output is split into independent blocks of {@link XZ_BLOCK_SIZE}
 * uncompressed bytes, written by liblzma's multi-threaded encoder, which records each block's sizes in its header:
 * that is what lets a decoder (xz ≥ 5.4 with `--threads`, as bpf-compile's extraction runs it) decode the blocks on
 * several cores. The kernel's own kheaders archive is one block, so decoding it is single-threaded.
 *
 * With a fixed block size the bytes do not depend on the number of threads (xz 5.4.1: `-T2`, `-T3`, `-T4`, `-T8`
 * give identical output; the tests check it), so the archive is reproducible on any machine. The size and decode-time
 * cost and gain of the blocks are in docs/benchmarks.md.
 *
 * - `xz`: the system `xz` as a child process, `xz --compress --stdout --format=xz --check=crc64 -6 --block-size=8MiB
 *   --threads=N` (N = 2–4, never 1: one thread would select the single-threaded encoder, whose block headers carry no
 *   sizes), with `XZ_OPT`/`XZ_DEFAULTS` cleared so the environment cannot change the output. Default when `xz` is on PATH.
 * - `lzma-native`: in-process liblzma's multi-threaded encoder with the same preset, check and block size, the fallback.
 *
 * Each back end gives the same bytes for the same input on every run (measured: the two agree here too, liblzma 5.2.3
 * and xz 5.4.1, but different liblzma versions are not guaranteed to): a reproducible archive is "same input, same
 * encoder".
 */
import os from 'node:os';
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { findXz, type XzStream } from '../archive/decoder.js';

/** Which encoder to use. `auto` = `xz` when on PATH, else `lzma-native`. */
export type XzEncoderChoice = 'auto' | 'xz' | 'lzma-native';

/** A running encoder: write plain bytes to `input`, read `.xz` bytes from `output`. */
export type XzEncoder = XzStream;

/** The part of lzma-native used here (its own typings live in lib/archive and cover decoding only). */
interface LzmaCompressorLib {
  readonly CHECK_CRC64: number;
  createCompressor(options: { preset: number; check: number; threads: number; blockSize: number }): Readable & Writable;
}

function failed(message: string, cause?: unknown): BpfCompileError {
  return new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `xz compression failed: ${message}`, { cause, hint: 'install xz-utils, or reinstall bpf-compile (lzma-native)' });
}

/** Uncompressed bytes per xz block (a multiple of the -6 preset's 8 MiB dictionary: no ratio lost inside a block). */
export const XZ_BLOCK_SIZE = 8 * 1024 * 1024;

/** Encoder threads: at least 2 (the multi-threaded encoder), at most 4 (a kheaders archive is ~4 blocks). */
function encoderThreads(): number {
  return Math.min(4, Math.max(2, os.availableParallelism()));
}

/** Arguments given to the system `xz`. */
export function xzArgs(): string[] {
  return ['--compress', '--stdout', '--format=xz', '--check=crc64', '-6', `--block-size=${XZ_BLOCK_SIZE}`, `--threads=${encoderThreads()}`, '--quiet'];
}

function systemXz(xzPath: string): XzEncoder {
  const child = spawn(xzPath, xzArgs(), {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, XZ_OPT: undefined, XZ_DEFAULTS: undefined, LC_ALL: 'C' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  child.stdin.on('error', () => {});
  const finished = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(failed(`cannot run ${xzPath}: ${err.message}`, err)));
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(failed(stderr.trim() || `xz exited with ${code ?? signal}`))));
  });
  return {
    kind: 'xz',
    input: child.stdin,
    output: child.stdout,
    finished,
    destroy: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

function lzmaNative(): XzEncoder {
  const lzma = createRequire(import.meta.url)('lzma-native') as LzmaCompressorLib;
  const stream = lzma.createCompressor({ preset: 6, check: lzma.CHECK_CRC64, threads: encoderThreads(), blockSize: XZ_BLOCK_SIZE });
  const finished = new Promise<void>((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('error', (err: Error) => reject(failed(err.message, err)));
  });
  return { kind: 'lzma-native', input: stream, output: stream, finished, destroy: () => stream.destroy() };
}

/** Start an encoder. @throws BpfCompileError when `xz` is requested and not on PATH. */
export function createXzEncoder(choice: XzEncoderChoice = 'auto'): XzEncoder {
  if (choice === 'lzma-native') return lzmaNative();
  const xz = findXz();
  if (xz !== undefined) return systemXz(xz);
  if (choice === 'xz') throw failed('no xz on PATH');
  return lzmaNative();
}
