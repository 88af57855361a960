/**
 * Tailored BTF (`bpf-compile btfgen`, `build --btfgen`): for each kernel BTF given, the smallest BTF that satisfies
 * every CO-RE relocation of a set of BPF objects, so an application can ship a few KiB per kernel instead of the
 * kernel's whole 5 MB BTF and load with libbpf's `btf_custom_path` on kernels that have no `/sys/kernel/btf/vmlinux`.
 *
 * Pipeline: `object.ts` reads each object's BTF and `.BTF.ext` relocations (`ext.ts`) → per kernel, `resolve.ts`
 * resolves every relocation as libbpf would (`spec.ts`, `compat.ts`, `calc.ts`) → `tailor.ts` keeps what the
 * target specs touch and writes it (`btf/write.ts`). Inputs are expanded by `kernels.ts`.
 *
 * @example
 * ```ts
 * const r = await btfgen({ objects: ['build/exec.bpf.o'], btf: ['btfhub-archive/ubuntu'], outDir: 'src/btf' });
 * for (const k of r.kernels) console.log(k.output, k.bytes, k.unresolved.length);
 * ```
 * @packageDocumentation
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Btf } from '../btf/btf.js';
import { extractBtfFromArchive, isBtfArchivePath } from '../btf/btf-archive.js';
import { loadBtfFile, parseBtfAuto, SYSFS_VMLINUX } from '../btf/load.js';
import { BpfCompileError, ErrorCode, isBpfCompileError } from '../errors.js';
import { writeFileAtomic } from '../system/atomic-file.js';
import { ReloKindNumber, RESOLVES_TO_ZERO } from './kinds.js';
import { expandKernelInputs, type KernelInput } from './kernels.js';
import { readBpfObject, readObjectFile, type BpfObjectRelos } from './object.js';
import { BtfgenState, inputIdentity, objectsDigest, sha256Hex } from './state.js';
import { packageInfo } from '../system/package-info.js';
import { CandidateIndex, relocatedNames, resolveRelos, type ReloOutcome } from './resolve.js';
import { Marks, writeTailored } from './tailor.js';
import { makeDirs } from '../system/dirs.js';

/** Bumped whenever the tailored output for the same inputs changes (invalidates every recorded up-to-date state). */
const TAILOR_FORMAT = 'tailor-1';

export { readBpfObject, loadBpfObject, type BpfObjectRelos } from './object.js';
export { parseCoreRelos, type CoreRelo } from './ext.js';
export { resolveRelos, CandidateIndex, relocatedNames, type ReloOutcome } from './resolve.js';
export { Marks, writeTailored } from './tailor.js';
export type { ReloValue } from './calc.js';
export { expandKernelInputs, outputNameOf, type KernelInput } from './kernels.js';

/** Options of {@link btfgen}. */
export interface BtfgenOptions {
  /** The BPF objects (`.bpf.o`) whose relocations the tailored BTF must satisfy. */
  readonly objects: readonly string[];
  /**
   * Kernel BTF inputs: raw `.btf` files, vmlinux ELF files with `.BTF`, btfhub `.btf.tar.xz` archives, or directories
   * of them at any depth (a btfhub-archive checkout). Default: the running kernel's `/sys/kernel/btf/vmlinux`.
   */
  readonly btf?: readonly string[];
  /** Output directory: one `<release>.btf` per kernel, mirroring a directory input's layout. */
  readonly outDir: string;
  /** Tailor every kernel again, even those whose output is up to date (see `state.ts`). */
  readonly force?: boolean;
  /** Called after each kernel (progress). */
  readonly onKernel?: (report: KernelReport | KernelFailure) => void;
  /** Stops between kernels. */
  readonly signal?: AbortSignal;
}

