/**
 * Streaming, policy-checked extraction of a `.tar.xz` into a private directory.
 *
 * Data flow (nothing holds the whole archive in memory):
 *
 *     source ──▶ tap (sha256, progress, compressed cap) ──▶ xz decoder ──▶ tar-byte cap
 *            ──▶ TarParser ──▶ policy ──▶ SafeTreeWriter (sync fs calls)
 *
 * The decoder runs off the main thread (an `xz` child process, or lzma-native's native thread),
 * so decoding overlaps parsing and writing. Whatever fails, every part is torn down and the
 * most meaningful error wins: a policy/size error first, then the decoder's verdict (corrupt
 * xz), then the tar parser's, then I/O errors.
 *
 * The tar parser is our own (`tar-parser.ts`), not tar-stream: tar-stream's per-entry streams, callbacks and
 * buffer lists cost several times the parser's main-thread time per extraction (the figures are in
 * docs/benchmarks.md, and `npm run bench -- extract` measures them again).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, pipeline, type TransformCallback } from 'node:stream';
import { BpfCompileError, ErrorCode, isBpfCompileError } from '../errors.js';
import { createDecoder, type Decoder, type DecoderChoice, type DecoderKind } from './decoder.js';
import { CpioParser } from './cpio-parser.js';
import { debDecoder, decoderFor, rpmDecoder } from './package-decoders.js';
import type { RpmContainerInfo } from './rpm.js';
import { resolveLimits, type ExtractLimits } from './limits.js';
import { classifyEntry, classifyPackageEntry, type EntryAction, type PackagePolicy } from './policy.js';
import { readUtsRelease } from './release.js';
import { openSource, type ArchiveSource } from './source.js';
import { corruptArchive, TarParser, type EntrySink, type TarEntry, type TarEntryHandler } from './tar-parser.js';
import { SafeTreeWriter, type TreeStats } from './tree-writer.js';

/** Progress of an extraction, in compressed bytes. */
export interface ExtractProgress {
  /** Compressed bytes read so far. */
  readonly bytesRead: number;
  /** Compressed size, when known (files and buffers; not streams). */
  readonly totalBytes: number | undefined;
}

/** Options of {@link extractInto} and {@link extractArchive}. */
export interface ExtractOptions {
  /** Caps; defaults in `DEFAULT_LIMITS`. */
  readonly limits?: Partial<ExtractLimits>;
  /** Called after every chunk read (about every 128 KiB for files). Must not throw. */
  readonly onProgress?: (progress: ExtractProgress) => void;
  /** Decoder back end. Default `auto` (the `xz` program when on PATH, else lzma-native). */
  readonly decoder?: DecoderChoice;
  /** The archive's compression: `xz` (default; kheaders archives) or `none` (a plain `.tar`). */
  readonly compression?: 'xz' | 'none';
  /** Path of the `xz` program, instead of looking it up on PATH. */
  readonly xzPath?: string;
  /** Abort the extraction (rejects with the signal's reason). */
  readonly signal?: AbortSignal;
}

/** What an extraction produced. */
export interface ExtractResult {
  /** sha256 (hex) of the compressed archive bytes, computed while streaming. */
  readonly sha256: string;
  /** Compressed bytes read. */
  readonly compressedBytes: number;
  /** Decoded tar bytes. */
  readonly tarBytes: number;
  /** Tar entries seen (including the root `./`). */
  readonly entries: number;
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  /** Bytes of regular-file content written. */
  readonly bytes: number;
  /** `UTS_RELEASE` of the tree, when it has `include/generated/utsrelease.h`. */
  readonly release: string | undefined;
  /** Decoder that ran. */
  readonly decoder: DecoderKind;
}

function tooLarge(what: string, limit: string): BpfCompileError {
  return new BpfCompileError(ErrorCode.ARCHIVE_TOO_LARGE, `the archive exceeds ${what}`, {
    hint: `A kernel-headers archive is ~30 MiB and ~7k entries. Raise limits.${limit} only for a trusted archive.`,
    details: { limit },
  });
}

