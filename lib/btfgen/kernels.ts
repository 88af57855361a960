/**
 * The kernel BTF inputs of `btfgen`: files (raw BTF, a vmlinux ELF with `.BTF`, a btfhub `.btf.tar.xz`) and
 * directories holding such files at any depth (a btfhub-archive checkout: `<id>/<version>/<arch>/<release>.btf.tar.xz`).
 * Each input gets the output path it is written to, relative to the output directory: a directory's files keep their
 * relative path with the name turned into `<release>.btf`; a file given by itself is written as `<name>.btf`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isBtfArchivePath } from '../btf/btf-archive.js';
import { SYSFS_VMLINUX } from '../btf/load.js';
import { BpfCompileError, ErrorCode, errnoCode } from '../errors.js';

/** One kernel BTF to tailor for. */
export interface KernelInput {
  /** The file to read. */
  readonly file: string;
  /** Where its tailored BTF goes, relative to the output directory (`ubuntu/20.04/x86_64/5.4.0-91-generic.btf`). */
  readonly output: string;
}

/** `5.4.0-91-generic.btf.tar.xz` → `5.4.0-91-generic.btf`; `vmlinux-6.1.0-9-amd64` → `vmlinux-6.1.0-9-amd64.btf`. */
export function outputNameOf(file: string): string {
  const base = path.basename(file);
  if (path.resolve(file) === SYSFS_VMLINUX) return `${os.release()}.btf`;
  if (isBtfArchivePath(base)) return base.slice(0, -'.tar.xz'.length);
  return base.endsWith('.btf') ? base : `${base}.btf`;
}

function isBtfFileName(name: string): boolean {
  return (name.endsWith('.btf') && name !== '.btf') || (isBtfArchivePath(name) && name !== '.btf.tar.xz');
}

function unreadable(p: string, err: unknown): BpfCompileError {
  const code = errnoCode(err);
  return new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot read kernel BTF input ${p}: ${code ?? String(err)}`, {
    hint: 'Give BTF files (raw .btf, a vmlinux with .BTF, btfhub .btf.tar.xz) or directories of them.',
    details: { path: p, errno: code },
    cause: err,
  });
}

/** Files under `dir` named like BTF (`*.btf`, `*.btf.tar.xz`), sorted; symlinked directories are not entered. */
function walk(dir: string, rel: string, out: KernelInput[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
  } catch (err) {
    throw unreadable(path.join(dir, rel), err);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const r = rel === '' ? e.name : path.join(rel, e.name);
    if (e.isDirectory()) walk(dir, r, out);
    else if ((e.isFile() || e.isSymbolicLink()) && isBtfFileName(e.name)) {
      out.push({ file: path.join(dir, r), output: path.join(path.dirname(r), outputNameOf(e.name)) });
    }
  }
}

/**
 * Expand `--btf` inputs into kernel BTF files with their output paths.
 *
 * @throws BpfCompileError `INPUT_UNREADABLE` for a missing input, `USAGE` for a directory without BTF files or two
 *   inputs that would be written to the same output.
 */
export function expandKernelInputs(inputs: readonly string[]): KernelInput[] {
  const out: KernelInput[] = [];
  for (const input of inputs) {
    let st: fs.Stats;
    try {
      st = fs.statSync(input);
    } catch (err) {
      throw unreadable(input, err);
    }
    if (st.isDirectory()) {
      const before = out.length;
      walk(input, '', out);
      if (out.length === before) {
        throw new BpfCompileError(ErrorCode.USAGE, `no kernel BTF files (*.btf, *.btf.tar.xz) under ${input}`, {
          hint: 'Point --btf at a btfhub-archive checkout, a directory of .btf files, or a single BTF file.',
        });
      }
    } else {
      out.push({ file: input, output: outputNameOf(input) });
    }
  }
  const seen = new Map<string, string>();
  for (const k of out) {
    const other = seen.get(k.output);
    if (other !== undefined) {
      throw new BpfCompileError(ErrorCode.USAGE, `${other} and ${k.file} would both be written as ${k.output}`, {
        hint: 'Give each kernel BTF a distinct name (rename one file), or pass directories so their layout keeps them apart.',
      });
    }
    seen.set(k.output, k.file);
  }
  return out;
}
