/**
 * Project templates shipped in the package's `templates/` dir. Each template is a directory holding a
 * `template.json` (`{ "description": "…" }`, not copied) and the files of a new project; `{{name}}` and
 * `{{bpfCompileVersion}}` in file contents are substituted.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { packageInfo } from '../system/package-info.js';

/** The metadata file of a template; never copied into a project. */
export const TEMPLATE_META = 'template.json';

/** One available template. */
export interface TemplateInfo {
  /** Directory name, the `init <template>` argument. */
  readonly name: string;
  /** One line. */
  readonly description: string;
  /** Absolute template directory. */
  readonly dir: string;
}

/** The `templates/` dir of this package. */
export function templatesDir(): string {
  return path.join(packageInfo().dir, 'templates');
}

/** All templates, sorted by name. */
export async function listTemplates(dir: string = templatesDir()): Promise<TemplateInfo[]> {
  const names = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  const out: TemplateInfo[] = [];
  for (const d of names) {
    if (!d.isDirectory()) continue;
    const meta = await fs.readFile(path.join(dir, d.name, TEMPLATE_META), 'utf8').catch(() => undefined);
    if (meta === undefined) continue;
    const parsed = JSON.parse(meta) as { description?: unknown };
    out.push({ name: d.name, description: typeof parsed.description === 'string' ? parsed.description : '', dir: path.join(dir, d.name) });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** Relative paths of a template's files (without its `template.json`), sorted. */
export async function templateFiles(templateDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const e of await fs.readdir(path.join(templateDir, rel), { withFileTypes: true })) {
      const r = rel === '' ? e.name : path.join(rel, e.name);
      if (e.isDirectory()) await walk(r);
      else if (e.isFile() && r !== TEMPLATE_META) out.push(r);
    }
  };
  await walk('');
  return out.sort();
}
