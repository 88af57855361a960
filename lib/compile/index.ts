/**
 * Compiling eBPF C programs: `planCompile()` decides the mode and builds the argument lists (`plan.ts`, `flags.ts`);
 * `compile()` runs them through the compiled-object cache (`compile.ts`, `object-cache.ts`). This file only re-exports.
 */
export { compile } from './compile.js';
export { planCompile } from './plan.js';
export type { CompileMode, CompileOptions, CompileResult, PlannedCompile } from './types.js';
export type { CompilePlan, KernelPlan, PlainPlan, PipelineMode } from './flags.js';
export type { Toolchain, ToolInfo } from './toolchain.js';
