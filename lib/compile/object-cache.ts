/**
 * The compiled-object cache: a second compile of the same program with the same flags, tools and headers copies the
 * object from the cache instead of running clang (and opt/llc).
 *
 * Two levels, like ccache's direct mode, because the headers a compile reads are only known after compiling:
 *
 * - the **dependency manifest** (`object-deps/<manifestKey>`), keyed by everything but the headers' contents:
 *   {@link OBJECT_CACHE_FORMAT}, the mode, every argv list of the plan (the temporary output and the source path
 *   replaced by placeholders), the target (arch, triple, byte order, release), each tool's path, major, full version
 *   and binary identity (real path, size, mtime — ccache's `compiler_check=mtime`), the source's path and sha256,
 *   the environment variables clang reads (`CPATH`, `C_INCLUDE_PATH`, `CCC_OVERRIDE_OPTIONS`, `SOURCE_DATE_EPOCH`),
 *   whether diagnostics are coloured, and the working directory when an include flag names a relative path. It
 *   records the dependency list (absolute paths) of the last successful compile, from clang's `-MD -MF` depfile.
 *   The source's path is part of the key on purpose: `#include "x.h"` resolves next to the source, so the same bytes
 *   elsewhere may read other headers that the recorded list does not name.
 * - the **result** (`objects/<resultKey>`), `resultKey = sha256(format, manifestKey, [path, sha256] of every listed
 *   dependency's current bytes)`, holding `object.o` and `diagnostics.txt` (so warnings are reproduced on a hit).
 *
 * A hit needs both entries and every dependency's current bytes to match. Dependency hashes come from a per-manifest
 * **stat index** (`<root>/.index/objects-<manifestKey>.json`: path → (dev, ino, size, mtimeNs, ctimeNs) → sha256),
 * so the ~1,000 headers of a kernel-mode compile are verified with `stat` calls only while the tree is unchanged.
 *
 * **Trade-off** (the assumption of make and of ccache's direct mode): a file rewritten in place with the same size,
 * mtime and ctime (and inode) is taken as unchanged; since the ctime cannot be set by a user, this in practice takes a
 * rewrite within one timestamp tick of the recorded stat. Files modified less than {@link RACY_WINDOW_MS} before they
 * are indexed are never indexed (git's "racy" rule), and a compile whose source or dependency changed after it started
 * is not stored. A header that did not exist at the last compile but would now shadow a listed one (an earlier `-I`
 * dir) is not noticed — the same limit as ccache's direct mode.
 *
 * Reads use the entries' manifests directly; every write goes through `ensureEntry` (atomic, locked). A corrupt entry
 * (bad object hash, missing file) is deleted and the program recompiled; a failed compile is never stored.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ensureEntry, toCache, trashDir, type CacheRef } from '../cache/entry.js';
import { DATA_DIR, readCompleteManifest, type JsonValue, type Manifest } from '../cache/manifest.js';
import type { Cache } from '../cache/safety.js';
import { INDEX_DIR, hashFile } from '../cache/stat-index.js';
import { isBpfCompileError, ErrorCode } from '../errors.js';
import { depfilePrerequisites } from './depfile.js';
import type { CompilePlan } from './flags.js';
import type { PlannedCompile } from './types.js';
import { runPlan } from './run.js';
import type { ToolInfo } from './toolchain.js';
import { writeFileAtomicSync } from '../system/atomic-file.js';
import { field, readRecord, statIdentity, writeRecord } from '../cache/records.js';
import { makeDirs } from '../system/dirs.js';
import { colourDiagnostics } from '../system/terminal.js';

/** Version of the key scheme and entry layout; bump to invalidate every cached object. */
export const OBJECT_CACHE_FORMAT = 1;
/** Namespace of the result entries (object + diagnostics). */
export const OBJECTS_NAMESPACE = 'objects';
/** Namespace of the dependency manifests. */
export const OBJECT_DEPS_NAMESPACE = 'object-deps';
/** A file modified less than this before it is hashed is not put into the stat index (it is re-hashed next time). */
export const RACY_WINDOW_MS = 2000;
/** A dependency whose mtime is later than compile start minus this slack (coarse fs clocks) makes the result unstorable. */
const START_SLACK_NS = 50_000_000n;

