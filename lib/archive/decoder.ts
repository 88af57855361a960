/**
 * xz decoders. Two interchangeable back ends, both decoding off the main thread:
 *
 * - `xz`: the system `xz` binary as a child process (what GNU `tar -J` does): lzma-native's bundled liblzma 5.2.3
 *   decodes about 2.5× slower than xz 5.4's, whatever the chunk size or thread mode (docs/benchmarks.md). Used by
 *   default when an `xz` executable is on PATH.
 * - `lzma-native`: in-process, liblzma on a native thread. The fallback when `xz` is missing
 *   (minimal containers), so nothing outside node_modules is required.
 *
 * The `xz` child is spawned here rather than through `system/exec.ts` (which runs programs to their end): it is a
 * long-lived streaming pipe the extraction reads as it decodes.
 *
 * `xz` runs with `--threads=0`: xz ≥ 5.4 then decodes an archive of several blocks with sizes in their headers (what
 * `pack` writes) on every core; a single-block archive (the kernel's) decodes as before, and older xz ignores the
 * option for decoding. `--memlimit-decompress` stays the hard cap, threads included (the threads' memory is in
 * docs/benchmarks.md).
 *
 * Both accept only the `.xz` container (not `.lzma`/raw) and verify the stream's integrity
 * check; a failure surfaces as `ARCHIVE_CORRUPT` from {@link Decoder.finished}.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type lzmaModule from 'lzma-native';
import { BpfCompileError, ErrorCode } from '../errors.js';

/** `lzma-native`, loaded on first use: commands that never reach this code (a warm resolve) do not pay for loading it. */
let lzmaLoaded: typeof lzmaModule | undefined;
function lzmaLib(): typeof lzmaModule {
  lzmaLoaded ??= createRequire(import.meta.url)('lzma-native') as typeof lzmaModule;
  return lzmaLoaded;
}

/** The decoder that ran: an xz back end, or (packages) `zstd`, `gzip`, `none`, and `deb+<inner>` / `rpm+<inner>` for a package. */
export type DecoderKind = 'xz' | 'lzma-native' | 'zstd' | 'gzip' | 'none' | `${'deb' | 'rpm'}+${'xz' | 'lzma-native' | 'zstd' | 'gzip' | 'none'}`;

/** Which decoder to use. `auto` = `xz` when found on PATH, else `lzma-native`. */
export type DecoderChoice = 'auto' | 'xz' | 'lzma-native';

/** A running xz coder (the decoder here, `pack`'s encoder): write to `input`, read the result from `output`. */
export interface CoderStream<K extends string> {
  readonly kind: K;
  readonly input: Writable;
  readonly output: Readable;
  /** Settles when the coder has finished: resolves on a clean end, rejects with a typed error. */
  readonly finished: Promise<void>;
  /** Stop (kills the child process). */
  destroy(): void;
}

/** An xz coder (the extraction's decoder, `pack`'s encoder). */
export type XzStream = CoderStream<'xz' | 'lzma-native'>;

/** A running decoder: write compressed bytes to `input`, read tar bytes from `output`; `finished` rejects `ARCHIVE_CORRUPT`. */
export type Decoder = CoderStream<DecoderKind>;

const onPath = new Map<string, string | null>();

/** The first executable `name` on PATH, or undefined. Looked up once per process and name. */
export function findProgram(name: string): string | undefined {
  let found = onPath.get(name);
  if (found === undefined) {
    found = null;
    for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
      if (dir === '' || !path.isAbsolute(dir)) continue;
      const candidate = path.join(dir, name);
      try {
        fs.accessSync(candidate, fs.constants.X_OK);
        if (fs.statSync(candidate).isFile()) {
          found = candidate;
          break;
        }
      } catch {
        // not here
      }
    }
    onPath.set(name, found);
  }
  return found ?? undefined;
}

/** The first executable `xz` on PATH, or undefined. Looked up once per process. */
export function findXz(): string | undefined {
  return findProgram('xz');
}

function corrupt(message: string, cause?: unknown): BpfCompileError {
  return new BpfCompileError(ErrorCode.ARCHIVE_CORRUPT, `the archive is not a valid .xz stream: ${message}`, {
    hint: 'The archive is truncated, corrupt or not xz-compressed. Re-create or re-download it (for /sys/kernel/kheaders.tar.xz: reload the kheaders module).',
    cause,
  });
}

/** How a decoding child program reports itself. */
interface ChildDecoderSpec<K extends DecoderKind> {
  readonly kind: K;
  readonly program: string;
  readonly args: readonly string[];
  /** The typed error for a failed decode (stderr text, or why it could not run). */
  readonly corrupt: (message: string, cause?: unknown) => BpfCompileError;
  /** Recognise a memory-limit failure in stderr. */
  readonly memoryLimit: RegExp;
  readonly memlimit: number;
}

