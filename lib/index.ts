/**
 * bpf-compile: find the right kernel headers for a target kernel and compile eBPF C programs with the right
 * clang/LLVM pipeline.
 *
 * @example
 * ```ts
 * import { resolveHeaders, compile } from 'bpf-compile';
 * const headers = await resolveHeaders({ kernelRelease: '6.1.0-56-amd64' });
 * await compile({ source: 'probe.bpf.c', output: 'probe.bpf.o', headers });
 * ```
 * @packageDocumentation
 */
export { resolveHeaders, type ResolveOptions, type ResolvedHeaders, type ResolvedKernelTree, type ResolvedVmlinux } from './resolve.js';
export {
  compile,
  planCompile,
  type CompileMode,
  type CompileOptions,
  type CompileResult,
  type PlannedCompile,
  type CompilePlan,
  type KernelPlan,
  type PlainPlan,
  type PipelineMode,
  type Toolchain,
  type ToolInfo,
} from './compile/index.js';
export { cflagsOf } from './compile/flags.js';
export { findToolchain, type ToolchainOptions } from './compile/toolchain.js';
export { ARCHES, lookupArch, hostArch, knownArchNames, type ArchInfo, type BpfTarget } from './arch.js';
export { resolveTarget, type Target, type TargetOptions } from './target.js';
export {
  HEADER_SOURCES,
  sourceNames,
  type HeaderKind,
  type HeaderSource,
  type KernelTree,
  type SourceContext,
  type SourceProgress,
  type SourceResult,
  type VmlinuxHeader,
} from './sources/index.js';
export {
  Btf,
  parseBtf,
  parseBtfAuto,
  parseBtfFromElf,
  loadBtfFile,
  dumpCHeader,
  dumpCHeaderBytes,
  generateVmlinuxHeader,
  type DumpCHeaderOptions,
  type GenerateVmlinuxHeaderOptions,
  type MemberInfo,
  type WalkMembersOptions,
  type BtfType,
  type BtfKindName,
  type BtfMember,
  type BtfHeader,
} from './btf/index.js';
export { vmlinuxHeaderFromCache, type VmlinuxHeaderFromCache, type VmlinuxHeaderFromCacheOptions } from './btf/cache.js';
export { extractBtfFromArchive } from './btf/btf-archive.js';
export { btfgen, tailorBtf, type BtfgenOptions, type BtfgenResult, type KernelReport, type KernelFailure, type UnresolvedRelo } from './btfgen/index.js';
// cache maintenance; the entry protocol itself (ensureEntry, openCache, …) is the subpath export `bpf-compile/cache`
export { cachePath, listEntries, prune, clear, type CacheRef, type EntryInfo, type PruneOptions, type PruneResult } from './cache/index.js';
export {
  extractArchive,
  extractArchiveToCache,
  DEFAULT_LIMITS,
  type ExtractLimits,
  type ExtractOptions,
  type ExtractResult,
  type ExtractToCacheOptions,
  type ExtractToCacheResult,
} from './archive/index.js';
export { extractKheadersFromModule, sniffKheadersFile, type LoadModulePolicy } from './kmod/index.js';
export { BpfCompileError, ErrorCode, isBpfCompileError, type TriedStep, type BpfCompileErrorOptions } from './errors.js';
