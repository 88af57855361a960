/**
 * Paths of the target system: every system path goes through `underRoot`; `resolveUnderRoot` follows links as the
 * target would (absolute links taken from the root, never the host).
 */
import fs from 'node:fs';
import path from 'node:path';

/**
 * Map an absolute system path (`/lib/modules`, `/sys/kernel/btf/vmlinux`, …) under a
 * root directory. Every system path bpf-compile reads goes through here, so tests and
 * users (`--root DIR`) can point the whole tool at a fake or mounted tree.
 *
 * @param root - The root directory; `/` for the live system.
 * @param systemPath - An absolute path as seen on the target system.
 */
export function underRoot(root: string, systemPath: string): string {
  if (!path.isAbsolute(systemPath)) throw new TypeError(`underRoot: not an absolute path: ${systemPath}`);
  if (root === '/' || root === '') return path.normalize(systemPath);
  return path.join(path.resolve(root), systemPath);
}

/** Outcome of {@link resolveUnderRoot}. */
export type RootedPath =
  { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string; readonly code: 'ENOENT' | 'ELOOP' | 'ESCAPE' | 'EACCES' | 'ENOTDIR' | 'OTHER' };

/** Most symlinks followed by {@link resolveUnderRoot} (Linux's limit). */
const MAX_HOPS = 40;

/**
 * Resolve `systemPath` on the target system rooted at `root`, following symlinks as that system would: every absolute
 * link target is taken from `root`, never from the host, and `..` never climbs above `root` (it stays at `root`, as
 * `..` of `/` does — a chroot's rule) — but a relative target that tries to is reported (`ESCAPE`), since on the
 * target it would mean something else than here. Each step is `lstat`ed; loops are `ELOOP`. With root `/` this is
 * `realpath`.
 *
 * @returns the host path of the final file (the path need not be a directory).
 */
export function resolveUnderRoot(root: string, systemPath: string): RootedPath {
  const base = root === '/' || root === '' ? '/' : path.resolve(root);
  const queue = systemPath.split('/').filter((p) => p !== '' && p !== '.');
  const stack: string[] = [];
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === '..') {
      stack.pop();
      continue;
    }
    if (part === '.' || part === '') continue;
    const host = path.join(base, ...stack, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const shown = `/${[...stack, part].join('/')}`;
      if (code === 'ENOENT') return { ok: false, code: 'ENOENT', reason: `${shown} does not exist` };
      if (code === 'EACCES') return { ok: false, code: 'EACCES', reason: `${shown} is not readable (permission denied)` };
      if (code === 'ENOTDIR') return { ok: false, code: 'ENOTDIR', reason: `${shown}: a parent is not a directory` };
      return { ok: false, code: 'OTHER', reason: `${shown}: ${code ?? String(err)}` };
    }
    if (st.isSymbolicLink()) {
      if (++hops > MAX_HOPS) return { ok: false, code: 'ELOOP', reason: `/${[...stack, part].join('/')} is a symlink loop` };
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) stack.length = 0;
      else {
        let depth = stack.length;
        for (const t of target.split('/')) {
          if (t === '..') depth--;
          else if (t !== '' && t !== '.') depth++;
          if (depth < 0 && base !== '/') {
            return { ok: false, code: 'ESCAPE', reason: `/${[...stack, part].join('/')} -> ${target} leads out of the root ${base}` };
          }
        }
      }
      queue.unshift(...target.split('/'));
      continue;
    }
    if (queue.length > 0 && !st.isDirectory()) return { ok: false, code: 'ENOTDIR', reason: `/${[...stack, part].join('/')} is not a directory` };
    stack.push(part);
  }
  return { ok: true, path: path.join(base, ...stack) };
}
