/**
 * A reproducible `.tar.xz` writer: entries in the order given, ustar headers (pax only for very long names) with
 * uid/gid 0, empty user/group names (numeric owner), the modes given and one fixed mtime, compressed by a
 * deterministic single-threaded xz encoder, written atomically while its sha256 and size are computed.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type tarModule from 'tar-stream';
import type { Header as TarHeaders } from 'tar-stream';
import { writeAtomically } from './atomic.js';
import { createXzEncoder, type XzEncoderChoice } from './xz-encoder.js';

let tarLoaded: typeof tarModule | undefined;
function tarLib(): typeof tarModule {
  tarLoaded ??= createRequire(import.meta.url)('tar-stream') as typeof tarModule;
  return tarLoaded;
}

/** One archive member. Names are archive paths as written (`./include/`, `./include/linux/types.h`). */
export type TarMember =
  | { readonly type: 'directory'; readonly name: string }
  | { readonly type: 'file'; readonly name: string; readonly data: Uint8Array }
  | { readonly type: 'symlink'; readonly name: string; readonly target: string };

/** Options of {@link writeTarXz}. */
export interface WriteTarXzOptions {
  /** mtime of every member, in seconds since the epoch. */
  readonly mtime: number;
  /** xz back end. Default `auto`. */
  readonly encoder?: XzEncoderChoice;
}

/** What {@link writeTarXz} wrote. */
export interface WrittenFile {
  /** sha256 of the written file, lowercase hex. */
  readonly sha256: string;
  /** Its size in bytes. */
  readonly size: number;
  /** The xz back end used. */
  readonly encoder: 'xz' | 'lzma-native';
}

/** The mtime `pack` stamps: `SOURCE_DATE_EPOCH` when it is a non-negative integer, else 0. */
export function defaultMtime(env: Readonly<Record<string, string | undefined>> = process.env): number {
  const v = env['SOURCE_DATE_EPOCH'];
  return v !== undefined && /^\d{1,12}$/.test(v) ? Number(v) : 0;
}

function modeOf(type: TarMember['type']): number {
  return type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644;
}

/**
 * Write `members` (an iterable, possibly async, consumed in order) as a `.tar.xz` at `outFile`, atomically.
 * The same members, mtime and encoder always give the same bytes.
 */
export async function writeTarXz(outFile: string, members: Iterable<TarMember> | AsyncIterable<TarMember>, options: WriteTarXzOptions): Promise<WrittenFile> {
  return writeAtomically(outFile, async (tmp) => {
    const pack = tarLib().pack();
    const encoder = createXzEncoder(options.encoder ?? 'auto');
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb): void {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    const mtime = new Date(options.mtime * 1000);
    const input = pipeline(pack, encoder.input);
    const output = pipeline(encoder.output, tap, fs.createWriteStream(tmp, { mode: 0o644 }));
    const feed = (async (): Promise<void> => {
      for await (const m of members) {
        const header: Partial<TarHeaders> & { name: string } = { name: m.name, type: m.type, mode: modeOf(m.type), uid: 0, gid: 0, uname: '', gname: '', mtime };
        if (m.type === 'symlink') header.linkname = m.target;
        const data = m.type === 'file' ? Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength) : undefined;
        await new Promise<void>((resolve, reject) => {
          const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
          if (data === undefined) pack.entry(header, cb);
          else pack.entry(header, data, cb);
        });
      }
      pack.finalize();
    })();
    try {
      await Promise.all([feed, input, output, encoder.finished]);
    } catch (err) {
      encoder.destroy();
      pack.destroy();
      throw err;
    }
    return { sha256: hash.digest('hex'), size, encoder: encoder.kind };
  });
}
