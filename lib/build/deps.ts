/**
 * Make-compatible depfiles for built objects. The dependencies come from a preprocess-only pass of the compile's own
 * clang command (`-M -MF <tmp>`), so they are right whether the object was compiled or served from the object cache.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { depfilePrerequisites } from '../compile/depfile.js';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { writeFileAtomic } from '../system/atomic-file.js';
import { exec } from '../system/exec.js';

/** Escape a path for a make rule (inverse of `parseDepfile`): space → `\ `, `#` → `\#`, `$` → `$$`. */
export function escapeMakePath(p: string): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as string;
    if (c === ' ' || c === '\t') {
      // backslashes right before a space must be doubled so they stay literal
      let n = 0;
      while (out.endsWith('\\'.repeat(n + 1))) n++;
      out += `${'\\'.repeat(n)}\\${c}`;
    } else if (c === '#') out += '\\#';
    else if (c === '$') out += '$$';
    else out += c;
  }
  return out;
}

/**
 * The text of a depfile: `<object>: <source> <headers…>` (continued lines), then an empty rule per header (like
 * clang's `-MP`) so a deleted header does not break make.
 */
export function formatDepfile(object: string, prerequisites: readonly string[]): string {
  const lines = [`${escapeMakePath(object)}:`, ...prerequisites.map((p) => ` ${escapeMakePath(p)}`)];
  const rule = lines.join(' \\\n');
  const phony = prerequisites
    .slice(1)
    .map((p) => `\n${escapeMakePath(p)}:\n`)
    .join('');
  return `${rule}\n${phony}`;
}

/** clang's argv for a dependency-only pass: the compile's argv up to `-c`, then `-M -MF <file> <source>`. */
export function dependencyArgv(clangArgv: readonly string[], depfile: string): string[] {
  const at = clangArgv.lastIndexOf('-c');
  const source = clangArgv[at + 1];
  if (at < 0 || source === undefined) throw new TypeError('clang argv without -c <source>');
  return [...clangArgv.slice(0, at), '-M', '-MF', depfile, source];
}

/**
 * Write `<object>.d` (atomically) listing the source and every header the compile reads (absolute paths); the rule's
 * target is `ruleTarget` (default: `object`). Runs `clang` (the compile's toolchain) with {@link dependencyArgv}.
 * @returns the depfile path.
 */
export async function writeObjectDepfile(clang: string, clangArgv: readonly string[], object: string, ruleTarget: string = object): Promise<string> {
  const tmpDir = await fs.mkdtemp(path.join(os.tmpdir(), 'bpfc-build-deps-'));
  const out = `${object}.d`;
  try {
    const raw = path.join(tmpDir, 'deps.d');
    const r = await exec(clang, dependencyArgv(clangArgv, raw));
    if (!r.ok) {
      throw new BpfCompileError(ErrorCode.COMPILE_FAILED, `dependency pass failed for ${object}`, { details: { diagnostics: r.spawnError ?? r.stderr } });
    }
    const deps = depfilePrerequisites(await fs.readFile(raw, 'utf8')).map((d) => path.resolve(d));
    await writeFileAtomic(out, formatDepfile(ruleTarget, deps));
    return out;
  } finally {
    await fs.rm(tmpDir, { recursive: true, force: true });
  }
}
