/**
 * Keep a mirror directory's `index.json` (format: `lib/mirror/index-format.ts`) and the `<file>.sha256` sidecars
 * up to date as `pack` adds artefacts. Both are written deterministically and atomically.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { errnoCode } from '../errors.js';
import { formatMirrorIndex, MIRROR_INDEX_VERSION, parseMirrorIndex, type MirrorIndex, type MirrorIndexEntry } from '../mirror/index-format.js';
import { writeFileAtomically } from './atomic.js';

/** Name of the index at a mirror's root. */
export const MIRROR_INDEX_FILE = 'index.json';

/** The sidecar text: `<hex>  <name>\n` (`sha256sum` format; check with `sha256sum -c`). */
export function sha256SidecarText(sha256: string, fileName: string): string {
  return `${sha256}  ${path.posix.basename(fileName)}\n`;
}

/** Write `<file>.sha256` next to `file` (absolute or relative path). */
export async function writeSha256Sidecar(file: string, sha256: string): Promise<string> {
  const sidecar = `${file}.sha256`;
  await writeFileAtomically(sidecar, sha256SidecarText(sha256, path.basename(file)));
  return sidecar;
}

/** Read `<outDir>/index.json`, or an empty index when there is none. @throws BpfCompileError when it is malformed. */
export async function readMirrorIndex(outDir: string): Promise<MirrorIndex> {
  try {
    return parseMirrorIndex(await fs.readFile(path.join(outDir, MIRROR_INDEX_FILE), 'utf8'));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return { version: MIRROR_INDEX_VERSION, entries: [] };
    throw err;
  }
}

/** `index` with `entry` added, replacing any entry of the same kind, release and arch. */
export function withEntry(index: MirrorIndex, entry: MirrorIndexEntry): MirrorIndex {
  const others = index.entries.filter((e) => !(e.kind === entry.kind && e.release === entry.release && e.arch === entry.arch));
  return { version: MIRROR_INDEX_VERSION, entries: [...others, entry] };
}

/**
 * Add (or replace) `entry` in `<outDir>/index.json`, keeping the other entries, and write the `.sha256` sidecar of
 * `<outDir>/<entry.file>`. Returns the new index. Not safe against two concurrent packs into the same directory
 * (the last writer wins); run packs into one mirror sequentially.
 * @throws BpfCompileError `INPUT_UNREADABLE` when an existing index.json is malformed or a file cannot be written.
 */
export async function updateMirrorIndex(outDir: string, entry: MirrorIndexEntry): Promise<MirrorIndex> {
  const next = withEntry(await readMirrorIndex(outDir), entry);
  // Validate the new entry exactly as readers will.
  parseMirrorIndex(formatMirrorIndex({ version: MIRROR_INDEX_VERSION, entries: [entry] }));
  await writeSha256Sidecar(path.join(outDir, entry.file), entry.sha256);
  await writeFileAtomically(path.join(outDir, MIRROR_INDEX_FILE), formatMirrorIndex(next));
  return next;
}
