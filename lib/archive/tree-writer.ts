/**
 * Writes a tree of files, directories and symlinks into a private, empty directory, keeping an
 * in-memory model of everything it created. It never follows a symlink while writing:
 *
 * - every parent component of an entry must be a directory this writer created (missing parents
 *   are created, 0755); a parent that is a symlink or a file is refused (`ARCHIVE_UNSAFE`);
 * - files are opened `O_CREAT|O_EXCL|O_NOFOLLOW` (an existing name, a symlink included, fails);
 * - a duplicate entry is refused, except a directory repeated as a directory.
 *
 * Modes from the archive are ignored: files 0644, directories 0755 (re-applied with chmod only
 * when the process umask would change them); owner is the extracting user.
 *
 * File system calls are synchronous on purpose: per-file async calls each cost a thread-pool
 * round trip and measured 3–4× slower for thousands of small headers.
 *
 * {@link SafeTreeWriter.verifySymlinks} must run once the whole archive is written: it resolves
 * every symlink against the model (following links, at most `maxSymlinkHops`) and refuses one
 * that leaves the tree.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ExtractLimits } from './limits.js';
import { unsafe } from './policy.js';

type Node = { readonly kind: 'dir' } | { readonly kind: 'file' } | { readonly kind: 'symlink'; readonly target: string };

const FILE_FLAGS =
  fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW; // libuv adds O_CLOEXEC itself
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/** An open regular file being written. */
export interface OpenFile {
  /** Append bytes. */
  write(chunk: Uint8Array): void;
  /** Close it. */
  close(): void;
}

/** Counts of what was written. */
export interface TreeStats {
  readonly files: number;
  readonly dirs: number;
  readonly symlinks: number;
  /** Bytes of regular-file content. */
  readonly bytes: number;
}

/** See the module comment. */
export class SafeTreeWriter {
  private readonly nodes = new Map<string, Node>([['', { kind: 'dir' }]]);
  private fileModeFixup: boolean | undefined;
  private dirModeFixup: boolean | undefined;
  private files = 0;
  private dirs = 0;
  private symlinks = 0;
  private bytes = 0;

  /**
   * @param root - An existing, empty, private directory (the caller created it).
   * @param limits - Caps (symlink hops).
   */
  constructor(
    readonly root: string,
    private readonly limits: ExtractLimits,
  ) {}

  /** What has been written so far. */
  stats(): TreeStats {
    return { files: this.files, dirs: this.dirs, symlinks: this.symlinks, bytes: this.bytes };
  }

  private abs(key: string): string {
    return key === '' ? this.root : path.join(this.root, key);
  }

  private makeDir(key: string): void {
    const p = this.abs(key);
    fs.mkdirSync(p, DIR_MODE);
    if (this.dirModeFixup === undefined) this.dirModeFixup = (fs.lstatSync(p).mode & 0o7777) !== DIR_MODE;
    if (this.dirModeFixup) fs.chmodSync(p, DIR_MODE);
    this.nodes.set(key, { kind: 'dir' });
    this.dirs++;
  }

  /** Create missing parents of `parts`; refuse when a parent is a symlink or a file. */
  private parentsOf(entry: string, parts: readonly string[]): void {
    let key = '';
    for (let i = 0; i < parts.length - 1; i++) {
      key = key === '' ? (parts[i] as string) : `${key}/${parts[i] as string}`;
      const node = this.nodes.get(key);
      if (node === undefined) this.makeDir(key);
      else if (node.kind === 'symlink') unsafe(entry, `it would be written through the symlink ${JSON.stringify(key)}`);
      else if (node.kind === 'file') unsafe(entry, `its parent ${JSON.stringify(key)} is a file`);
    }
  }

  private claim(entry: string, parts: readonly string[], allowDir: boolean): string | undefined {
    this.parentsOf(entry, parts);
    const key = parts.join('/');
    const existing = this.nodes.get(key);
    if (existing === undefined) return key;
    if (allowDir && existing.kind === 'dir') return undefined;
    return unsafe(entry, `duplicate entry would replace an earlier ${existing.kind}`);
  }

  /** A directory entry. */
  dir(entry: string, parts: readonly string[]): void {
    const key = this.claim(entry, parts, true);
    if (key !== undefined) this.makeDir(key);
  }

  /** A regular file entry: returns the open file to stream its content into. */
  file(entry: string, parts: readonly string[]): OpenFile {
    const key = this.claim(entry, parts, false) as string;
    const fd = fs.openSync(this.abs(key), FILE_FLAGS, FILE_MODE);
    this.nodes.set(key, { kind: 'file' });
    this.files++;
    if (this.fileModeFixup === undefined) this.fileModeFixup = (fs.fstatSync(fd).mode & 0o7777) !== FILE_MODE;
    if (this.fileModeFixup) fs.fchmodSync(fd, FILE_MODE);
    let open = true;
    return {
      write: (chunk: Uint8Array): void => {
        let off = 0;
        while (off < chunk.byteLength) off += fs.writeSync(fd, chunk, off);
        this.bytes += chunk.byteLength;
      },
      close: (): void => {
        if (open) {
          open = false;
          fs.closeSync(fd);
        }
      },
    };
  }

  /** A symlink entry (target already checked lexically by the policy). */
  symlink(entry: string, parts: readonly string[], target: string): void {
    const key = this.claim(entry, parts, false) as string;
    fs.symlinkSync(target, this.abs(key));
    this.nodes.set(key, { kind: 'symlink', target });
    this.symlinks++;
  }

  /**
   * Resolve every symlink against the finished tree, following links, and refuse one that
   * leaves the tree or loops. A link to a name that does not exist (inside the tree) is allowed.
   */
  verifySymlinks(): void {
    for (const [key, node] of this.nodes) {
      if (node.kind !== 'symlink') continue;
      const stack = key.split('/');
      stack.pop();
      this.resolve(key, stack, node.target);
    }
  }

  private resolve(entry: string, start: string[], target: string): void {
    const stack = [...start];
    const queue = target.split('/');
    let hops = 0;
    while (queue.length > 0) {
      const part = queue.shift() as string;
      if (part === '' || part === '.') continue;
      if (part === '..') {
        if (stack.length === 0) unsafe(entry, `symlink target ${JSON.stringify(target)} resolves outside the tree`);
        stack.pop();
        continue;
      }
      const node = this.nodes.get([...stack, part].join('/'));
      if (node?.kind === 'symlink') {
        if (++hops > this.limits.maxSymlinkHops) unsafe(entry, `symlink chain longer than ${this.limits.maxSymlinkHops} links (a loop?)`);
        if (node.target.startsWith('/')) unsafe(entry, 'symlink resolves through an absolute symlink');
        queue.unshift(...node.target.split('/'));
        continue;
      }
      stack.push(part);
    }
  }
}
