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

const DIR_NODE: Node = Object.freeze({ kind: 'dir' });
const FILE_NODE: Node = Object.freeze({ kind: 'file' });

const FILE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW; // libuv adds O_CLOEXEC itself
const FILE_MODE = 0o644;
const DIR_MODE = 0o755;

/** An open regular file being written. */
export interface OpenFile {
  /** Append bytes. */
  write(chunk: Uint8Array): void;
  /** Close it. Idempotent. */
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

/** A file opened by {@link SafeTreeWriter.file}. */
class TreeFile implements OpenFile {
  private open = true;
  constructor(
    private readonly fd: number,
    private readonly counts: { bytes: number },
  ) {}

  write(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.byteLength) off += fs.writeSync(this.fd, chunk, off);
    this.counts.bytes += chunk.byteLength;
  }

  close(): void {
    if (this.open) {
      this.open = false;
      fs.closeSync(this.fd);
    }
  }
}

/** See the module comment. */
export class SafeTreeWriter {
  private readonly nodes = new Map<string, Node>([['', DIR_NODE]]);
  /** The symlinks of {@link nodes}, key → target, in the order they were made: the checks at the end walk these, not the whole tree. */
  private readonly links = new Map<string, string>();
  /** `root` and a slash: an entry's path is this plus its key (normalised components, never `.`/`..`). */
  private readonly prefix: string;
  private fileModeFixup: boolean | undefined;
  private dirModeFixup: boolean | undefined;
  private readonly counts = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  /**
   * Components and key of the last parent checked to be a directory of ours. Nodes are never
   * replaced or removed, so it stays one: entries of the same directory (the archive is sorted)
   * skip the walk.
   */
  private lastParent: readonly string[] = [];
  private lastParentKey = '';

  /**
   * @param root - An existing, empty, private directory (the caller created it).
   * @param limits - Caps (symlink hops).
   */
  constructor(
    readonly root: string,
    private readonly limits: ExtractLimits,
  ) {
    this.prefix = path.join(root, '/');
  }

  /** What has been written so far. */
  stats(): TreeStats {
    return { ...this.counts };
  }

  private makeDir(key: string): void {
    const p = this.prefix + key;
    fs.mkdirSync(p, DIR_MODE);
    if (this.dirModeFixup === undefined) this.dirModeFixup = (fs.lstatSync(p).mode & 0o7777) !== DIR_MODE;
    if (this.dirModeFixup) fs.chmodSync(p, DIR_MODE);
    this.nodes.set(key, DIR_NODE);
    this.counts.dirs++;
  }

  /** Create missing parents of `parts`; refuse when a parent is a symlink or a file. Returns the parent's key. */
  private parentsOf(entry: string, parts: readonly string[]): string {
    const n = parts.length - 1;
    const last = this.lastParent;
    if (last.length === n) {
      let i = 0;
      while (i < n && last[i] === parts[i]) i++;
      if (i === n) return this.lastParentKey;
    }
    let key = '';
    for (let i = 0; i < n; i++) {
      key = key === '' ? (parts[i] as string) : `${key}/${parts[i] as string}`;
      const node = this.nodes.get(key);
      if (node === undefined) this.makeDir(key);
      else if (node.kind === 'symlink') unsafe(entry, `it would be written through the symlink ${JSON.stringify(key)}`);
      else if (node.kind === 'file') unsafe(entry, `its parent ${JSON.stringify(key)} is a file`);
    }
    this.lastParent = parts.slice(0, n);
    this.lastParentKey = key;
    return key;
  }

  private claim(entry: string, parts: readonly string[], allowDir: boolean): string | undefined {
    const parent = this.parentsOf(entry, parts);
    const name = parts[parts.length - 1] as string;
    const key = parent === '' ? name : `${parent}/${name}`;
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
    const fd = fs.openSync(this.prefix + key, FILE_FLAGS, FILE_MODE);
    this.nodes.set(key, FILE_NODE);
    this.counts.files++;
    const file = new TreeFile(fd, this.counts);
    try {
      if (this.fileModeFixup === undefined) this.fileModeFixup = (fs.fstatSync(fd).mode & 0o7777) !== FILE_MODE;
      if (this.fileModeFixup) fs.fchmodSync(fd, FILE_MODE);
    } catch (err) {
      file.close();
      throw err;
    }
    return file;
  }

  /** A symlink entry (target already checked lexically by the policy). */
  symlink(entry: string, parts: readonly string[], target: string): void {
    const key = this.claim(entry, parts, false) as string;
    fs.symlinkSync(target, this.prefix + key);
    this.nodes.set(key, { kind: 'symlink', target });
    this.links.set(key, target);
    this.counts.symlinks++;
  }

  /**
   * Resolve every symlink against the finished tree, following links, and refuse one that
   * leaves the tree or loops. A link to a name that does not exist (inside the tree) is allowed.
   */
  verifySymlinks(): void {
    for (const [key, target] of this.links) {
      const stack = key.split('/');
      stack.pop();
      this.resolve(key, stack, target);
    }
  }

  /**
   * Remove every symlink whose target does not exist in the tree (after following links) and return their keys.
   * For package sets: a package's link into another package that is not part of the set (Debian's `scripts` →
   * `linux-kbuild`) would dangle. Call after {@link SafeTreeWriter.verifySymlinks}.
   */
  dropDanglingSymlinks(): string[] {
    const dropped: string[] = [];
    for (const [key, target] of this.links) {
      const stack = key.split('/');
      stack.pop();
      const end = this.resolve(key, stack, target).join('/');
      if (!this.nodes.has(end)) dropped.push(key);
    }
    for (const key of dropped) {
      fs.unlinkSync(this.prefix + key);
      this.nodes.delete(key);
      this.links.delete(key);
      this.counts.symlinks--;
    }
    return dropped;
  }

  /** Follow `target` from the directory `start` through the model; returns the final components. */
  private resolve(entry: string, start: string[], target: string): string[] {
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
    return stack;
  }
}
