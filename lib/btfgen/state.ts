/**
 * Up-to-date checks for `btfgen` reruns (a prebuild step runs it on every build; a btfhub tree is thousands of
 * kernels): `<out-dir>/.btfgen-state.json` records, per output file, the kernel input's identity (device, inode,
 * size, mtime and ctime in ns), the objects' digest, the tool version and the output's sha256. A kernel is skipped only
 * when all of them are unchanged and the output file still has that sha256; anything else — a missing, torn or
 * foreign state file included — means it is tailored again. Failures are never recorded, so they are retried.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileIdentity } from '../cache/records.js';
import { writeFileAtomicSync } from '../system/atomic-file.js';

/** The state file's name in the output directory. */
export const STATE_FILE = '.btfgen-state.json';
const FORMAT = 1;

/** What is remembered of one kernel's output. */
export interface KernelState {
  readonly input: string;
  readonly identity: string;
  readonly sha256: string;
  readonly types: number;
  readonly kernelTypes: number;
  readonly relocations: number;
  /** The unresolved relocations, as reported (JSON of `UnresolvedRelo[]`). */
  readonly unresolved: readonly unknown[];
}

interface StateFile {
  readonly format: number;
  readonly tool: string;
  readonly objects: string;
  readonly kernels: Record<string, KernelState>;
}

/** sha256 of bytes (hex). */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** The digest of a set of objects: their paths and contents, in order. */
export function objectsDigest(objects: readonly { path: string; sha256: string }[]): string {
  return sha256Hex(Buffer.from(JSON.stringify(objects.map((o) => [path.resolve(o.path), o.sha256]))));
}

/** The identity of an input file, or undefined when it cannot be stat'ed. */
export function inputIdentity(file: string): string | undefined {
  try {
    return fileIdentity(file, { ctime: true });
  } catch {
    return undefined;
  }
}

/** The recorded state of an output directory, for one tool version and object digest. */
export class BtfgenState {
  readonly #file: string;
  readonly #tool: string;
  readonly #objects: string;
  readonly #previous: Record<string, KernelState>;
  readonly #next: Record<string, KernelState> = {};

  constructor(outDir: string, tool: string, objects: string) {
    this.#file = path.join(outDir, STATE_FILE);
    this.#tool = tool;
    this.#objects = objects;
    this.#previous = this.#read();
  }

  #read(): Record<string, KernelState> {
    try {
      const v = JSON.parse(fs.readFileSync(this.#file, 'utf8')) as Partial<StateFile>;
      if (v.format !== FORMAT || v.tool !== this.#tool || v.objects !== this.#objects || typeof v.kernels !== 'object' || v.kernels === null) return {};
      return v.kernels;
    } catch {
      return {};
    }
  }

  /** The remembered result for `output` when it is still valid (input and output file unchanged), else undefined. */
  upToDate(output: string, outFile: string, input: string, identity: string | undefined): KernelState | undefined {
    const s = this.#previous[output];
    if (s === undefined || identity === undefined || s.input !== path.resolve(input) || s.identity !== identity || typeof s.sha256 !== 'string') return undefined;
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(outFile);
    } catch {
      return undefined;
    }
    return sha256Hex(bytes) === s.sha256 && Array.isArray(s.unresolved) ? s : undefined;
  }

  /** Remember `output` for the next run. */
  record(output: string, state: KernelState): void {
    this.#next[output] = state;
  }

  /** Write the state of this run (outputs not produced this time are forgotten). Best effort: a failure costs a rerun. */
  save(): void {
    try {
      writeFileAtomicSync(this.#file, `${JSON.stringify({ format: FORMAT, tool: this.#tool, objects: this.#objects, kernels: this.#next } satisfies StateFile)}\n`);
    } catch {
      // an unwritable state only means the next run tailors again
    }
  }
}
