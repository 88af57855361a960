/**
 * Kernel modules: reading the kheaders archive out of `kheaders.ko` (`CONFIG_IKHEADERS=m`), finding
 * that module under `/lib/modules/<release>`, and loading it for the running kernel.
 */
export { isElf, parseElf, readSymbols, sectionData, findSection, ElfType, SectionType, SectionIndex, SHF_COMPRESSED } from './elf.js';
export type { ElfFile, ElfSection, ElfSymbol } from './elf.js';
export { decompressModuleFile, detectModuleFormat, DEFAULT_MAX_MODULE_BYTES, XZ_MAGIC, GZIP_MAGIC, ZSTD_MAGIC, zstdUnsupportedError } from './decompress.js';
export type { DecompressModuleOptions, ModuleFileFormat } from './decompress.js';
export {
  extractKheadersFromModule,
  locateKheadersInModule,
  kheadersFromModuleContent,
  readKheadersFromModuleFile,
  sniffKheadersFile,
  KHEADERS_START_SYMBOL,
  KHEADERS_END_SYMBOL,
} from './kheaders-module.js';
export type { KheadersFileKind, KheadersLocation } from './kheaders-module.js';
export { findKheadersModule, kheadersEntryOfModulesDep, KHEADERS_MODULE_NAMES } from './find.js';
export type { KheadersModuleFound, KheadersModuleNotFound } from './find.js';
export { withKheadersModuleLoaded, isKheadersModuleLoaded, findModprobe } from './load.js';
export type { LoadModulePolicy, KheadersLoadOptions, KheadersLoaded, KheadersNotLoaded } from './load.js';