const OBJECT_FILE = 'object.o';
const DIAGNOSTICS_FILE = 'diagnostics.txt';
/** Environment variables clang reads that change what it compiles or prints. */
const CLANG_ENV = ['CPATH', 'C_INCLUDE_PATH', 'CCC_OVERRIDE_OPTIONS', 'SOURCE_DATE_EPOCH', 'NO_COLOR'] as const;
/** Include-ish flags taking a path: a relative one makes the working directory part of the key. */
const PATH_FLAGS = ['-I', '-isystem', '-iquote', '-idirafter', '-include', '-imacros', '-isysroot', '--sysroot', '-iprefix', '-F'];

/** Runs a planned compile with extra clang args (the cache's `-MD -MF <file>`); writes `planned.output` or throws. */
export type CachedRun = (planned: PlannedCompile, extraClangArgs: string[]) => Promise<{ diagnostics: string }>;

/** Options of {@link compileCached}. */
export interface CompileCachedOptions {
  /** The cache (or how to open it). Default: the default cache dir. */
  cache?: CacheRef;
}

/** What {@link compileCached} did. */
export interface CompileCachedResult {
  /** The compilers' stderr, stored and replayed on a hit. */
  diagnostics: string;
  /** True when the object was copied from the cache. */
  fromCache: boolean;
  /**
   * The result key (`objects/<key>`): equal keys mean equal inputs. Empty when a miss could not be keyed (no depfile
   * was written, or a dependency vanished or changed while hashing); nothing was stored then.
   */
  key: string;
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/**
 * `plan` with `args` added to its clang argv right before the `-c <source>` (the front end of every mode: in kernel
 * mode only clang gets them, opt and llc are untouched).
 */
export function withExtraClangArgs<P extends CompilePlan>(plan: P, args: readonly string[]): P {
  const at = plan.clang.lastIndexOf('-c');
  const clang = at < 0 ? [...plan.clang, ...args] : [...plan.clang.slice(0, at), ...args, ...plan.clang.slice(at)];
  return { ...plan, clang };
}

/** The `run` of {@link compileCached} for the real toolchain: `runPlan` with the extra clang args added. */
export const runPlanWithArgs: CachedRun = (planned, extra) => runPlan(withExtraClangArgs(planned.plan, extra), planned.toolchain, planned.tmpOutput, planned.output);

/** The C file a plan compiles: the argument after its clang `-c`. */
export function sourceOfPlan(plan: CompilePlan): string {
  const at = plan.clang.lastIndexOf('-c');
  const src = at < 0 ? undefined : plan.clang[at + 1];
  if (src === undefined) throw new TypeError('compile plan without -c <source>');
  return path.resolve(src);
}

function toolIdentity(tool: ToolInfo | undefined): JsonValue {
  if (tool === undefined) return null;
  let binary: JsonValue;
  try {
    const real = fs.realpathSync(tool.path);
    const st = fs.statSync(real, { bigint: true });
    binary = [real, st.size.toString(), st.mtimeNs.toString()];
  } catch {
    binary = 'unreadable';
  }
  return { path: tool.path, major: tool.major, version: tool.version ?? null, binary };
}

function needsCwd(argvs: readonly (readonly string[])[]): boolean {
  const relative = (v: string | undefined): boolean => v !== undefined && v !== '' && !path.isAbsolute(v);
  for (const argv of argvs) {
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i] as string;
      for (const f of PATH_FLAGS) {
        if (a === f ? relative(argv[i + 1]) : a.startsWith(f) && relative(a.slice(f.length).replace(/^=/, ''))) return true;
      }
    }
  }
  return false;
}

