/**
 * Loading BTF from files and from the running kernel: raw BTF or ELF told apart by content, module BTF read
 * as split BTF on top of vmlinux, and the one-call {@link generateVmlinuxHeader}.
 */
import fs from 'node:fs/promises';
import { BpfCompileError, ErrorCode, errnoCode } from '../errors.js';
import { underRoot } from '../system/root.js';
import type { Btf } from './btf.js';
import { dumpCHeader, type DumpCHeaderOptions } from './dump.js';
import { findBtfSection, isElf } from './elf.js';
import { parseBtf, type ParseBtfOptions } from './parse.js';

/** Where the running kernel exposes its BTF. */
export const SYSFS_BTF_DIR = '/sys/kernel/btf';
/** The running kernel's own BTF. */
export const SYSFS_VMLINUX = `${SYSFS_BTF_DIR}/vmlinux`;

/**
 * Parse the `.BTF` section of an ELF file (vmlinux, `.ko`, `.bpf.o`).
 *
 * @throws BpfCompileError `BTF_INVALID` when the ELF or its BTF is malformed, or there is no `.BTF`.
 */
export function parseBtfFromElf(data: Uint8Array, opts: ParseBtfOptions = {}): Btf {
  return parseBtf(findBtfSection(data), opts);
}

/** Parse bytes that are either raw BTF or an ELF file carrying `.BTF`. */
export function parseBtfAuto(data: Uint8Array, opts: ParseBtfOptions = {}): Btf {
  return isElf(data) ? parseBtfFromElf(data, opts) : parseBtf(data, opts);
}

/** Read a whole file with as few round trips as possible (sysfs BTF files report their true size). */
async function readWhole(path: string): Promise<Uint8Array> {
  const fh = await fs.open(path, 'r');
  try {
    const { size } = await fh.stat();
    let buf = Buffer.allocUnsafe(Math.max(size, 65536));
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const bigger = Buffer.allocUnsafe(buf.length * 2);
        buf.copy(bigger, 0, 0, len);
        buf = bigger;
      }
      const { bytesRead } = await fh.read(buf, len, buf.length - len, len);
      if (bytesRead === 0) break;
      len += bytesRead;
    }
    return buf.subarray(0, len);
  } finally {
    await fh.close();
  }
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return await readWhole(path);
  } catch (err) {
    const code = errnoCode(err);
    throw new BpfCompileError(ErrorCode.INPUT_UNREADABLE, `cannot read ${what} ${path}: ${code ?? String(err)}`, {
      hint: code === 'ENOENT' ? 'Is the kernel built with CONFIG_DEBUG_INFO_BTF=y (and the module loaded)?' : 'Check the path and permissions.',
      cause: err,
      details: { path, errno: code },
    });
  }
}

/**
 * Read and parse a BTF file: raw BTF (`/sys/kernel/btf/*`, `.btf` files) or an ELF with a `.BTF` section,
 * told apart by content.
 *
 * @param path - File to read.
 * @param opts - `base` for split (module) BTF.
 * @throws BpfCompileError `INPUT_UNREADABLE` when the file cannot be read, `BTF_INVALID` when it is malformed.
 */
export async function loadBtfFile(path: string, opts: ParseBtfOptions = {}): Promise<Btf> {
  const data = await readInput(path, 'BTF file');
  try {
    return parseBtfAuto(data, opts);
  } catch (err) {
    if (err instanceof BpfCompileError && err.code === ErrorCode.BTF_INVALID) {
      throw new BpfCompileError(err.code, `${path}: ${err.message}`, {
        ...(err.hint === undefined ? {} : { hint: err.hint }),
        cause: err,
        details: { ...err.details, path },
      });
    }
    throw err;
  }
}

/** Options of {@link generateVmlinuxHeader}. */
export interface GenerateVmlinuxHeaderOptions extends Omit<DumpCHeaderOptions, 'modules'> {
  /**
   * BTF to dump: a file path (raw BTF or ELF, *not* mapped under `root`) or the bytes themselves.
   * Default: the running kernel's `/sys/kernel/btf/vmlinux`, under `root`.
   */
  readonly btf?: string | Uint8Array;
  /**
   * Kernel modules whose BTF to add, by name (`nf_conntrack`): read from `<root>/sys/kernel/btf/<name>` as
   * split BTF on top of the base. Their types are appended to the header.
   */
  readonly modules?: readonly string[];
  /** Root directory for system paths. Default `/`. */
  readonly root?: string;
}

const MODULE_NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * Generate a `vmlinux.h` for CO-RE programs, like `bpftool btf dump file /sys/kernel/btf/vmlinux format c`.
 *
 * @example
 * ```ts
 * const header = await generateVmlinuxHeader({ modules: ['nf_conntrack'] });
 * await fs.writeFile('vmlinux.h', header);
 * ```
 * @throws BpfCompileError `INPUT_UNREADABLE` (missing BTF or module), `BTF_INVALID` (malformed), `USAGE` (bad module name).
 */
export async function generateVmlinuxHeader(opts: GenerateVmlinuxHeaderOptions = {}): Promise<string> {
  const root = opts.root ?? '/';
  const source = opts.btf ?? underRoot(root, SYSFS_VMLINUX);
  const base = typeof source === 'string' ? await loadBtfFile(source) : parseBtfAuto(source);
  const modules: Btf[] = [];
  for (const name of opts.modules ?? []) {
    if (!MODULE_NAME.test(name) || name === '.' || name === '..' || name === 'vmlinux') {
      throw new BpfCompileError(ErrorCode.USAGE, `invalid kernel module name: ${JSON.stringify(name)}`, {
        hint: 'Give module names as listed in /sys/kernel/btf (e.g. nf_conntrack), not paths.',
      });
    }
    modules.push(await loadBtfFile(underRoot(root, `${SYSFS_BTF_DIR}/${name}`), { base }));
  }
  const { btf: _btf, modules: _modules, root: _root, ...dumpOpts } = opts;
  return dumpCHeader(base, { ...dumpOpts, modules });
}