/** Passes bytes through, counting them; calls `onChunk` (which may throw to fail the stream). */
class CountingTap extends Transform {
  constructor(private readonly onChunk: (chunk: Buffer) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.onChunk(chunk);
    } catch (err) {
      cb(err as Error);
      return;
    }
    cb(null, chunk);
  }
}

/** Rank errors so the most meaningful one is reported. */
function errorRank(err: unknown): number {
  if (isBpfCompileError(err, ErrorCode.ARCHIVE_UNSAFE) || isBpfCompileError(err, ErrorCode.ARCHIVE_TOO_LARGE)) return 0;
  if (err instanceof Error && err.name === 'AbortError') return 1;
  if (isBpfCompileError(err, ErrorCode.ARCHIVE_CORRUPT) && !/stopped/.test(err.message)) return 2;
  if (isBpfCompileError(err)) return 3;
  return 4;
}

/** Counts shared by the streams extracted into one tree (the caps apply to the whole tree). */
interface TreeCounters {
  entries: number;
  tarBytes: number;
}

/** What one stream contributed. */
export interface StreamRun {
  readonly sha256: string;
  readonly compressedBytes: number;
  readonly tarBytes: number;
  readonly entries: number;
  readonly decoder: DecoderKind;
  /** An RPM's headers and payload digest, as read while streaming (`format: 'rpm'`). */
  readonly rpm?: RpmContainerInfo;
}

/** A parser of decoded entry streams (tar, or an RPM's cpio). */
interface EntryParser {
  push(chunk: Buffer): void;
  end(): void;
  destroy(): void;
}

/** Which parser reads the decoded bytes. */
type ParserFactory = (onEntry: TarEntryHandler) => EntryParser;
const tarParser: ParserFactory = (onEntry) => new TarParser(onEntry);
const cpioParser: ParserFactory = (onEntry) => new CpioParser(onEntry);

/** An entry's fate, as a policy decides it (`skip`: read past, written nowhere). */
type Classify = (entry: TarEntry) => EntryAction | { readonly kind: 'skip' };

const DISCARD: EntrySink = { write(): void {}, close(): void {} };

function emptyDir(dir: string): void {
  const st = fs.lstatSync(dir);
  if (!st.isDirectory()) throw new TypeError(`extractInto: ${dir} is not a directory`);
  if (fs.readdirSync(dir).length > 0) throw new TypeError(`extractInto: ${dir} is not empty`);
}

/**
 * Stream one archive through `decoder` and the tar parser into `writer`, each entry judged by `classify`. Whatever
 * fails, every part is torn down and the most meaningful error wins (see the module comment).
 */
