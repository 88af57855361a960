/**
 * Builds a REAL `kheaders.ko` with kbuild, embedding a test archive of our choosing, so the module
 * reader is tested on what the kernel's toolchain actually produces (section layout, symbol table,
 * relocations, `.modinfo`, …).
 *
 * Recipe: take `kernel/kheaders.c` from Debian's `linux-source-6.1` (`/usr/src/linux-source-6.1.tar.xz`;
 * the one member is extracted once — ~9 s, it is a 139 MB xz — and cached in the private fixture dir),
 * point its `.incbin "kernel/kheaders_data.tar.xz"` at the test archive, and build it as an external
 * module against the installed headers: `make -C /lib/modules/<rel>/build M=<dir> modules`. Then
 * `xz -k` and `gzip -k` (and `zstd -k` when present) make the compressed variants.
 *
 * Needs: linux-source-6.1, linux-headers-<rel> (kbuild), make, gcc, tar, xz, gzip. Tests call
 * {@link kheadersModuleSkipReason} and skip with its reason when something is missing.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fixtureCacheDir } from './kheaders-fixture.js';

const run = promisify(execFile);

/** Debian's kernel source tarball (package `linux-source-6.1`). */
export const LINUX_SOURCE_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
/** The member holding the module's source. */
const KHEADERS_MEMBER = 'linux-source-6.1/kernel/kheaders.c';
/** The `.incbin` operand in kheaders.c that we redirect. */
const INCBIN_PATH = 'kernel/kheaders_data.tar.xz';

/** A built module and its compressed variants. */
export interface BuiltKheadersModule {
  /** The plain `kheaders.ko`. */
  readonly ko: string;
  /** `kheaders.ko.xz` (`xz -k`). */
  readonly koXz: string;
  /** `kheaders.ko.gz` (`gzip -k`). */
  readonly koGz: string;
  /** `kheaders.ko.zst` (`zstd -k`), when `zstd` is installed. */
  readonly koZst: string | undefined;
  /** The archive embedded in it. */
  readonly archive: string;
  /** The release of the kbuild tree it was built against. */
  readonly kbuildRelease: string;
}

function hasTool(tool: string, args: readonly string[] = ['--version']): boolean {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The first `/lib/modules/<rel>` with a usable kbuild tree (`build/Makefile`), or undefined. */
export function installedKbuildRelease(modulesDir = '/lib/modules'): string | undefined {
  let names: string[];
  try {
    names = fs.readdirSync(modulesDir).sort();
  } catch {
    return undefined;
  }
  return names.find((rel) => fs.existsSync(path.join(modulesDir, rel, 'build', 'Makefile')));
}

/** Why a real module cannot be built here, or undefined when it can. */
export function kheadersModuleSkipReason(): string | undefined {
  if (!fs.existsSync(LINUX_SOURCE_TARBALL)) return `${LINUX_SOURCE_TARBALL} is missing (apt-get install linux-source-6.1)`;
  if (installedKbuildRelease() === undefined) return 'no kbuild tree: no /lib/modules/<release>/build/Makefile (apt-get install linux-headers-<release>)';
  for (const tool of ['make', 'gcc', 'tar', 'xz', 'gzip']) {
    if (!hasTool(tool)) return `${tool} is not installed`;
  }
  return undefined;
}

/**
 * The path of a cached copy of 6.1's `kernel/kheaders.c`, extracted from the linux-source tarball on
 * first use (keyed by the tarball's size and mtime, so a package update re-extracts).
 */
export function kheadersSource(): string {
  const st = fs.statSync(LINUX_SOURCE_TARBALL);
  const cached = path.join(fixtureCacheDir(), `kheaders-6.1-${st.size}-${Math.trunc(st.mtimeMs)}.c`);
  if (fs.existsSync(cached)) return cached;
  const text = execFileSync('tar', ['-xJf', LINUX_SOURCE_TARBALL, '-O', KHEADERS_MEMBER], { maxBuffer: 1024 * 1024 });
  if (!text.includes(INCBIN_PATH)) throw new Error(`${KHEADERS_MEMBER} has no .incbin "${INCBIN_PATH}"`);
  const tmp = `${cached}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, cached);
  return cached;
}

/**
 * Build `kheaders.ko` embedding `archive` in `outDir` (created if needed), plus `.ko.xz`, `.ko.gz` and,
 * with `zstd` installed, `.ko.zst`. Check {@link kheadersModuleSkipReason} first.
 *
 * @param archive - Absolute path of the file to embed (any bytes; a real kheaders archive is an xz tar).
 */
export async function buildKheadersModule(archive: string, outDir: string): Promise<BuiltKheadersModule> {
  const kbuildRelease = installedKbuildRelease();
  if (kbuildRelease === undefined) throw new Error('no kbuild tree under /lib/modules');
  const abs = path.resolve(archive);
  if (/["\\\n]/.test(abs)) throw new Error(`cannot .incbin a path with quotes, backslashes or newlines: ${abs}`);
  fs.mkdirSync(outDir, { recursive: true });
  const source = fs.readFileSync(kheadersSource(), 'utf8');
  const parts = source.split(INCBIN_PATH);
  if (parts.length !== 2) throw new Error(`expected one "${INCBIN_PATH}" in kheaders.c, found ${parts.length - 1}`);
  fs.writeFileSync(path.join(outDir, 'kheaders.c'), parts.join(abs));
  fs.writeFileSync(path.join(outDir, 'Makefile'), 'obj-m := kheaders.o\n');
  try {
    await run('make', ['-C', `/lib/modules/${kbuildRelease}/build`, `M=${outDir}`, 'modules'], { timeout: 180_000, maxBuffer: 16 * 1024 * 1024 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`kbuild failed: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
  const ko = path.join(outDir, 'kheaders.ko');
  if (!fs.existsSync(ko)) throw new Error(`kbuild did not produce ${ko}`);
  await run('xz', ['-k', '-f', ko]);
  await run('gzip', ['-k', '-f', ko]);
  let koZst: string | undefined;
  if (hasTool('zstd')) {
    await run('zstd', ['-q', '-k', '-f', ko]);
    koZst = `${ko}.zst`;
  }
  return { ko, koXz: `${ko}.xz`, koGz: `${ko}.gz`, koZst, archive: abs, kbuildRelease };
}