/** A relocation a kernel cannot satisfy. */
export interface UnresolvedRelo {
  /** The object file. */
  readonly object: string;
  /** Its ELF section (program) and the relocation's index there (libbpf's `relo #N`). */
  readonly section: string;
  readonly index: number;
  /** Instruction number in the section. */
  readonly insn: number;
  /** libbpf's kind name (`byte_off`, `field_exists`, …). */
  readonly kind: string;
  /** The access in the object's terms (`task_struct.loginuid (0:96 @ offset 2600)`). */
  readonly access: string;
  /**
   * `zero`: an existence/size/id check that evaluates to 0 on this kernel (the program decides what to do);
   * `poisoned`: libbpf replaces the instruction with an invalid call — loading fails if the code is reachable.
   */
  readonly outcome: 'zero' | 'poisoned';
}

/** One kernel's tailored BTF. */
export interface KernelReport {
  readonly ok: true;
  /** The kernel BTF input file. */
  readonly kernel: string;
  /** The tailored BTF file written. */
  readonly output: string;
  /** Types kept, and the kernel BTF's type count. */
  readonly types: number;
  readonly kernelTypes: number;
  /** Size of the tailored BTF in bytes. */
  readonly bytes: number;
  /** Relocations resolved against this kernel (all objects). */
  readonly relocations: number;
  /** The relocations this kernel cannot satisfy. */
  readonly unresolved: readonly UnresolvedRelo[];
  /** The output was already up to date (same kernel input, objects and tool version): nothing was written. */
  readonly upToDate: boolean;
}

/** A kernel for which nothing was written: its BTF is unreadable, or an object's relocations fail on it. */
export interface KernelFailure {
  readonly ok: false;
  readonly kernel: string;
  readonly error: BpfCompileError;
}

/** Result of {@link btfgen}. */
export interface BtfgenResult {
  /** True when every kernel got its tailored BTF. */
  readonly ok: boolean;
  readonly kernels: readonly (KernelReport | KernelFailure)[];
  /** The objects and their relocation counts. */
  readonly objects: readonly { readonly path: string; readonly relocations: number }[];
}

async function readKernel(input: KernelInput): Promise<Btf> {
  if (!isBtfArchivePath(input.file)) return loadBtfFile(input.file);
  const { bytes } = await extractBtfFromArchive(input.file);
  return parseBtfAuto(bytes);
}

function unresolvedOf(obj: BpfObjectRelos, outcomes: readonly ReloOutcome[]): UnresolvedRelo[] {
  return outcomes
    .filter((o) => o.target === undefined && o.relo.kind !== ReloKindNumber.TYPE_ID_LOCAL)
    .map((o) => ({
      object: obj.path,
      section: o.relo.section,
      index: o.relo.index,
      insn: o.relo.insnOff / 8,
      kind: o.kindName,
      access: o.access,
      outcome: RESOLVES_TO_ZERO.has(o.relo.kind) ? ('zero' as const) : ('poisoned' as const),
    }));
}

/**
 * Tailor one kernel's BTF to the objects' relocations (no I/O).
 *
 * @throws BpfCompileError `CORE_RELOCATION` when a relocation fails on this kernel as it would in libbpf.
 */
export function tailorBtf(
  kernel: Btf,
  kernelName: string,
  objects: readonly BpfObjectRelos[],
): { bytes: Uint8Array; types: number; relocations: number; unresolved: UnresolvedRelo[] } {
  const index = new CandidateIndex(kernel, relocatedNames(objects));
  const marks = new Marks(kernel);
  const unresolved: UnresolvedRelo[] = [];
  let relocations = 0;
  for (const obj of objects) {
    const outcomes = resolveRelos(obj, kernel, kernelName, index);
    relocations += outcomes.length;
    // Every matching candidate, not only the first (bpftool keeps the first): libbpf prunes its candidate list to the
    // matches of each relocation, so a later relocation of the same type may need a candidate the first one did not.
    for (const o of outcomes) for (const m of o.matches) marks.record(m);
    unresolved.push(...unresolvedOf(obj, outcomes));
  }
  const { bytes, types } = writeTailored(marks);
  return { bytes, types, relocations, unresolved };
}

/**
 * Write a tailored BTF for every kernel input.
 *
 * A kernel whose BTF cannot be read or on which an object's relocations fail (malformed, ambiguous — where libbpf
 * would refuse the load) gets no file and a {@link KernelFailure}; the others are still written.
 *
 * @throws BpfCompileError `USAGE` (no objects, bad inputs), `INPUT_UNREADABLE`/`BTF_INVALID` for an object,
 *   `OUTPUT_UNWRITABLE`.
 */
