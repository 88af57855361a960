/**
 * `/etc/os-release` of the target root: `ID`, `ID_LIKE`, `VERSION_ID`.
 */
import fs from 'node:fs/promises';
import { underRoot } from './root.js';

/** The fields of `/etc/os-release` bpf-compile uses. */
export interface OsRelease {
  /** `ID` (`debian`, `ubuntu`, `fedora`, …). */
  readonly id: string | undefined;
  /** `ID_LIKE`, split on spaces. */
  readonly idLike: readonly string[];
  /** `VERSION_ID`. */
  readonly versionId: string | undefined;
}

/** Parse os-release text (shell-style `KEY=value` lines, values optionally quoted). */
export function parseOsRelease(text: string): OsRelease {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m === null) continue;
    fields.set(m[1] as string, (m[2] as string).replace(/^(["'])(.*)\1$/, '$2'));
  }
  return {
    id: fields.get('ID'),
    idLike: (fields.get('ID_LIKE') ?? '').split(/\s+/).filter(Boolean),
    versionId: fields.get('VERSION_ID'),
  };
}

/** Read `/etc/os-release` (then `/usr/lib/os-release`) under `root`; undefined when neither exists. */
export async function readOsRelease(root: string): Promise<OsRelease | undefined> {
  for (const p of ['/etc/os-release', '/usr/lib/os-release']) {
    try {
      return parseOsRelease(await fs.readFile(underRoot(root, p), 'utf8'));
    } catch {
      // next
    }
  }
  return undefined;
}