async function extractStream(
  source: ArchiveSource,
  writer: SafeTreeWriter,
  decoder: Decoder,
  classify: Classify,
  limits: ExtractLimits,
  counters: TreeCounters,
  options: Pick<ExtractOptions, 'onProgress' | 'signal'>,
  makeParser: ParserFactory = tarParser,
): Promise<StreamRun> {
  let opened: ReturnType<typeof openSource>;
  try {
    opened = openSource(source);
  } catch (err) {
    decoder.finished.catch(() => {}); // stopped before it started: its verdict is not the error
    decoder.destroy();
    throw err;
  }
  const hash = createHash('sha256');
  let bytesRead = 0;
  let tarBytes = 0;
  let entries = 0;
  const errors: unknown[] = [];
  let tornDown = false;
  let stopTar = (): void => {};

  const parser = makeParser((entry) => {
    entries++;
    if (++counters.entries > limits.maxEntries) throw tooLarge(`${limits.maxEntries} entries`, 'maxEntries');
    const action = classify(entry);
    if (action.kind === 'file') {
      if (action.size > limits.maxBytes) throw tooLarge(`${limits.maxBytes} uncompressed bytes`, 'maxBytes');
      return writer.file(entry.name, action.parts);
    }
    if (action.kind === 'dir') writer.dir(entry.name, action.parts);
    else if (action.kind === 'symlink') writer.symlink(entry.name, action.parts, action.target);
    else if (action.kind === 'skip' && entry.size > 0) return DISCARD;
    return undefined;
  });

  const teardown = (err: unknown): void => {
    errors.push(err);
    if (tornDown) return;
    tornDown = true;
    opened.stream.destroy();
    decoder.destroy();
    stopTar();
  };

  const onAbort = (): void => teardown(options.signal?.reason ?? new Error('aborted'));
  if (options.signal?.aborted === true) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const inTap = new CountingTap((chunk) => {
    hash.update(chunk);
    bytesRead += chunk.byteLength;
    if (bytesRead > limits.maxCompressedBytes) throw tooLarge(`${limits.maxCompressedBytes} compressed bytes`, 'maxCompressedBytes');
    options.onProgress?.({ bytesRead, totalBytes: opened.totalBytes });
  });

  // For lzma-native, input and output are one duplex: the pipeline ends with its writable side.
  const sourceDone = new Promise<void>((resolve, reject) => {
    pipeline(opened.stream, inTap, decoder.input, (err) => (err ? reject(err) : resolve()));
  });

  // Decoded bytes are parsed (and files written) as each chunk arrives. While that runs, the
  // decoder keeps filling the kernel buffer of its output (the xz child's stdout socket holds a
  // few hundred KiB), which is also the only backpressure needed: nothing is queued here.
  // Measured: queueing chunks and parsing them from setImmediate was slower and used more CPU.
  const tarDone = new Promise<void>((resolve) => {
    const out = decoder.output;
    let ended = false;
    stopTar = resolve;
    out.on('data', (chunk: Buffer) => {
      if (tornDown) return;
      try {
        tarBytes += chunk.byteLength;
        counters.tarBytes += chunk.byteLength;
        if (counters.tarBytes > limits.maxBytes) throw tooLarge(`${limits.maxBytes} uncompressed bytes`, 'maxBytes');
        parser.push(chunk);
      } catch (err) {
        teardown(err);
      }
    });
    out.on('end', () => {
      ended = true;
      if (tornDown) return;
      try {
        parser.end();
        resolve();
      } catch (err) {
        teardown(err);
      }
    });
    out.on('error', teardown);
    out.on('close', () => {
      if (!ended) teardown(corruptArchive('decoding was stopped'));
    });
  });

  const parts = [sourceDone, decoder.finished, tarDone].map((p) =>
    p.then(
      () => undefined,
      (err: unknown) => teardown(err),
    ),
  );
  await Promise.all(parts);
  options.signal?.removeEventListener('abort', onAbort);
  parser.destroy();

  if (errors.length > 0) {
    const sorted = [...errors].sort((a, b) => errorRank(a) - errorRank(b));
    throw sorted[0];
  }
  if (entries === 0) throw corruptArchive('the archive is empty (no entries)');
  return { sha256: hash.digest('hex'), compressedBytes: bytesRead, tarBytes, entries, decoder: decoder.kind };
}

/**
 * Extract `source` into `dir`, which must be an existing, empty directory the caller owns and
 * removes on failure (the cache's private temp dir). Nothing is written outside `dir`.
 *
 * @throws BpfCompileError `ARCHIVE_UNSAFE`, `ARCHIVE_TOO_LARGE`, `ARCHIVE_CORRUPT`, `INPUT_UNREADABLE`.
 */
export async function extractInto(source: ArchiveSource, dir: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const limits = resolveLimits(options.limits);
  emptyDir(dir);
  options.signal?.throwIfAborted();
  const decoder = options.compression === 'none' ? decoderFor('none', limits.decoderMemlimit) : createDecoder(options.decoder ?? 'auto', limits.decoderMemlimit, options.xzPath);
  const writer = new SafeTreeWriter(dir, limits);
  const run = await extractStream(source, writer, decoder, (e) => classifyEntry(e, limits), limits, { entries: 0, tarBytes: 0 }, options);
  writer.verifySymlinks();
  const stats = writer.stats();
  if (stats.files === 0) throw corruptArchive('the archive holds no regular files');
  return { ...run, ...stats, release: readUtsRelease(dir) };
}