export async function btfgen(opts: BtfgenOptions): Promise<BtfgenResult> {
  if (opts.objects.length === 0) throw new BpfCompileError(ErrorCode.USAGE, 'btfgen needs at least one BPF object', { hint: 'bpf-compile btfgen prog.bpf.o --btf DIR -o OUT' });
  let inputs = opts.btf ?? [];
  if (inputs.length === 0) {
    if (!fs.existsSync(SYSFS_VMLINUX)) {
      throw new BpfCompileError(ErrorCode.USAGE, 'no --btf given and the running kernel has no /sys/kernel/btf/vmlinux', {
        hint: 'Give the kernels to tailor for: --btf FILE|DIR (btfhub-archive checkout, .btf files, vmlinux images).',
      });
    }
    inputs = [SYSFS_VMLINUX];
  }
  const kernels = expandKernelInputs(inputs);
  const files: { path: string; bytes: Buffer; sha256: string }[] = [];
  for (const o of opts.objects) {
    const bytes = await readObjectFile(o);
    files.push({ path: o, bytes, sha256: sha256Hex(bytes) });
  }
  // parsed when the first kernel needs tailoring (a rerun with everything up to date parses nothing)
  let parsed: BpfObjectRelos[] | undefined;
  const objects = (): BpfObjectRelos[] => (parsed ??= files.map((f) => readBpfObject(f.bytes, f.path)));
  const outDir = path.resolve(opts.outDir);
  const state = new BtfgenState(outDir, `${packageInfo().version}/${TAILOR_FORMAT}`, objectsDigest(files));
  const reports: (KernelReport | KernelFailure)[] = [];
  for (const k of kernels) {
    opts.signal?.throwIfAborted();
    const out = path.join(outDir, k.output);
    const identity = inputIdentity(k.file);
    const kept = opts.force === true ? undefined : state.upToDate(k.output, out, k.file, identity);
    let report: KernelReport | KernelFailure;
    if (kept !== undefined) {
      state.record(k.output, kept);
      report = {
        ok: true,
        kernel: k.file,
        output: out,
        types: kept.types,
        kernelTypes: kept.kernelTypes,
        bytes: fs.statSync(out).size,
        relocations: kept.relocations,
        unresolved: kept.unresolved as UnresolvedRelo[],
        upToDate: true,
      };
    } else {
      const objs = objects(); // a malformed object fails the whole run, not one kernel
      try {
        const kernel = await readKernel(k);
        const t = tailorBtf(kernel, k.file, objs);
        try {
          makeDirs(path.dirname(out));
          await writeFileAtomic(out, t.bytes);
        } catch (err) {
          throw new BpfCompileError(ErrorCode.OUTPUT_UNWRITABLE, `cannot write ${out}: ${err instanceof Error ? err.message : String(err)}`, {
            details: { path: out },
            cause: err,
          });
        }
        const r = { types: t.types, kernelTypes: kernel.count - 1, relocations: t.relocations, unresolved: t.unresolved };
        // an input that changed while it was read is not remembered: the next run tailors it again
        if (identity !== undefined && inputIdentity(k.file) === identity) state.record(k.output, { input: path.resolve(k.file), identity, sha256: sha256Hex(t.bytes), ...r });
        report = { ok: true, kernel: k.file, output: out, bytes: t.bytes.length, ...r, upToDate: false };
      } catch (err) {
        if (!isBpfCompileError(err) || err.code === ErrorCode.OUTPUT_UNWRITABLE) throw err;
        report = { ok: false, kernel: k.file, error: err };
      }
    }
    reports.push(report);
    opts.onKernel?.(report);
  }
  state.save();
  // relocation counts need the parsed objects; when every kernel was up to date they are parsed here (cheap: no kernel)
  return { ok: reports.every((r) => r.ok), kernels: reports, objects: objects().map((o) => ({ path: o.path, relocations: o.relos.length })) };
}
