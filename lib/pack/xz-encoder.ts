/**
 * Deterministic xz encoders for `pack`. Two back ends, both single-threaded (multi-threaded xz splits the stream into
 * blocks whose layout depends on the thread count, so its output is not reproducible across machines):
 *
 * - `xz`: the system `xz` as a child process: `xz --compress --stdout --format=xz --check=crc64 -6 --threads=1`, with
 *   `XZ_OPT`/`XZ_DEFAULTS` cleared so the environment cannot change the output. Default when `xz` is on PATH.
 * - `lzma-native`: in-process liblzma (`createCompressor({ preset: 6, check: CHECK_CRC64, threads: 1 })`), the fallback.
 *
 * Each back end gives the same bytes for the same input on every run. The two back ends (and different xz versions)
 * are not guaranteed to give the same bytes as each other: a reproducible archive is "same input, same encoder".
 */
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
  createCompressor(options: { preset: number; check: number; threads: number }): Readable & Writable;
}

function failed(message: string, cause?: unknown): BpfCompileError {
  return new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `xz compression failed: ${message}`, { cause, hint: 'install xz-utils, or reinstall bpf-compile (lzma-native)' });
}

/** Arguments given to the system `xz`. */
export const XZ_ARGS: readonly string[] = ['--compress', '--stdout', '--format=xz', '--check=crc64', '-6', '--threads=1', '--quiet'];

function systemXz(xzPath: string): XzEncoder {
  const child = spawn(xzPath, [...XZ_ARGS], {
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
  const stream = lzma.createCompressor({ preset: 6, check: lzma.CHECK_CRC64, threads: 1 });
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
