/**
 * V8 code cache for the bundled CLI. Node 20 has no `module.enableCompileCache()` (22.1+), so every run compiled the
 * bundle's JavaScript again: ~10 ms of a warm `headers` and more of an object-cache hit (docs/performance.md). The
 * executable installs this loader for the bundle's own files (`dist/bin/*.cjs`, `dist/bin/chunks/*.cjs`): each is
 * compiled with the bytecode V8 produced for it in an earlier run, and a file run without usable bytecode has it
 * written when the process exits — after the run, so it includes the functions the run compiled lazily.
 *
 * Where: `.v8-cache/` beside the bundle, as Python keeps `__pycache__` beside its sources. Whoever can write there can
 * write the bundle itself, so the bytecode has exactly the trust of the code it was made from — unlike the headers
 * cache, whose location `--cache-dir` and `$BPF_COMPILE_CACHE_DIR` choose after the code is loaded. The directory is
 * used only if it is a real directory (not a link), owned by the current user or root and writable by nobody else; it
 * is created only in a bundle directory the current user owns (root running a user's checkout leaves nothing there).
 * Each file's bytecode is named by the file's name, size and modification time and by the command that ran (each
 * command runs other functions of the same files, and bytecode written after a run has the ones that run compiled);
 * V8 itself rejects bytecode of another V8 version, other flags or another source length; rejected bytecode is
 * replaced. Everything here is best-effort: a read-only install, a full disk or an unsafe directory means compiling
 * from source, as before, silently. `BPF_COMPILE_CODE_CACHE=0` switches it off.
 */
// named imports: the launcher is bundled to CommonJS, where a default import of a built-in copies all its exports
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { Module } from 'node:module';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { Script } from 'node:vm';