/**
 * The dependency-manifest key of a planned compile whose source bytes hash to `sourceSha256` (see the module
 * comment). Exported for tests; {@link compileCached} computes it.
 */
export function manifestKeyOf(planned: PlannedCompile, sourceSha256: string): string {
  const source = sourceOfPlan(planned.plan);
  const norm = (argv: readonly string[]): string[] => argv.map((a) => (a === planned.tmpOutput ? '<output>' : path.resolve(a) === source && !a.startsWith('-') ? '<source>' : a));
  const plan = planned.plan;
  const argvs = plan.mode === 'kernel' ? [plan.clang, plan.opt, plan.llc] : [plan.clang];
  const { arch, release } = planned.target;
  const material: JsonValue = [
    'bpf-compile object manifest',
    OBJECT_CACHE_FORMAT,
    planned.mode,
    plan.mode,
    argvs.map(norm),
    { machine: arch.machine, triple: arch.triple, bpfTarget: arch.bpfTarget, targetArch: arch.targetArch, release },
    [toolIdentity(planned.toolchain.clang), toolIdentity(planned.toolchain.opt), toolIdentity(planned.toolchain.llc)],
    { path: source, sha256: sourceSha256 },
    CLANG_ENV.map((k) => process.env[k] ?? null),
    colourDiagnostics(),
    needsCwd(argvs) ? process.cwd() : null,
  ];
  return sha256(JSON.stringify(material));
}

function resultKeyOf(manifestKey: string, deps: readonly (readonly [string, string])[]): string {
  return sha256(JSON.stringify(['bpf-compile object result', OBJECT_CACHE_FORMAT, manifestKey, deps]));
}

interface StatRecord {
  readonly tuple: string;
  readonly sha256: string;
}

/** The per-manifest stat index: path → (stat tuple → sha256). Loaded once, saved when changed (best effort). */
class StatIndex {
  private readonly records = new Map<string, StatRecord>();
  private dirty = false;
  private readonly file: string;

  constructor(
    private readonly cache: Cache,
    manifestKey: string,
  ) {
    this.file = path.join(cache.root, INDEX_DIR, `objects-${manifestKey}.json`);
    const files = readRecord(cache, this.file, (v) => field<Record<string, Partial<StatRecord>>>(v, 'files', 'object')) ?? {};
    for (const [p, r] of Object.entries(files)) {
      if (typeof r.tuple === 'string' && typeof r.sha256 === 'string' && /^[0-9a-f]{64}$/.test(r.sha256)) this.records.set(p, { tuple: r.tuple, sha256: r.sha256 });
    }
  }

  /** sha256 of `p`'s current bytes (from the index when its stat tuple is unchanged); undefined when unreadable. */
  digest(p: string): string | undefined {
    let before: fs.BigIntStats;
    try {
      before = fs.statSync(p, { bigint: true });
    } catch {
      return undefined;
    }
    const tuple = statTuple(before);
    const rec = this.records.get(p);
    if (rec !== undefined && rec.tuple === tuple) return rec.sha256;
    let digest: string;
    try {
      digest = hashFile(p);
    } catch {
      return undefined;
    }
    const racy = before.mtimeNs >= BigInt(Date.now() - RACY_WINDOW_MS) * 1_000_000n;
    let after: string | undefined;
    try {
      after = statTuple(fs.statSync(p, { bigint: true }));
    } catch {
      after = undefined;
    }
    if (after !== tuple) return undefined; // changed while hashing: treat as unreadable (a miss, never a wrong hit)
    if (!racy) {
      this.records.set(p, { tuple, sha256: digest });
      this.dirty = true;
    } else if (rec !== undefined) {
      this.records.delete(p);
      this.dirty = true;
    }
    return digest;
  }

