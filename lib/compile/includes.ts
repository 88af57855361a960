/**
 * Reading a program's `#include` lines (to decide `--mode auto`) and the include dirs named in clang flags.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

/** One `#include` line of a C file. */
export interface IncludeDirective {
  /** The header as written (`linux/sched.h`). */
  readonly name: string;
  /** `<…>` (system) or `"…"` (local). */
  readonly angle: boolean;
}

/** The `#include` directives of C text, in order (comments are not parsed; a commented-out include still counts). */
export function scanIncludes(text: string): IncludeDirective[] {
  const out: IncludeDirective[] = [];
  const re = /^[ \t]*#[ \t]*include[ \t]*([<"])([^>"\n]+)[>"]/gm;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) out.push({ name: (m[2] as string).trim(), angle: m[1] === '<' });
  return out;
}

/** Include dirs named in clang flags (`-I dir`, `-Idir`, `-isystem`, `-idirafter`, `-iquote`), in order. */
export function includeDirsFromFlags(flags: readonly string[]): string[] {
  const out: string[] = [];
  const opts = ['-I', '-isystem', '-idirafter', '-iquote'];
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i] as string;
    const opt = opts.find((o) => f === o || (o === '-I' ? f.startsWith('-I') : f.startsWith(o)));
    if (opt === undefined) continue;
    const value = f === opt ? flags[++i] : f.slice(opt.length);
    if (value !== undefined && value !== '') out.push(path.resolve(value));
  }
  return out;
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(
    () => true,
    () => false,
  );
}

/** The includes of `source` that none of `dirs` (nor, for `"…"`, the source's own dir) provides. */
export async function unresolvedIncludes(source: string, text: string, dirs: readonly string[]): Promise<IncludeDirective[]> {
  const missing: IncludeDirective[] = [];
  for (const inc of scanIncludes(text)) {
    const search = inc.angle ? dirs : [path.dirname(source), ...dirs];
    let found = false;
    for (const d of search) {
      if (await exists(path.join(d, inc.name))) {
        found = true;
        break;
      }
    }
    if (!found) missing.push(inc);
  }
  return missing;
}
