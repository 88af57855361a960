/**
 * `mkdir -p` that always terminates. Node 20's `mkdir(…, { recursive: true })` (sync and async) loops forever under
 * `/proc` (`mkdir` there fails with ENOENT for a parent that exists, and Node retries the parent), so
 * `-o /proc/x/out.o` hung the CLI. Here each missing component is created once, from the deepest existing ancestor
 * down, and the first error is thrown.
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Create `dir` and its missing parents (like `mkdir -p`); an existing directory is fine.
 *
 * @throws the file system's error (ENOENT, EACCES, ENOTDIR, EEXIST for a non-directory in the way, …).
 */
export function makeDirs(dir: string, mode?: number): void {
  const missing: string[] = [];
  let at = path.resolve(dir);
  for (;;) {
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(at);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (st !== undefined) {
      if (!st.isDirectory()) throw Object.assign(new Error(`EEXIST: not a directory, mkdir '${at}'`), { code: 'ENOTDIR', path: at });
      break;
    }
    missing.push(at);
    const up = path.dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const d of missing.reverse()) {
    try {
      fs.mkdirSync(d, mode === undefined ? undefined : { mode });
    } catch (err) {
      // created meanwhile by someone else: fine when it is a directory
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !fs.statSync(d).isDirectory()) throw err;
    }
  }
}