  save(): void {
    if (!this.dirty) return;
    // a read-only cache keeps no index: it is an optimisation
    if (writeRecord(this.cache, this.file, { format: OBJECT_CACHE_FORMAT, files: Object.fromEntries(this.records) })) this.dirty = false;
  }
}

function statTuple(st: fs.BigIntStats): string {
  return statIdentity(st, { ctime: true });
}

/** The recorded dependency list of a manifest entry, or undefined (missing, incomplete, malformed). */
function readDeps(cache: Cache, manifestKey: string): string[] | undefined {
  const m = readCompleteManifest(path.join(cache.root, OBJECT_DEPS_NAMESPACE, manifestKey), OBJECT_DEPS_NAMESPACE, manifestKey, cache.uid);
  const deps = m?.extra?.['deps'];
  if (!Array.isArray(deps) || !deps.every((d): d is string => typeof d === 'string' && path.isAbsolute(d))) return undefined;
  return deps;
}

/** `[path, sha256]` of every dependency, or undefined when one is unreadable. */
function digests(index: StatIndex, deps: readonly string[]): Array<[string, string]> | undefined {
  const out: Array<[string, string]> = [];
  for (const d of deps) {
    const h = index.digest(d);
    if (h === undefined) return undefined;
    out.push([d, h]);
  }
  return out;
}

interface Hit {
  readonly object: Buffer;
  readonly diagnostics: string;
}

/** Read and verify a result entry; a corrupt one is deleted (so it can be rebuilt) and reported as a miss. */
function readResult(cache: Cache, key: string): Hit | undefined {
  const nsDir = path.join(cache.root, OBJECTS_NAMESPACE);
  const entryPath = path.join(nsDir, key);
  const m: Manifest | undefined = readCompleteManifest(entryPath, OBJECTS_NAMESPACE, key, cache.uid);
  if (m === undefined) return undefined;
  try {
    const dir = path.join(entryPath, DATA_DIR);
    const object = fs.readFileSync(path.join(dir, OBJECT_FILE));
    const diagnostics = fs.readFileSync(path.join(dir, DIAGNOSTICS_FILE), 'utf8');
    if (m.sha256 === sha256(object)) return { object, diagnostics };
  } catch {
    // missing file: corrupt
  }
  try {
    trashDir(nsDir, key, entryPath);
  } catch {
    // best effort
  }
  return undefined;
}

/** Write `bytes` (an object file: kilobytes) to `output` atomically (temp sibling + rename), mode 0644. */
function writeAtomic(output: string, bytes: Uint8Array): void {
  makeDirs(path.dirname(output));
  writeFileAtomicSync(output, bytes);
}

