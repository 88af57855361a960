/**
 * Archive inputs: a file path, bytes in memory, or a Readable — turned into one Readable plus
 * the total size when it is known (for progress).
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { BpfCompileError, ErrorCode, errnoCode } from '../errors.js';

/** An archive to extract: a file path, its bytes, or a stream of its bytes. */
export type ArchiveSource = string | Uint8Array | Readable;

/** Read size for file sources (also the granularity of progress events). */
export const READ_CHUNK = 128 * 1024;

/** An opened source. */
export interface OpenedSource {
  readonly stream: Readable;
  /** Compressed size when known (file size, buffer length). */
  readonly totalBytes: number | undefined;
  /** A printable description for messages and manifests. */
  readonly label: string;
}

/** Open `source` for reading; raise `INPUT_UNREADABLE` when a path cannot be opened. */
export function openSource(source: ArchiveSource): OpenedSource {
  if (typeof source === 'string') {
    let fd: number;
    try {
      fd = fs.openSync(source, fs.constants.O_RDONLY);
    } catch (err) {
      throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot open archive ${source}: ${errnoCode(err) ?? String(err)}`, {
        cause: err,
        hint: errnoCode(err) === 'EACCES' ? 'Run as root, or copy the archive somewhere readable.' : undefined,
        details: { path: source },
      });
    }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      fs.closeSync(fd);
      throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `archive ${source} is not a regular file`, { details: { path: source } });
    }
    // sysfs reports the real size for kheaders.tar.xz; 0 means "unknown".
    const stream = fs.createReadStream('', { fd, highWaterMark: READ_CHUNK, autoClose: true });
    return { stream, totalBytes: st.size > 0 ? st.size : undefined, label: source };
  }
  if (source instanceof Uint8Array) {
    const bytes = source;
    function* chunks(): Generator<Uint8Array> {
      for (let off = 0; off < bytes.byteLength; off += READ_CHUNK) yield bytes.subarray(off, off + READ_CHUNK);
    }
    return { stream: Readable.from(chunks(), { objectMode: false }), totalBytes: bytes.byteLength, label: '<buffer>' };
  }
  return { stream: source, totalBytes: undefined, label: '<stream>' };
}
