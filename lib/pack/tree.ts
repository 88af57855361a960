/**
 * The header list of a kernel tree pair, as `gen_kheaders.sh` collects it: every `*.h` under `include/` and
 * `arch/<SRCARCH>/include/` of the source tree, then of the build tree on top (build wins). Directory symlinks are
 * not followed (as `find` does not).
 */
import fs from 'node:fs/promises';
import path from 'node:path';

/** A header to pack: a regular file's path, or a symlink kept as such (its target is another packed header). */
export type HeaderItem = { readonly kind: 'file'; readonly abs: string } | { readonly kind: 'symlink'; readonly abs: string; readonly target: string };

async function walk(root: string, rel: string, out: Map<string, string>): Promise<void> {
  let dirents: import('node:fs').Dirent[];
  try {
    dirents = await fs.readdir(path.join(root, rel), { withFileTypes: true });
  } catch {
    return;
  }
  for (const d of dirents) {
    const r = `${rel}/${d.name}`;
    if (d.isDirectory()) await walk(root, r, out);
    else if ((d.isFile() || d.isSymbolicLink()) && d.name.endsWith('.h')) out.set(r, path.join(root, r));
  }
}

/** Relative path (`include/linux/types.h`) → absolute input path, source tree first, build tree overriding. */
export async function listHeaders(sourceDir: string, buildDir: string, srcarch: string): Promise<Map<string, string>> {
  const merged = new Map<string, string>();
  const trees = path.resolve(sourceDir) === path.resolve(buildDir) ? [sourceDir] : [sourceDir, buildDir];
  for (const tree of trees) for (const top of ['include', `arch/${srcarch}/include`]) await walk(tree, top, merged);
  return merged;
}

/**
 * Decide how each listed header is stored. A symlink stays a symlink when its (relative) target, resolved inside the
 * archive, is itself a packed header and the link resolves on disk; any other symlink is stored as a regular file
 * with the contents it points at. Dangling or looping symlinks, and anything not a regular file, are dropped (and
 * returned in `skipped`).
 */
export async function classifyHeaders(list: ReadonlyMap<string, string>): Promise<{ items: Map<string, HeaderItem>; skipped: string[] }> {
  const items = new Map<string, HeaderItem>();
  const skipped: string[] = [];
  for (const [rel, abs] of list) {
    const lst = await fs.lstat(abs);
    if (!lst.isSymbolicLink()) {
      if (lst.isFile()) items.set(rel, { kind: 'file', abs });
      else skipped.push(rel);
      continue;
    }
    const st = await fs.stat(abs).catch(() => undefined);
    if (st === undefined || !st.isFile()) {
      skipped.push(rel);
      continue;
    }
    const target = await fs.readlink(abs);
    const inside = !path.posix.isAbsolute(target) && list.has(path.posix.normalize(path.posix.join(path.posix.dirname(rel), target)));
    items.set(rel, inside ? { kind: 'symlink', abs, target } : { kind: 'file', abs });
  }
  return { items, skipped };
}