/** A decoder program as a child process: compressed bytes to its stdin, decoded bytes from its stdout. */
export function childDecoder<K extends DecoderKind>(spec: ChildDecoderSpec<K>): CoderStream<K> {
  const child = spawn(spec.program, [...spec.args], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, XZ_OPT: undefined, XZ_DEFAULTS: undefined, ZSTD_CLEVEL: undefined, ZSTD_NBTHREADS: undefined, LC_ALL: 'C' },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (s: string) => {
    if (stderr.length < 4096) stderr += s;
  });
  // EPIPE when the decoder exits early on bad input: its exit status is the error that matters.
  child.stdin.on('error', () => {});
  let killed = false;
  const finished = new Promise<void>((resolve, reject) => {
    child.on('error', (err) => reject(spec.corrupt(`cannot run ${spec.program}: ${err.message}`, err)));
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else if (killed) reject(spec.corrupt('decoding was stopped'));
      else if (spec.memoryLimit.test(stderr)) {
        reject(
          new BpfCompileError(ErrorCode.ARCHIVE_TOO_LARGE, `the archive needs more than ${spec.memlimit} bytes of memory to decode`, {
            hint: 'Raise limits.decoderMemlimit if the archive is trusted.',
          }),
        );
      } else reject(spec.corrupt(stderr.trim().replace(/^(xz|zstd): \(stdin\)\s*:\s*/, '') || `${path.basename(spec.program)} exited with ${code ?? signal}`));
    });
  });
  return {
    kind: spec.kind,
    input: child.stdin,
    output: child.stdout,
    finished,
    destroy(): void {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true;
        child.kill('SIGKILL');
      }
    },
  };
}

function xzDecoder(xzPath: string, memlimit: number): XzStream {
  return childDecoder({
    kind: 'xz',
    program: xzPath,
    args: ['--decompress', '--stdout', '--format=xz', '--quiet', '--threads=0', `--memlimit-decompress=${memlimit}`],
    corrupt,
    memoryLimit: /memory usage limit/i,
    memlimit,
  });
}

/**
 * An in-process duplex (lzma-native, zlib, a pass-through) as a decoder: `finished` settles with its end, or with
 * `failure(err)` for its error, or with `stopped` when it closed early or was destroyed.
 */
export function streamDecoder<K extends DecoderKind>(
  kind: K,
  stream: NodeJS.ReadWriteStream & { destroy(err?: Error): void; on(event: string, fn: (...args: never[]) => void): unknown },
  failure: (err: Error) => BpfCompileError,
  stopped: () => BpfCompileError,
): CoderStream<K> {
  let destroyed = false;
  const finished = new Promise<void>((resolve, reject) => {
    let ended = false;
    stream.on('end', () => {
      ended = true;
      resolve();
    });
    stream.on('close', () => {
      if (!ended) reject(stopped());
    });
    stream.on('error', (err: Error) => reject(destroyed ? stopped() : failure(err)));
  });
  return {
    kind,
    input: stream as unknown as Writable,
    output: stream as unknown as Readable,
    finished,
    destroy(): void {
      destroyed = true;
      stream.destroy(new Error('stopped'));
    },
  };
}

function lzmaNativeDecoder(memlimit: number): XzStream {
  const stream = lzmaLib().createStream('streamDecoder', { memlimit, bufsize: 256 * 1024 });
  return streamDecoder(
    'lzma-native',
    stream,
    (err) =>
      /memlimit|memory/i.test(err.message)
        ? new BpfCompileError(ErrorCode.ARCHIVE_TOO_LARGE, `the archive needs more than ${memlimit} bytes of memory to decode`, { cause: err })
        : corrupt(err.message, err),
    () => corrupt('decoding was stopped'),
  );
}

/** Start a decoder. `xzPath` overrides the PATH lookup. */
export function createDecoder(choice: DecoderChoice, memlimit: number, xzPath?: string): XzStream {
  if (choice === 'lzma-native') return lzmaNativeDecoder(memlimit);
  const xz = xzPath ?? findXz();
  if (xz !== undefined) return xzDecoder(xz, memlimit);
  if (choice === 'xz') {
    throw new BpfCompileError(ErrorCode.TOOLCHAIN_MISSING, 'the xz program was not found on PATH', {
      hint: 'Install xz-utils, or use the built-in decoder (decoder: "lzma-native").',
    });
  }
  return lzmaNativeDecoder(memlimit);
}