function sameList(a: readonly string[] | undefined, b: readonly string[]): boolean {
  return a !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Is any file's mtime at or after `sinceNs` (it may have changed during the compile)? */
function changedSince(files: readonly string[], sinceNs: bigint): boolean {
  for (const f of files) {
    try {
      if (fs.statSync(f, { bigint: true }).mtimeNs >= sinceNs) return true;
    } catch {
      return true;
    }
  }
  return false;
}

/**
 * Compile `planned` through the object cache: on a hit, copy the cached object to `planned.output` (atomically,
 * mode 0644) and return the stored diagnostics; on a miss, call `run(planned, ['-MD', '-MF', <tmp depfile>])`
 * (use {@link runPlanWithArgs} for the real toolchain), then store the object, its diagnostics and the dependency
 * list. See the module comment for the keys and the stat-index trade-off.
 *
 * A failing `run` throws through and stores nothing. A corrupt or missing entry means a compile. Failing to store
 * (a full disk, a lock timeout) does not fail the compile; an unsafe cache (`CACHE_UNSAFE`) does.
 */
export async function compileCached(planned: PlannedCompile, run: CachedRun, opts: CompileCachedOptions = {}): Promise<CompileCachedResult> {
  const cache = toCache(opts.cache);
  const source = sourceOfPlan(planned.plan);
  const sourceSha = sha256(fs.readFileSync(source));
  const manifestKey = manifestKeyOf(planned, sourceSha);
  const index = new StatIndex(cache, manifestKey);

  const recorded = readDeps(cache, manifestKey);
  if (recorded !== undefined) {
    const ds = digests(index, recorded);
    if (ds !== undefined) {
      const key = resultKeyOf(manifestKey, ds);
      const hit = readResult(cache, key);
      if (hit !== undefined) {
        writeAtomic(planned.output, hit.object);
        index.save();
        return { diagnostics: hit.diagnostics, fromCache: true, key };
      }
    }
  }

  makeDirs(path.dirname(planned.output));
  const tmpDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'bpfc-deps-'));
  try {
    const depfile = path.join(tmpDir, 'deps.d');
    const startNs = BigInt(Date.now()) * 1_000_000n - START_SLACK_NS;
    const { diagnostics } = await run(planned, ['-MD', '-MF', depfile]);
    const object = await fsp.readFile(planned.output);
    let deps: string[];
    try {
      deps = depfilePrerequisites(await fsp.readFile(depfile, 'utf8'))
        .map((d) => path.resolve(d))
        .filter((d) => d !== source);
    } catch {
      return { diagnostics, fromCache: false, key: '' }; // no depfile (a `run` that ignored the args): cannot key it
    }
    const ds = digests(index, deps);
    const sourceNow = await fsp.readFile(source).then(sha256, () => undefined);
    if (ds === undefined || sourceNow !== sourceSha || changedSince([source, ...deps], startNs)) {
      index.save();
      return { diagnostics, fromCache: false, key: ds === undefined ? '' : resultKeyOf(manifestKey, ds) };
    }
    const key = resultKeyOf(manifestKey, ds);
    try {
      await store(cache, manifestKey, key, source, object, diagnostics, deps, recorded);
    } catch (err) {
      if (isBpfCompileError(err, ErrorCode.CACHE_UNSAFE)) throw err;
      // storing is best effort: the object is already in place
    }
    index.save();
    return { diagnostics, fromCache: false, key };
  } finally {
    await fsp.rm(tmpDir, { recursive: true, force: true });
  }
}

async function store(
  cache: Cache,
  manifestKey: string,
  key: string,
  source: string,
  object: Buffer,
  diagnostics: string,
  deps: readonly string[],
  recorded: readonly string[] | undefined,
): Promise<void> {
  const objectSha = sha256(object);
  // a corrupt entry under this key would be returned as complete by ensureEntry: drop it first
  if (readCompleteManifest(path.join(cache.root, OBJECTS_NAMESPACE, key), OBJECTS_NAMESPACE, key, cache.uid) !== undefined) readResult(cache, key);
  await ensureEntry(cache, {
    namespace: OBJECTS_NAMESPACE,
    key,
    build: async (dataDir) => {
      await fsp.writeFile(path.join(dataDir, OBJECT_FILE), object, { mode: 0o644 });
      await fsp.writeFile(path.join(dataDir, DIAGNOSTICS_FILE), diagnostics, { mode: 0o644 });
      return {
        source,
        sha256: objectSha,
        files: 2,
        bytes: object.length + Buffer.byteLength(diagnostics),
        extra: { manifestKey, dependencies: deps.length },
      };
    },
  });
  if (sameList(recorded, deps)) return;
  // the dependency list changed (or is new): replace the manifest entry, result first so a reader never finds a list
  // whose result is missing
  const nsDir = path.join(cache.root, OBJECT_DEPS_NAMESPACE);
  if (recorded !== undefined || fs.existsSync(path.join(nsDir, manifestKey))) trashDir(nsDir, manifestKey, path.join(nsDir, manifestKey));
  await ensureEntry(cache, {
    namespace: OBJECT_DEPS_NAMESPACE,
    key: manifestKey,
    build: async () => ({ source, files: 0, bytes: 0, extra: { deps: [...deps] } }),
  });
}
