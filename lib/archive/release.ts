/**
 * Which kernel release an extracted headers tree serves, from
 * `include/generated/utsrelease.h` (`#define UTS_RELEASE "6.1.0-56-amd64"`).
 */
import fs from 'node:fs';
import path from 'node:path';

/** Where the release string lives, relative to the tree. */
export const UTSRELEASE_H = 'include/generated/utsrelease.h';

/** Parse the text of `utsrelease.h`; undefined when it has no `UTS_RELEASE` define. */
export function parseUtsRelease(text: string): string | undefined {
  return /^[ \t]*#[ \t]*define[ \t]+UTS_RELEASE[ \t]+"([^"\n]{1,256})"/m.exec(text)?.[1];
}

/**
 * The `UTS_RELEASE` of the headers tree at `dir`, or undefined when the file is missing, not a
 * regular file (a symlink is not followed) or has no define.
 */
export function readUtsRelease(dir: string): string | undefined {
  const file = path.join(dir, UTSRELEASE_H);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.size > 64 * 1024) return undefined;
    const buf = Buffer.alloc(st.size);
    const n = fs.readSync(fd, buf, 0, st.size, 0);
    return parseUtsRelease(buf.toString('latin1', 0, n));
  } finally {
    fs.closeSync(fd);
  }
}
