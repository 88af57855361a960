/** Reading a downloaded (and verified) repository index file through its decoder into a push parser. */
import fs from 'node:fs';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DataCompression } from '../archive/ar.js';
import { decoderFor } from '../archive/package-decoders.js';

/** Most decoded bytes of one index held by the decoder (xz/zstd memory limit). */
const INDEX_DECODER_MEMLIMIT = 256 * 1024 * 1024;

/** Decode `file` and push every decoded chunk into `parser`, then end it. Rejects with the parser's or decoder's error. */
export async function parseDecodedFile<P extends { push(chunk: Buffer): void; end(): void }>(file: string, compression: DataCompression, parser: P): Promise<P> {
  const decoder = decoderFor(compression, INDEX_DECODER_MEMLIMIT);
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      try {
        parser.push(chunk);
        cb();
      } catch (err) {
        cb(err as Error);
      }
    },
  });
  await Promise.all([pipeline(fs.createReadStream(file), decoder.input), pipeline(decoder.output, sink), decoder.finished]).catch((err: unknown) => {
    decoder.destroy();
    throw err;
  });
  parser.end();
  return parser;
}
