/** Create a project from a template: refuse to overwrite unless forced, substitute `{{name}}`. */
import fs from 'node:fs/promises';
import path from 'node:path';
import { BpfCompileError, ErrorCode } from '../errors.js';
import { packageInfo } from '../system/package-info.js';
import { listTemplates, templateFiles, templatesDir } from './templates.js';
import { makeDirs } from '../system/dirs.js';

/** Options of {@link initProject}. */
export interface InitOptions {
  /** Template name (see `listTemplates()`). */
  readonly template: string;
  /** Target directory (created when missing). Default: a dir named after the template in the cwd. */
  readonly dir?: string;
  /** Overwrite existing files. Default: false. */
  readonly force?: boolean;
  /** The project name. Default: derived from the target dir's name. */
  readonly name?: string;
  /** Where templates live. Default: the package's `templates/`. */
  readonly templatesDir?: string;
}

/** What {@link initProject} did. */
export interface InitResult {
  readonly dir: string;
  readonly name: string;
  readonly template: string;
  /** Files written, relative to `dir`. */
  readonly files: readonly string[];
  /** Files that existed and were overwritten (`force`). */
  readonly overwritten: readonly string[];
}

/** An npm package name from a directory name: lower case, `[a-z0-9._-]`, not starting with `.` or `_`. */
export function projectNameOf(dir: string): string {
  const base = path
    .basename(path.resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+/, '')
    .slice(0, 214);
  return base === '' ? 'bpf-project' : base;
}

/** Replace `{{key}}` placeholders; unknown ones are left alone. */
export function substitute(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\{\{(\w+)\}\}/g, (m, key: string) => vars[key] ?? m);
}

/**
 * Copy a template into `dir`.
 * @throws BpfCompileError `USAGE` for an unknown template, or when files exist and `force` is not set (lists them).
 */
export async function initProject(options: InitOptions): Promise<InitResult> {
  const from = options.templatesDir ?? templatesDir();
  const templates = await listTemplates(from);
  const t = templates.find((x) => x.name === options.template);
  if (t === undefined) {
    throw new BpfCompileError(ErrorCode.USAGE, `unknown template: ${options.template}`, {
      hint: `templates are: ${templates.map((x) => x.name).join(', ')} (bpf-compile init --list)`,
    });
  }
  const dir = path.resolve(options.dir ?? t.name);
  const name = options.name ?? projectNameOf(dir);
  const files = await templateFiles(t.dir);
  const existing: string[] = [];
  for (const f of files)
    if (
      await fs.lstat(path.join(dir, f)).then(
        () => true,
        () => false,
      )
    )
      existing.push(f);
  if (existing.length > 0 && options.force !== true) {
    throw new BpfCompileError(ErrorCode.USAGE, `refusing to overwrite existing files in ${dir}: ${existing.join(', ')}`, {
      hint: 'pass --force to overwrite them, or choose another directory',
      details: { dir, conflicts: existing },
    });
  }
  const vars = { name, bpfCompileVersion: packageInfo().version, template: t.name };
  for (const f of files) {
    const out = path.join(dir, f);
    makeDirs(path.dirname(out));
    const text = await fs.readFile(path.join(t.dir, f), 'utf8');
    await fs.rm(out, { force: true });
    await fs.writeFile(out, substitute(text, vars), { mode: 0o644 });
  }
  return { dir, name, template: t.name, files, overwritten: existing };
}
