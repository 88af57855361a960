/**
 * CLI glue of `bpf-compile pack`: publish kernel headers (kheaders-layout `.tar.xz`) or BTF for a mirror directory,
 * with `.sha256` sidecars and an updated `index.json`. The logic is in `lib/pack/`.
 */
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { hostArch, lookupArch } from '../../arch.js';
import { BpfCompileError, ErrorCode } from '../../errors.js';
import type { MirrorIndexEntry } from '../../mirror/index-format.js';
import { progressStream, type CliContext } from '../context.js';
import { addTargetOptions, resolveOptionsOf, type TargetFlags } from '../target-options.js';
import { progressBar } from '../progress.js';
import { makeDirs } from '../../system/dirs.js';

/** The flags `pack` takes (the shared target options, among them `--btf FILE`, plus its own). */
interface PackFlags extends TargetFlags {
  outDir: string;
  fromModules?: boolean;
  source?: string;
  build?: string;
  running?: boolean;
  runningBtf?: boolean;
  btfFormat: 'raw' | 'tar.xz';
  json?: boolean;
}

/** What was packed, as printed by `--json`. */
interface PackSummary {
  readonly file: string;
  readonly sha256: string;
  readonly size: number;
  readonly release: string;
  readonly arch: string;
}

type Mode = 'from-modules' | 'source' | 'running' | 'btf' | 'running-btf';

/** The one mode the flags select. @throws BpfCompileError `USAGE` for none or several. */
export function packModeOf(f: Pick<PackFlags, 'fromModules' | 'source' | 'build' | 'running' | 'btf' | 'runningBtf'>): Mode {
  const modes: Mode[] = [];
  if (f.fromModules === true) modes.push('from-modules');
  if (f.source !== undefined || f.build !== undefined) modes.push('source');
  if (f.running === true) modes.push('running');
  if (f.btf !== undefined) modes.push('btf');
  if (f.runningBtf === true) modes.push('running-btf');
  const hint = 'use exactly one of --from-modules, --source DIR [--build DIR], --running, --btf FILE, --running-btf';
  if (modes.length !== 1) {
    throw new BpfCompileError(ErrorCode.USAGE, modes.length === 0 ? 'pack needs something to pack' : `pack modes are exclusive: ${modes.map((m) => `--${m}`).join(', ')}`, {
      hint,
    });
  }
  if (modes[0] === 'source' && f.source === undefined) throw new BpfCompileError(ErrorCode.USAGE, '--build needs --source', { hint });
  return modes[0] as Mode;
}

/** Release a BTF file is for: `--kernel-release`, else its name (`<release>.btf[.tar.xz]`). */
function btfReleaseOf(f: PackFlags, file: string): string {
  if (f.kernelRelease !== undefined) return f.kernelRelease;
  const m = /^(.+)\.btf$/.exec(path.basename(file));
  if (m?.[1] !== undefined) return m[1];
  throw new BpfCompileError(ErrorCode.USAGE, `cannot tell which kernel release ${file} is for`, { hint: 'pass --kernel-release R' });
}

