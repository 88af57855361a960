/**
 * BTF (BPF Type Format): parse raw or ELF-embedded BTF, query it, and write it as a C header (`vmlinux.h`)
 * the way `bpftool btf dump file … format c` does. Pure TypeScript.
 *
 * Phases and where they live:
 * - `parse.ts` — bytes → validated compact type table (`table.ts`, `strings.ts`); `elf.ts` finds `.BTF`.
 * - `btf.ts` — the {@link Btf} object: types by id/name, member walks, sizes and alignments.
 * - `order.ts` → `emit.ts` (driven by `dump.ts`) — dependency ordering, then C text.
 * - `load.ts` — files, sysfs, modules (split BTF), {@link generateVmlinuxHeader}.
 *
 * @example
 * ```ts
 * import { loadBtfFile, dumpCHeader } from './btf/index.js';
 * const btf = await loadBtfFile('/sys/kernel/btf/vmlinux');
 * btf.walkMembers('task_struct').find((m) => m.path === 'pid')?.byteOffset;
 * const header = dumpCHeader(btf);
 * ```
 * @packageDocumentation
 */
export { Btf, type MemberInfo, type WalkMembersOptions } from './btf.js';
export { parseBtf, parseHeader, type BtfHeader, type ParseBtfOptions, BTF_MAGIC, MAX_CHAIN_DEPTH } from './parse.js';
export { dumpCHeader, dumpCHeaderBytes, type DumpCHeaderOptions } from './dump.js';
export { findBtfSection, elfSections, isElf, type ElfSection } from './elf.js';
export { generateVmlinuxHeader, loadBtfFile, parseBtfFromElf, parseBtfAuto, SYSFS_BTF_DIR, SYSFS_VMLINUX, type GenerateVmlinuxHeaderOptions } from './load.js';
export * from './types.js';
