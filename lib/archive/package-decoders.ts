/**
 * Decoders for package payloads, beside the xz ones of `decoder.ts`: zstd (the system `zstd` program as a child, as
 * GNU tar runs it; Ubuntu's debs use it since 21.10, Fedora's rpms too), gzip (node's zlib, on the thread pool), none;
 * and {@link debDecoder}, which opens the `ar` container of a `.deb` and decodes its `data.tar*` member with the
 * decoder its name asks for.
 */
import { PassThrough, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { DebDataStream, type DataCompression } from './ar.js';
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
 * A `.deb` as a decoder: write the package bytes to `input`, read the `data.tar` from `output`. The inner decoder
 * starts when the data member's header is read; `finished` settles when both the container and the inner decoder
 * have (a missing or truncated member, or a corrupt payload, rejects `ARCHIVE_CORRUPT`).
 */
export function debDecoder(memlimit: number, xzChoice: DecoderChoice = 'auto'): Decoder {
  const ar = new DebDataStream();
  const output = new PassThrough();
  let inner: Decoder | undefined;
  let kind: Decoder['kind'] = 'deb+none';
  let destroyed = false;
  const innerReady = new Promise<Decoder | undefined>((resolve, reject) => {
    ar.once('member', (_name: string, compression: DataCompression) => {
      try {
        inner = decoderFor(compression, memlimit, xzChoice);
      } catch (err) {
        reject(err);
        ar.destroy(err as Error);
        return;
      }
      kind = `deb+${inner.kind}` as Decoder['kind'];
      inner.finished.catch(() => {}); // awaited by `finished`; never an unhandled rejection when torn down first
      ar.pipe(inner.input);
      inner.output.pipe(output);
      resolve(inner);
    });
    ar.once('end', () => resolve(inner));
    ar.once('close', () => resolve(inner));
    ar.once('error', reject);
  });
  const arDone = new Promise<void>((resolve, reject) => {
    ar.on('finish', resolve);
    ar.on('error', (err: Error) => reject(destroyed ? corruptAs('.deb')('decoding was stopped') : err));
    ar.on('close', () => reject(corruptAs('.deb')('decoding was stopped'))); // no-op after finish
  });
  innerReady.catch(() => {});
  arDone.catch(() => {}); // both awaited by `finished`
  const finished = (async () => {
    const d = await innerReady;
    await arDone;
    if (d === undefined) throw corruptAs('.deb')('no data.tar member');
    await d.finished;
  })();
  finished.catch(() => output.destroy());
  return {
    get kind() {
      return kind;
    },
    input: ar,
    output,
    finished,
    destroy(): void {
      destroyed = true;
      inner?.destroy();
      ar.destroy();
      output.destroy();
    },
  };
}
