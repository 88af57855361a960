/** `bpf-compile doctor`: one report of everything compiling and loading eBPF programs needs on this machine. */
export { buildDoctorReport, judge, verdictOf, nextStepsOf, type DoctorOptions, type DoctorFindings } from './report.js';
export { defaultProbes, type DoctorProbes } from './probes.js';
export { probeBpf, type BpfProbeResult, type BpfProbeOptions } from './bpf-probe.js';
export { probeToolchain, llvmToolVersion, type ToolchainProbeOptions } from './toolchain-probe.js';
export { formatDoctorReport } from './format.js';
export type { DoctorReport, DoctorVerdict, ToolReport, ToolchainReport, LibbpfReport, SourceReport, BtfReport, CacheReport } from './types.js';
