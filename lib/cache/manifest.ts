/**
 * The manifest of a cache entry: `<entry>/manifest.json`, written LAST into the temp dir before
 * the rename that publishes the entry. An entry without a valid manifest is never used.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkOwnedPath } from './safety.js';

/** Layout version of cache entries; entries of another version are ignored and pruned. */
export const CACHE_FORMAT_VERSION = 1;

/** File name of the manifest inside an entry. */
export const MANIFEST_FILE = 'manifest.json';

/** Directory holding the entry's content, inside an entry. */
export const DATA_DIR = 'data';

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What a builder reports about what it built. */
export interface ManifestFields {
  /** Where the content came from (a path, a URL, `<stream>`). */
  readonly source?: string;
  /** sha256 of the input (archive bytes), hex. */
  readonly sha256?: string;
  /** Kernel release the content serves. */
  readonly release?: string;
  /** Number of regular files. */
  readonly files: number;
  /** Bytes of file content. */
  readonly bytes: number;
  /** Builder-specific details. */
  readonly extra?: { readonly [key: string]: JsonValue };
}

/** A complete entry's manifest. */
export interface Manifest extends ManifestFields {
  readonly formatVersion: number;
  readonly namespace: string;
  readonly key: string;
  /** ISO time the entry was built. */
  readonly createdAt: string;
}

/** Write the manifest into an (unpublished) entry directory. */
export function writeManifest(entryDir: string, manifest: Manifest): void {
  const fd = fs.openSync(path.join(entryDir, MANIFEST_FILE), 'wx', 0o644);
  try {
    fs.writeSync(fd, `${JSON.stringify(manifest, null, 2)}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The manifest of a published entry when it is complete and valid for `namespace`/`key`, else
 * undefined. Raises `CACHE_UNSAFE` when the entry, its data dir or manifest is a symlink, foreign
 * or group/world-writable.
 */
export function readCompleteManifest(entryDir: string, namespace: string, key: string, uid?: number): Manifest | undefined {
  if (!checkOwnedPath(entryDir, 'dir', uid)) return undefined;
  const file = path.join(entryDir, MANIFEST_FILE);
  if (!checkOwnedPath(file, 'file', uid)) return undefined;
  if (!checkOwnedPath(path.join(entryDir, DATA_DIR), 'dir', uid)) return undefined;
  let m: Partial<Manifest>;
  try {
    m = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<Manifest>;
  } catch {
    return undefined;
  }
  if (
    m.formatVersion !== CACHE_FORMAT_VERSION ||
    m.namespace !== namespace ||
    m.key !== key ||
    typeof m.files !== 'number' ||
    typeof m.bytes !== 'number' ||
    typeof m.createdAt !== 'string'
  ) {
    return undefined;
  }
  return m as Manifest;
}
