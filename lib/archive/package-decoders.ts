/**
 * Decoders for package payloads, beside the xz ones of `decoder.ts`: zstd (the system `zstd` program as a child, as
 * GNU tar runs it; Ubuntu's debs use it since 21.10, Fedora's rpms too), gzip (node's zlib, on the thread pool), none;
 * and the package containers: {@link debDecoder} (the `ar` of a `.deb`, decoding its `data.tar*` member as its name
 * asks) and {@link rpmDecoder} (an RPM's payload, decoded as `PAYLOADCOMPRESSOR` says).
 */
import { PassThrough, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { DebDataStream, type DataCompression } from './ar.js';
import { payloadCompressionOf, RpmPayloadStream } from './rpm.js';
import { childDecoder, createDecoder, findProgram, streamDecoder, type CoderStream, type Decoder, type DecoderChoice } from './decoder.js';

function corruptAs(format: string): (message: string, cause?: unknown) => BpfCompileError {
  return (message, cause) =>
    new BpfCompileError(ErrorCode.ARCHIVE_CORRUPT, `the archive is not a valid ${format} stream: ${message}`, {
      hint: 'The package is truncated or corrupt; download it again.',
      cause,
    });
}

/** A zstd decoder (the `zstd` program). @throws BpfCompileError `TOOLCHAIN_MISSING` when there is none. */
export function zstdDecoder(memlimit: number): CoderStream<'zstd'> {
  const zstd = findProgram('zstd');
  if (zstd === undefined) {
    throw new BpfCompileError(ErrorCode.TOOLCHAIN_MISSING, 'the zstd program was not found on PATH (needed for zstd-compressed packages)', {
      hint: 'install it: apt-get install zstd (dnf install zstd)',
    });
  }
  return childDecoder({
    kind: 'zstd',
    program: zstd,
    args: ['-d', '-c', '-q', `--memory=${Math.max(1, Math.floor(memlimit / 1048576))}MiB`],
    corrupt: corruptAs('zstd'),
    memoryLimit: /Frame requires too much memory|memory limit/i,
    memlimit,
  });
}

/** A transform as a decoder (gzip, none). */
function transformDecoder<K extends 'gzip' | 'none'>(kind: K, stream: Transform): CoderStream<K> {
  const corrupt = corruptAs(kind === 'gzip' ? 'gzip' : 'tar');
  return streamDecoder(
    kind,
    stream,
    (err) => corrupt(err.message, err),
    () => corrupt('decoding was stopped'),
  );
}

/** A decoder for one compression. */
export function decoderFor(compression: DataCompression, memlimit: number, xzChoice: DecoderChoice = 'auto'): Decoder {
  switch (compression) {
    case 'xz':
      return createDecoder(xzChoice, memlimit);
    case 'zstd':
      return zstdDecoder(memlimit);
    case 'gzip':
      return transformDecoder('gzip', zlib.createGunzip());
    case 'none':
      return transformDecoder('none', new PassThrough());
  }
}

/**
 * A package container as a decoder: write the package bytes to `input`, read the payload's decoded bytes from
 * `output`. `container` passes on only the payload bytes and announces their compression with `event` before the
 * first of them; the inner decoder starts then. `finished` settles when both the container and the inner decoder have
 * (a missing or truncated payload, or a corrupt one, rejects `ARCHIVE_CORRUPT`).
 */
function containerDecoder(
  container: Transform,
  event: string,
  format: 'deb' | 'rpm',
  compressionOf: (...args: unknown[]) => DataCompression,
  memlimit: number,
  xzChoice: DecoderChoice,
): Decoder {
  const output = new PassThrough();
  const label = format === 'deb' ? '.deb' : 'RPM';
  let inner: Decoder | undefined;
  let kind: Decoder['kind'] = `${format}+none`;
  let destroyed = false;
  const innerReady = new Promise<Decoder | undefined>((resolve, reject) => {
    container.once(event, (...args: unknown[]) => {
      try {
        inner = decoderFor(compressionOf(...args), memlimit, xzChoice);
      } catch (err) {
        reject(err);
        container.destroy(err as Error);
        return;
      }
      kind = `${format}+${inner.kind}` as Decoder['kind'];
      inner.finished.catch(() => {}); // awaited by `finished`; never an unhandled rejection when torn down first
      container.pipe(inner.input);
      inner.output.pipe(output);
      resolve(inner);
    });
    container.once('end', () => resolve(inner));
    container.once('close', () => resolve(inner));
    container.once('error', reject);
  });
  const containerDone = new Promise<void>((resolve, reject) => {
    container.on('finish', resolve);
    container.on('error', (err: Error) => reject(destroyed ? corruptAs(label)('decoding was stopped') : err));
    container.on('close', () => reject(corruptAs(label)('decoding was stopped'))); // no-op after finish
  });
  innerReady.catch(() => {});
  containerDone.catch(() => {}); // both awaited by `finished`
  const finished = (async () => {
    const d = await innerReady;
    await containerDone;
    if (d === undefined) throw corruptAs(label)(format === 'deb' ? 'no data.tar member' : 'no payload');
    await d.finished;
  })();
  finished.catch(() => output.destroy());
  return {
    get kind() {
      return kind;
    },
    input: container,
    output,
    finished,
    destroy(): void {
      destroyed = true;
      inner?.destroy();
      container.destroy();
      output.destroy();
    },
  };
}

/** A `.deb` as a decoder: its `data.tar*` member, decoded as its name says (see {@link containerDecoder}). */
export function debDecoder(memlimit: number, xzChoice: DecoderChoice = 'auto'): Decoder {
  return containerDecoder(new DebDataStream(), 'member', 'deb', (_name, compression) => compression as DataCompression, memlimit, xzChoice);
}

/** An RPM decoder, with the container it reads (its {@link RpmPayloadStream.info} is set once the package ended cleanly). */
export interface RpmDecoder {
  readonly decoder: Decoder;
  readonly container: RpmPayloadStream;
}

/** An RPM as a decoder: its payload, decoded per `PAYLOADCOMPRESSOR` (see {@link containerDecoder}). */
export function rpmDecoder(memlimit: number, xzChoice: DecoderChoice = 'auto'): RpmDecoder {
  const container = new RpmPayloadStream();
  const compression = (compressor: unknown): DataCompression => {
    const c = payloadCompressionOf(String(compressor));
    if (c === undefined) {
      throw new BpfCompileError(ErrorCode.ARCHIVE_CORRUPT, `the RPM payload is compressed with ${String(compressor)}, which is not read here (zstd, xz, gzip are)`, {
        hint: 'kernel packages of every supported distribution use zstd, xz or gzip; unpack this one with rpm2cpio',
      });
    }
    return c;
  };
  return { decoder: containerDecoder(container, 'payload', 'rpm', compression, memlimit, xzChoice), container };
}