/** Register `bpf-compile pack`. */
export function register(program: Command, ctx: CliContext): void {
  const io = ctx.io;
  addTargetOptions(
    program
      .command('pack')
      .description('pack kernel headers (kheaders .tar.xz) or BTF into a mirror directory, with .sha256 files and index.json')
      .requiredOption('-o, --out-dir <dir>', 'the mirror directory (created if missing)')
      .option('--from-modules', 'pack the headers of /lib/modules/<release>/{build,source} (release: --kernel-release, default the running kernel)')
      .option('--source <dir>', 'pack this kernel source tree')
      .option('--build <dir>', 'with --source: the build tree holding include/generated (default: the source tree)')
      .option('--running', 'pack the headers found for the running kernel, whatever their source')
      .option('--running-btf', "pack the running kernel's BTF (/sys/kernel/btf/vmlinux); --btf FILE packs a BTF file")
      .addOption(new Option('--btf-format <format>', 'how BTF is stored: raw <release>.btf, or btfhub-style <release>.btf.tar.xz').choices(['raw', 'tar.xz']).default('tar.xz'))
      .option('--json', 'print {file, sha256, size, release, arch} as JSON')
      .addHelpText(
        'after',
        '\nExamples:\n  bpf-compile pack --from-modules -o mirror/\n  bpf-compile pack --source linux/ --build linux/out -o mirror/\n  bpf-compile pack --running-btf -o mirror/',
      ),
  ).action(async (flags: PackFlags) => {
    const mode = packModeOf(flags);
    const quiet = ctx.quiet();
    let bar: ReturnType<typeof progressBar> | undefined;
    const onProgress = (p: { what: string; done: number; total: number | undefined }): void => {
      bar ??= progressBar(p.what, progressStream(io), quiet);
      bar.update({ done: p.done, total: p.total });
    };
    const outDir = path.resolve(flags.outDir);
    try {
      makeDirs(outDir);
    } catch (err) {
      throw new BpfCompileError(ErrorCode.OUTPUT_UNWRITABLE, `cannot create ${flags.outDir}: ${err instanceof Error ? err.message : String(err)}`, {
        cause: err,
        details: { path: outDir },
      });
    }
    let summary: PackSummary;
    let kind: MirrorIndexEntry['kind'];
    try {
      if (mode === 'btf' || mode === 'running-btf') {
        const { packBtf } = await import('../../pack/btf.js');
        const btfFile = mode === 'btf' ? (flags.btf as string) : path.join(flags.root ?? '/', 'sys/kernel/btf/vmlinux');
        const release = mode === 'btf' ? btfReleaseOf(flags, btfFile) : os.release();
        const arch = (flags.arch === undefined ? hostArch() : lookupArch(flags.arch)).srcarch;
        const r = await packBtf({ btfFile, release, outFile: path.join(outDir, flags.btfFormat === 'raw' ? `${release}.btf` : `${release}.btf.tar.xz`) });
        summary = { file: r.file, sha256: r.sha256, size: r.size, release, arch };
        kind = 'btf';
      } else {
        let sourceDir: string;
        let buildDir: string;
        let arch: string;
        if (mode === 'source') {
          sourceDir = path.resolve(flags.source as string);
          buildDir = path.resolve(flags.build ?? sourceDir);
          arch = (flags.arch === undefined ? hostArch() : lookupArch(flags.arch)).srcarch;
        } else {
          if (mode === 'running' && flags.kernelRelease !== undefined) {
            throw new BpfCompileError(ErrorCode.USAGE, "--running packs the running kernel's headers; drop --kernel-release", {
              hint: 'for another release use --from-modules --kernel-release R',
            });
          }
          const { resolveHeaders } = await import('../../resolve.js');
          const tree = await resolveHeaders({ ...resolveOptionsOf(flags, onProgress), kind: 'kernel-tree', ...(mode === 'from-modules' ? { sources: ['modules'] } : {}) });
          bar?.finish();
          bar = undefined;
          if (!quiet) for (const w of tree.warnings) io.stderr(`bpf-compile: warning: ${w}\n`);
          ({ sourceDir, buildDir } = tree);
          arch = tree.arch.srcarch;
        }
        const { packKheaders, readUtsRelease } = await import('../../pack/kheaders.js');
        const { defaultKheadersName } = await import('../../mirror/index-format.js');
        const release = await readUtsRelease(buildDir === sourceDir ? [buildDir] : [buildDir, sourceDir]);
        if (release === undefined) {
          throw new BpfCompileError(ErrorCode.HEADERS_NOT_FOUND, `no UTS_RELEASE in include/generated/utsrelease.h of ${buildDir}`, { hint: 'pass the build tree with --build' });
        }
        const r = await packKheaders({ sourceDir, buildDir, srcarch: arch, outFile: path.join(outDir, defaultKheadersName(release, arch)), onProgress });
        if (!quiet && r.skipped.length > 0)
          io.stderr(`bpf-compile: warning: left out ${r.skipped.length} unreadable headers (dangling symlinks): ${r.skipped.slice(0, 5).join(', ')}\n`);
        summary = { file: r.file, sha256: r.sha256, size: r.size, release: r.release, arch };
        kind = 'kheaders';
      }
    } finally {
      bar?.finish();
    }
    const { updateMirrorIndex } = await import('../../pack/index-file.js');
    await updateMirrorIndex(outDir, { kind, release: summary.release, arch: summary.arch, file: path.basename(summary.file), sha256: summary.sha256, size: summary.size });
    if (flags.json === true) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    else io.stdout(`${summary.file}  ${summary.size} bytes  sha256 ${summary.sha256}\n${path.join(outDir, 'index.json')} updated\n`);
  });
}