/** What {@link installCodeCache} needs; the defaults are the current process. */
export interface CodeCacheOptions {
  /** The bundle's directory: files under it (any depth) ending in `.cjs` are loaded through the cache. */
  readonly dir: string;
  /** Where the bytecode goes. Default `<dir>/.v8-cache`. */
  readonly cacheDir?: string;
  /** Which bytecode of a file to use: one per command, see {@link commandVariant}. Default `any`. */
  readonly variant?: string;
  /** The current user id. Default `process.getuid()`. */
  readonly uid?: number;
  /** Environment read for `BPF_COMPILE_CODE_CACHE`. Default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** What one process did with the cache (the tests read it). */
export interface CodeCacheStats {
  /** Files compiled with bytecode V8 accepted. */
  readonly hits: string[];
  /** Files compiled from source (no bytecode, or bytecode V8 rejected). */
  readonly misses: string[];
  /** Bytecode files written when the process exited. */
  readonly written: string[];
}

/** The installed loader. */
export interface CodeCache {
  /** The bytecode directory. */
  readonly cacheDir: string;
  readonly stats: CodeCacheStats;
  /** Write the bytecode of files that had none (run on process exit unless called before; then only once). */
  flush(): void;
}

type CompileFn = (module: NodeModuleLike, filename: string) => void;
interface NodeModuleLike {
  exports: unknown;
}
/** The parts of node's CommonJS loader used here (`Module._extensions` is the documented-deprecated hook). */
interface ModuleInternals {
  _extensions: Record<string, CompileFn | undefined>;
}

/** A command name usable as a variant (and in a file name). */
const VARIANT = /^[a-z][a-z-]{0,31}$/;

/** `BPF_COMPILE_CODE_CACHE` values that switch the cache off. */
const OFF = new Set(['0', 'off', 'false', 'no']);

/** Whether `p` is a directory the current user may trust bytecode from (see the module comment). */
export function trustedCacheDir(p: string, uid: number): boolean {
  let st: Stats;
  try {
    st = lstatSync(p);
  } catch {
    return false;
  }
  return st.isDirectory() && (st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0;
}

/**
 * The variant of the bytecode for a command line: the command (`compile`, `headers`, …) when the first argument is a
 * word, else `any` (`--version`, `--help`, options first).
 */
export function commandVariant(argv: readonly string[]): string {
  const first = argv[2] ?? '';
  return VARIANT.test(first) ? first : 'any';
}

/** The start of the names of `filename`'s bytecode files of one variant; the size and modification time follow. */
function cachePrefix(filename: string, variant: string): string {
  return `${basename(filename)}.${variant}.`;
}

/** A bundle file's source and stat, from one open. */
function readSource(filename: string): { source: string; st: Stats } {
  const fd = openSync(filename, 'r');
  try {
    return { st: fstatSync(fd), source: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** The contents of `file`, not following a symbolic link; undefined if it cannot be read. */
function readNoFollow(file: string): Buffer | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
    return readFileSync(fd);
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Write `data` to `file` atomically (a private temporary file, then rename); false on any failure. Not
 * `system/atomic-file.ts`: that module imports `node:crypto` for its temp names, which the launcher would then load on
 * every start; here the directory is private (0700) and the pid is unique enough.
 */
function writeAtomic(file: string, data: Buffer): boolean {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { flag: 'wx', mode: 0o600 });
    renameSync(tmp, file);
    return true;
  } catch {
    rmSync(tmp, { force: true });
    return false;
  }
}

/**
 * Load the bundle's files under `options.dir` through the V8 code cache. Returns undefined (and changes nothing) when
 * it is switched off. Call it before the first `require` of a bundle file.
 */
export function installCodeCache(options: CodeCacheOptions): CodeCache | undefined {
  const env = options.env ?? process.env;
  if (OFF.has((env['BPF_COMPILE_CODE_CACHE'] ?? '').toLowerCase())) return undefined;
  const dir = resolve(options.dir);
  const cacheDir = options.cacheDir ?? join(dir, '.v8-cache');
  const uid = options.uid ?? process.getuid?.() ?? -1;
  const variant = options.variant !== undefined && VARIANT.test(options.variant) ? options.variant : 'any';
  const trusted = trustedCacheDir(cacheDir, uid);
  const stats = { hits: [] as string[], misses: [] as string[], written: [] as string[] };
  const pending: Array<{ script: Script; file: string; prefix: string }> = [];
  const loader = Module as unknown as ModuleInternals;
  const fallback = loader._extensions['.js'];
  if (fallback === undefined) return undefined;

  // The bundle's own files require each other by relative path ('./chunk-….cjs', '../cli.cjs'). Those are loaded
  // here without node's resolution (a stat of each candidate, a realpath, a look for package.json per file: ~1.5 ms of
  // a warm `headers` run), into node's own module cache, so a file is one module whoever loads it. Anything else —
  // built-ins, packages, a name that is not a file of the bundle — goes to node's `require` of that directory (one per
  // directory: the bundle has two).
  const moduleCache = Module.createRequire(join(dir, 'index.cjs')).cache;
  const requires = new Map<string, NodeJS.Require>();
  const requireFor = (d: string): ((id: string) => unknown) => {
    let nodeRequire = requires.get(d);
    if (nodeRequire === undefined) requires.set(d, (nodeRequire = Module.createRequire(join(d, 'index.cjs'))));
    const fallbackRequire = nodeRequire;
    return (id: string): unknown => {
      if (!id.startsWith('./') && !id.startsWith('../')) return fallbackRequire(id);
      const filename = join(d, id);
      const known = moduleCache[filename];
      if (known !== undefined) return known.exports;
      if (!filename.startsWith(dir + sep) || !filename.endsWith('.cjs')) return fallbackRequire(id);
      let file: { source: string; st: Stats };
      try {
        file = readSource(filename);
      } catch {
        return fallbackRequire(id); // not a readable file: node's require says why, in its own words
      }
      const m = new Module(filename);
      m.filename = filename;
      moduleCache[filename] = m;
      try {
        compile(m, filename, file);
      } catch (err) {
        // as node does: a module that failed to load is not cached
        delete moduleCache[filename];
        throw err;
      }
      m.loaded = true;
      return m.exports;
    };
  };

  const compile = (module: NodeModuleLike, filename: string, file = readSource(filename)): void => {
    const { source: text, st } = file;
    const source = text.startsWith('#!') ? `//${text.slice(2)}` : text; // same length, so line and column numbers stay
    const prefix = cachePrefix(filename, variant);
    const name = `${prefix}${st.size}.${Math.trunc(st.mtimeMs)}.v8`;
    const cachedData = trusted ? readNoFollow(join(cacheDir, name)) : undefined;
    // node's own CommonJS wrapper, on the first line so that positions in stack traces are the file's
    const wrapped = `(function (exports, require, module, __filename, __dirname) { ${source}\n});`;
    const script = new Script(wrapped, { filename, ...(cachedData !== undefined ? { cachedData } : {}) });
    if (cachedData !== undefined && !script.cachedDataRejected) stats.hits.push(filename);
    else {
      stats.misses.push(filename);
      pending.push({ script, file: join(cacheDir, name), prefix });
    }
    const fn = script.runInThisContext() as (...args: unknown[]) => void;
    fn.call(module.exports, module.exports, requireFor(dirname(filename)), module, filename, dirname(filename));
  };
  loader._extensions['.cjs'] = (module, filename) => (filename.startsWith(dir + sep) ? compile(module, filename) : fallback(module, filename));

  const flush = (): void => {
    process.removeListener('exit', flush);
    const todo = pending.splice(0);
    if (todo.length === 0 || !ensureCacheDir(cacheDir, uid)) return;
    let names: string[] = [];
    try {
      names = readdirSync(cacheDir);
    } catch {
      return;
    }
    for (const { script, file, prefix } of todo) {
      // this runs in the exit handler: nothing may throw out of it
      try {
        if (!writeAtomic(file, script.createCachedData())) continue;
        stats.written.push(file);
        // bytecode of earlier versions of the same file (another size or time) is of no use any more
        for (const n of names) if (n.startsWith(prefix) && n.endsWith('.v8') && n !== basename(file)) rmSync(join(cacheDir, n), { force: true });
      } catch {
        // best effort, like everything here
      }
    }
  };
  process.once('exit', flush);
  return { cacheDir, stats, flush };
}

/**
 * The bytecode directory, ours to write: created (0700) if missing and the directory it goes in (the bundle's) is the
 * current user's; false if unusable or another user's (root's, read by a user).
 */
function ensureCacheDir(cacheDir: string, uid: number): boolean {
  if (trustedCacheDir(cacheDir, uid)) return lstatSync(cacheDir).uid === uid;
  try {
    if (lstatSync(dirname(cacheDir)).uid !== uid) return false;
    mkdirSync(cacheDir, { mode: 0o700 });
  } catch {
    return false;
  }
  return trustedCacheDir(cacheDir, uid);
}
