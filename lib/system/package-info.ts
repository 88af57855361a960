/**
 * This package's own name, version and directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: { name: string; version: string; dir: string } | undefined;

/** This package's name, version and directory (found by walking up from this module: works from `lib/` and `dist/lib/`). */
export function packageInfo(): { name: string; version: string; dir: string } {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = path.join(dir, 'package.json');
    if (fs.existsSync(p)) {
      const pkg = JSON.parse(fs.readFileSync(p, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'bpf-compile') {
        cached = { name: 'bpf-compile', version: String(pkg.version), dir };
        return cached;
      }
    }
    const up = path.dirname(dir);
    if (up === dir) return { name: 'bpf-compile', version: '0.0.0', dir: process.cwd() };
    dir = up;
  }
}
