import type { Target } from '../target.js';

/** A kernel header tree as the compiler sees it: a source tree and an object (build) tree, possibly the same dir. */
export interface KernelTree {
  /** Directory holding `include/linux/…`, `arch/<a>/include/…` (the source tree). */
  readonly sourceDir: string;
  /** Directory holding `include/generated/…`, `arch/<a>/include/generated/…` (the build tree). */
  readonly buildDir: string;
}

/** What a header source answers. */
export type SourceResult =
  | { readonly found: true; readonly tree: KernelTree; readonly detail: string }
  | {
      readonly found: false;
      /** Why this source does not apply, in a few words the user can act on. */
      readonly reason: string;
      /** When true, resolution stops here: the user asked for this source explicitly and it is broken. */
      readonly fatal?: boolean;
      /** What the user could do to make this source work. */
      readonly hint?: string;
    };

/** Everything a source may consult. Built once per `resolveHeaders()` call. */
export interface SourceContext {
  readonly target: Target;
  /** Environment variables (defaults to `process.env`; tests pass their own). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Explicit source tree (option `kernelSource`). */
  readonly kernelSource: string | undefined;
  /** Explicit build tree (option `kernelBuild`). */
  readonly kernelBuild: string | undefined;
}

/** One place kernel headers can come from. Sources are tried in priority order; see `sources/index.ts`. */
export interface HeaderSource {
  /** Stable name shown in `tried` and accepted by `--source`. */
  readonly name: string;
  /** One line for `--help` and reports. */
  readonly description: string;
  /** Look for headers. Never throws for "not here": answers `{ found: false, reason }`. */
  find(ctx: SourceContext): Promise<SourceResult>;
}
