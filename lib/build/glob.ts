/**
 * Small glob expansion for `bpf-compile build` inputs (Node 20 has no `fs.glob`). Supported: `*` (any run of
 * characters within one path component, not `/`), `?` (one character, not `/`), and `**` as a whole component (zero or
 * more directories). Character classes and braces are not supported. Names starting with `.` match only a pattern
 * component that starts with `.` (as in a shell). Results are sorted; symlinked dirs are not followed by `**`.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { BpfCompileError, ErrorCode } from '../errors.js';

/** True when `pattern` has a glob character (`*` or `?`). */
export function hasGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/** A regexp matching one path component against a component pattern (`*`, `?`). Exported for tests. */
export function componentRegExp(component: string): RegExp {
  let re = '';
  for (const c of component) {
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function matchesComponent(name: string, component: string): boolean {
  if (name.startsWith('.') && !component.startsWith('.')) return false;
  return componentRegExp(component).test(name);
}

async function entries(dir: string): Promise<Array<{ name: string; isDir: boolean }>> {
  try {
    const list = await fs.readdir(dir, { withFileTypes: true });
    return list.map((d) => ({ name: d.name, isDir: d.isDirectory() }));
  } catch {
    return [];
  }
}

async function walk(base: string, parts: readonly string[], out: Set<string>): Promise<void> {
  if (parts.length === 0) {
    out.add(base);
    return;
  }
  const [head, ...rest] = parts as [string, ...string[]];
  if (head === '**') {
    await walk(base, rest, out); // zero dirs
    for (const e of await entries(base)) {
      if (e.isDir && !e.name.startsWith('.')) await walk(path.join(base, e.name), parts, out);
    }
    return;
  }
  if (!hasGlob(head)) {
    const next = path.join(base, head);
    if (rest.length === 0) {
      try {
        await fs.lstat(next);
        out.add(next);
      } catch {
        // no such file
      }
      return;
    }
    await walk(next, rest, out);
    return;
  }
  for (const e of await entries(base)) {
    if (!matchesComponent(e.name, head)) continue;
    if (rest.length > 0 && !e.isDir) continue;
    await walk(path.join(base, e.name), rest, out);
  }
}

/** Expand one pattern relative to `cwd`; files only (directories a pattern names are left out), sorted. */
export async function expandGlob(pattern: string, cwd: string = process.cwd()): Promise<string[]> {
  const abs = path.isAbsolute(pattern);
  const parts = pattern.split('/').filter((p, i) => p !== '' && !(p === '.' && i > 0));
  const out = new Set<string>();
  await walk(abs ? '/' : cwd, parts, out);
  const files: string[] = [];
  for (const f of out) {
    const st = await fs.stat(f).catch(() => undefined);
    if (st?.isFile() === true) files.push(abs ? f : path.relative(cwd, f) || f);
  }
  return files.sort();
}

/**
 * Expand build inputs: a plain path is kept as given (so a missing file shows up as that file's failure); a pattern
 * expands to the files it matches, and one matching nothing is a `USAGE` error. Duplicates are dropped, order kept.
 */
export async function expandInputs(patterns: readonly string[], cwd: string = process.cwd()): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const p of patterns) {
    const files = hasGlob(p) ? await expandGlob(p, cwd) : [p];
    if (files.length === 0) {
      throw new BpfCompileError(ErrorCode.USAGE, `no files match ${p}`, { hint: 'check the pattern (supported: *, ?, **)' });
    }
    for (const f of files) {
      const key = path.resolve(cwd, f);
      if (!seen.has(key)) {
        seen.add(key);
        out.push(f);
      }
    }
  }
  return out;
}