/** One package of a set given to {@link extractPackagesInto}. */
export interface PackageInput {
  /** The package file (a path, bytes, or a stream of it). */
  readonly source: ArchiveSource;
  /** Its format: a Debian binary package, or an RPM (cpio payload). */
  readonly format: 'deb' | 'rpm';
  /** Progress of this package's bytes. */
  readonly onProgress?: (progress: ExtractProgress) => void;
}

/** What {@link extractPackagesInto} produced. */
export interface PackageSetResult extends TreeStats {
  /** Per package, in input order: sha256 of its bytes, sizes, entries, decoder. */
  readonly packages: readonly StreamRun[];
  /** Symlinks removed because their target is not in the set (tree-relative paths). */
  readonly droppedSymlinks: readonly string[];
}

/**
 * Unpack a set of packages into one tree in `dir` (existing, empty, private), all at once: each package streams
 * through its decoder into a shared writer, judged by the package policy (see `policy.ts`: kept directories only,
 * absolute links re-rooted). When the set is complete every link is checked against it; links into packages that
 * are not part of the set are dropped and listed. The first failure stops every stream.
 *
 * @throws BpfCompileError `ARCHIVE_UNSAFE`, `ARCHIVE_TOO_LARGE`, `ARCHIVE_CORRUPT`, `INPUT_UNREADABLE`, `TOOLCHAIN_MISSING` (no zstd).
 */
export async function extractPackagesInto(
  packages: readonly PackageInput[],
  dir: string,
  policy: PackagePolicy,
  options: Omit<ExtractOptions, 'onProgress' | 'xzPath'> = {},
): Promise<PackageSetResult> {
  const limits = resolveLimits(options.limits);
  emptyDir(dir);
  options.signal?.throwIfAborted();
  const writer = new SafeTreeWriter(dir, limits);
  const counters: TreeCounters = { entries: 0, tarBytes: 0 };
  const stop = new AbortController();
  const signal = options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal]);
  const classify: Classify = (e) => classifyPackageEntry(e, limits, policy);
  const settled = await Promise.allSettled(
    packages.map(async (p) => {
      try {
        const o = { signal, ...(p.onProgress === undefined ? {} : { onProgress: p.onProgress }) };
        if (p.format === 'deb') return await extractStream(p.source, writer, debDecoder(limits.decoderMemlimit, options.decoder ?? 'auto'), classify, limits, counters, o);
        const rpm = rpmDecoder(limits.decoderMemlimit, options.decoder ?? 'auto');
        const run = await extractStream(p.source, writer, rpm.decoder, classify, limits, counters, o, cpioParser);
        if (rpm.container.info === undefined) throw corruptArchive('the RPM ended before its payload');
        return { ...run, rpm: rpm.container.info };
      } catch (err) {
        stop.abort(err);
        throw err;
      }
    }),
  );
  const failures = settled.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
  if (failures.length > 0) throw [...failures].sort((a, b) => errorRank(a) - errorRank(b))[0];
  writer.verifySymlinks();
  const droppedSymlinks = writer.dropDanglingSymlinks();
  const stats = writer.stats();
  if (stats.files === 0) throw corruptArchive('the packages hold no regular files in the kept directories');
  return { ...stats, packages: settled.map((r) => (r as PromiseFulfilledResult<StreamRun>).value), droppedSymlinks };
}

/**
 * Extract `source` to `dest` (which must not exist, or be an empty directory) through a private
 * temp sibling that is renamed into place only when the whole archive passed the policy. On
 * failure the temp dir is removed and `dest` is untouched. The in-memory / stream form is what
 * the `kheaders.ko` ELF path reuses.
 */
export async function extractArchive(source: ArchiveSource, dest: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const parent = path.dirname(path.resolve(dest));
  const tmp = fs.mkdtempSync(path.join(parent, `.${path.basename(dest)}.extract-`));
  try {
    fs.chmodSync(tmp, 0o700);
    const result = await extractInto(source, tmp, options);
    fs.chmodSync(tmp, 0o755);
    fs.renameSync(tmp, dest);
    return result;
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}
