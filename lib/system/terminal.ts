/**
 * Whether stderr is a terminal, asked without building the stream when it cannot be one.
 *
 * `process.stderr.isTTY` creates `process.stderr` first: for a pipe (a Makefile, an npm script, CI) that is a
 * `net.Socket`, with the stream modules behind it, a few milliseconds of a run that never writes through it
 * (docs/performance.md, fifth round). `node:tty`'s `isatty` loads `net` as well. A descriptor that is not a character
 * device is never a terminal, and one `fstat(2)` says so; only a character device (a terminal, or `/dev/null`) is
 * asked through the stream, whose `isTTY` is `isatty(3)`.
 */
import fs from 'node:fs';

/** Whether stderr (descriptor 2) is a terminal. False when it is closed. */
export function stderrIsTerminal(): boolean {
  let charDevice: boolean;
  try {
    charDevice = fs.fstatSync(2).isCharacterDevice();
  } catch {
    return false;
  }
  return charDevice && process.stderr.isTTY === true;
}

/** Whether clang should colour its diagnostics: stderr is a terminal and `NO_COLOR` is not set. */
export function colourDiagnostics(): boolean {
  return process.env['NO_COLOR'] === undefined && stderrIsTerminal();
}
