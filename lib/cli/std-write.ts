/**
 * The CLI's writes to its own stdout and stderr, made with `write(2)` on the descriptor instead of through
 * `process.stdout`/`process.stderr`. Creating either stream loads node's stream modules (~20 of them, ~1.5 ms here),
 * which a command that prints a few lines (`headers`, `cflags`, `--version`) otherwise never needs; on Linux node
 * writes these streams synchronously anyway (files, pipes and terminals), so the order of output is the same.
 *
 * Where a plain write cannot finish the job, the stream takes over for good, so nothing is reordered:
 * - `EAGAIN`: the descriptor is non-blocking and full. node makes a pipe non-blocking once it creates its stream for
 *   it — here (a progress bar on a shared `2>&1` pipe, a loader that touched `process.stdout`) or in a parent sharing
 *   the pipe. The stream then writes the rest, waiting for the reader as it always did.
 * - any other error but `EPIPE`: the stream's own handling applies. (A descriptor closed when the process started is
 *   none: node opens `/dev/null` in its place.)
 * - `EPIPE`: the reader went away (`bpf-compile init --list | head -1`): {@link exitIfBrokenPipe}.
 */
import fs from 'node:fs';
import { errnoCode } from '../errors.js';

const taken = { stdout: false, stderr: false };

/**
 * A reader that went away (`EPIPE`) is not an error: stop quietly with the exit code the process already has, like
 * other CLI tools. The one policy for both ways the CLI writes: here, and the executable's handler on node's streams.
 */
export function exitIfBrokenPipe(err: unknown): void {
  if (errnoCode(err) === 'EPIPE') process.exit(process.exitCode ?? 0);
}

/** Write `text` to the process's stdout or stderr (see the module comment). */
export function writeStd(name: 'stdout' | 'stderr', text: string): void {
  if (!taken[name]) {
    const bytes = Buffer.from(text, 'utf8');
    let off = 0;
    try {
      while (off < bytes.length) off += fs.writeSync(name === 'stdout' ? 1 : 2, bytes, off);
      return;
    } catch (err) {
      exitIfBrokenPipe(err);
      taken[name] = true;
      process[name].write(bytes.subarray(off));
      return;
    }
  }
  process[name].write(text);
}
